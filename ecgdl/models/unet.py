"""Page-level U-Net: a whole (resized) page (3, H, W) -> logits of its trace mask (1, H, W).

Small enough to train on CPU at reduced resolution (e.g. 256 x 320); any input size works (padded internally to
a multiple of ``2 ** depth`` and cropped back).
"""

from __future__ import annotations

import torch
from torch import nn

from ecgdl.models.networks import UNetBackbone, pad_to_multiple

__all__ = ["PageUNet"]


class PageUNet(nn.Module):
    """Full-resolution U-Net (stem stride 1, ``depth`` pooling levels, additive skips) with a 1x1 logit head."""

    def __init__(
        self, in_channels: int = 3, base_channels: int = 16, depth: int = 4, max_channels: int = 128
    ) -> None:
        super().__init__()
        self.backbone = UNetBackbone(in_channels, base_channels, depth, max_channels, stem_stride=1)
        self.head = nn.Conv2d(self.backbone.out_channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.head(self.backbone(pad_to_multiple(x, self.backbone.stride)))[..., :h, :w]
