"""Denoising encoder-decoder: a degraded lead crop (3, H, W) -> logits of the clean trace image (1, H, W).

The clean image is read like the classical tracer reads a binarised trace: :func:`trace_from_clean` takes, per
pixel column, the probability-weighted centroid of the rows, so the autoencoder is scored the same way as the
column networks (a trace row per column).
"""

from __future__ import annotations

import torch
from torch import nn

from ecgdl.models.networks import UNetBackbone, pad_to_multiple, row_weighted_sum

__all__ = ["TraceAutoencoder", "trace_from_clean"]


class TraceAutoencoder(nn.Module):
    """Crop (N, 3, H, W) -> clean-trace logits (N, 1, H, W); apply a sigmoid for the probability image.

    The encoder-decoder runs at 1/``stem_stride`` resolution (space-to-depth in, depth-to-space out, as in
    :class:`~ecgdl.models.networks.ColumnHeatmapNet`; 4 costs about a third of 2 on CPU). ``skips=False`` makes
    it a plain bottleneck autoencoder (no encoder-decoder skips), which cannot copy degradations straight
    through but blurs fine detail.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 16,
        depth: int = 4,
        max_channels: int = 128,
        skips: bool = True,
        stem_stride: int = 2,
    ) -> None:
        super().__init__()
        if stem_stride not in (2, 4):
            raise ValueError(f"stem_stride must be 2 or 4, got {stem_stride}")
        self.backbone = UNetBackbone(
            in_channels, base_channels, depth, max_channels, stem_stride=stem_stride, skips=skips
        )
        self.head = nn.Sequential(
            nn.Conv2d(self.backbone.out_channels, stem_stride**2, 3, padding=1), nn.PixelShuffle(stem_stride)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.head(self.backbone(pad_to_multiple(x, self.backbone.stride)))[..., :h, :w]


@torch.no_grad()
def trace_from_clean(prob: torch.Tensor, rel_threshold: float = 0.5, min_prob: float = 0.1) -> torch.Tensor:
    """Per-column weighted centroid of a clean-trace probability image: (N, 1, H, W) or (N, H, W) -> y (N, W).

    In each column, rows below ``rel_threshold`` times the column's peak probability are ignored (a faint
    halo or a stray blob far from the trace does not drag the centroid), and columns whose peak is below
    ``min_prob`` (no trace found) are NaN; :func:`ecgdl.models.decode.fill_nan_columns` fills them.
    """
    p = prob[:, 0] if prob.dim() == 4 else prob
    if p.dim() != 3:
        raise ValueError(f"prob must be (N, 1, H, W) or (N, H, W), got shape {tuple(prob.shape)}")
    p = p.float()
    peak = p.amax(dim=1, keepdim=True)
    w = torch.where(p >= rel_threshold * peak, p, torch.zeros_like(p))
    mass = w.sum(dim=1)
    y = row_weighted_sum(w) / mass.clamp_min(1e-12)
    return torch.where((peak[:, 0] >= min_prob) & (mass > 0), y, torch.full_like(y, float("nan")))
