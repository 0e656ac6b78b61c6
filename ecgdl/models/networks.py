"""Crop networks that read a trace row per pixel column, and the building blocks the other networks share.

:class:`ColumnHeatmapNet` is a small U-Net over a lead crop (3, H, W). Its ``heatmap`` head gives per-column
logits over the H rows, read out by a soft-argmax (what the competition winners did); its ``regression`` head
regresses the row directly from height-pooled features, for comparison. Any input size works: inputs are padded
internally to a multiple of the network's total stride and outputs are cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["HEADS", "ColumnHeatmapNet", "ConvBNAct", "UNetBackbone", "soft_argmax"]

HEADS = ("heatmap", "regression")


def row_weighted_sum(weights: torch.Tensor) -> torch.Tensor:
    """Sum over rows of weight x row index: (N, H, W) -> (N, W), row centres 0..H-1.

    Always in float32, also under mixed precision: autocast would run this sum (a matrix product) in bfloat16,
    whose 8-bit mantissa rounds a row near 300 by up to a pixel. The trace read-outs (:func:`soft_argmax`, the
    autoencoder's centroid) go through it."""
    with torch.autocast(device_type=weights.device.type, enabled=False):
        w = weights.float()
        rows = torch.arange(w.shape[1], device=w.device, dtype=w.dtype)
        return torch.einsum("nhw,h->nw", w, rows)


def soft_argmax(logits: torch.Tensor) -> torch.Tensor:
    """Expected row under the per-column softmax: logits (N, H, W) -> y (N, W) in pixel units (row centres 0..H-1),
    in float32 (see :func:`row_weighted_sum`)."""
    return row_weighted_sum(torch.softmax(logits.float(), dim=1))  # autocast keeps softmax in float32


def heatmap_off_peak(logits: torch.Tensor, y: torch.Tensor, half_width_px: float = 8.0) -> torch.Tensor:
    """Share of each column's height distribution lying farther than ``half_width_px`` rows from its read-out
    ``y``: logits (N, H, W), y (N, W) -> (N, W) in [0, 1], float32. Near 0 for one sharp peak; large where the
    column holds two strokes (the next lead's start, a label, a neighbouring row) or no clear one. (The plain
    standard deviation would be dominated by the softmax's thin floor over all H rows.)"""
    with torch.autocast(device_type=logits.device.type, enabled=False):
        p = torch.softmax(logits.float(), dim=1)
        rows = torch.arange(p.shape[1], device=p.device, dtype=p.dtype)[None, :, None]
        near = (rows - y.float()[:, None, :]).abs() <= half_width_px
        return (1.0 - (p * near).sum(dim=1)).clamp(0.0, 1.0)


class ConvBNAct(nn.Sequential):
    """3x3 convolution (no bias) + BatchNorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


def _channels(base_channels: int, depth: int, max_channels: int) -> list[int]:
    if base_channels < 1 or depth < 1 or max_channels < base_channels:
        raise ValueError(
            f"need base_channels >= 1, depth >= 1 and max_channels >= base_channels, got "
            f"{base_channels}, {depth}, {max_channels}"
        )
    return [min(base_channels * 2**i, max_channels) for i in range(depth + 1)]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad the bottom and right of (N, C, H, W) so that H and W are multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x


class UNetBackbone(nn.Module):
    """Encoder-decoder with additive (FPN-style) skips; returns features at the stem's resolution.

    The stem has stride ``stem_stride`` (1, or 2 or 4 by space-to-depth); then ``depth`` levels each halve both
    dimensions. The decoder
    upsamples, maps channels with a 1x1 convolution, adds the encoder's feature map of that level (unless
    ``skips`` is False) and refines with a 3x3 convolution. Inputs must be multiples of :attr:`stride`
    (callers pad with :func:`pad_to_multiple`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 16,
        depth: int = 4,
        max_channels: int = 128,
        stem_stride: int = 2,
        skips: bool = True,
    ) -> None:
        super().__init__()
        if stem_stride not in (1, 2, 4):
            raise ValueError(f"stem_stride must be 1, 2 or 4, got {stem_stride}")
        ch = _channels(base_channels, depth, max_channels)
        self.channels, self.skips = ch, bool(skips)
        self.stride = stem_stride * 2**depth
        # A strided stem is a lossless space-to-depth (PixelUnshuffle), so no sub-pixel detail is thrown away.
        self.stem = nn.Sequential(
            nn.PixelUnshuffle(stem_stride),
            ConvBNAct(in_channels * stem_stride**2, ch[0]),
            ConvBNAct(ch[0], ch[0]),
        )
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), ConvBNAct(ch[i], ch[i + 1]), ConvBNAct(ch[i + 1], ch[i + 1]))
            for i in range(depth)
        )
        self.lateral = nn.ModuleList(nn.Conv2d(ch[i + 1], ch[i], 1) for i in range(depth))
        self.up = nn.ModuleList(ConvBNAct(ch[i], ch[i]) for i in range(depth))

    @property
    def out_channels(self) -> int:
        return self.channels[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.stem(x)]
        for block in self.down:
            feats.append(block(feats[-1]))
        y = feats[-1]
        for i in reversed(range(len(self.down))):
            y = F.interpolate(
                self.lateral[i](y), size=feats[i].shape[-2:], mode="bilinear", align_corners=False
            )
            if self.skips:
                y = y + feats[i]
            y = self.up[i](y)
        return y


def _row_coords(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) channel holding each pixel's row, scaled to [-1, 1] (CoordConv), so features know height."""
    n, _, h, w = x.shape
    rows = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)
    return rows.view(1, 1, h, 1).expand(n, 1, h, w)


class ColumnHeatmapNet(nn.Module):
    """Lead crop (N, 3, H, W) -> trace row per column.

    ``forward`` returns a dict: ``y`` (N, W) row in crop pixels (always) and, for ``head='heatmap'``, ``logits``
    (N, H, W), the per-column scores over rows whose soft-argmax is ``y``. Everything runs at 1/``stem_stride``
    resolution: the input (plus a row-coordinate channel) enters by space-to-depth and the heatmap leaves by
    depth-to-space (PixelShuffle), so rows and columns keep full pixel resolution without full-resolution feature
    maps (which would dominate CPU time); doubling the crop resolution with ``stem_stride=4`` costs little more
    than ``stem_stride=2`` at the lower resolution. The regression head pools the features into ``pool_rows``
    height bins and regresses ``stem_stride`` columns per feature column with 1-D convolutions along the width.

    Args:
        in_channels: image channels.
        base_channels: width of the first level (doubles per level up to ``max_channels``).
        depth: encoder levels after the stem (total stride ``2 ** (depth + 1)``).
        head: ``'heatmap'`` or ``'regression'``.
        pool_rows: height bins of the regression head.
        stem_stride: 2 or 4, the space-to-depth factor of the stem (and depth-to-space factor of the head).
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 16,
        depth: int = 4,
        max_channels: int = 128,
        head: str = "heatmap",
        pool_rows: int = 8,
        stem_stride: int = 2,
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; valid: {', '.join(HEADS)}")
        if stem_stride not in (2, 4):
            raise ValueError(f"stem_stride must be 2 or 4, got {stem_stride}")
        self.head = head
        self.stem_stride = stem_stride
        self.backbone = UNetBackbone(
            in_channels + 1, base_channels, depth, max_channels, stem_stride=stem_stride
        )
        c0 = self.backbone.out_channels
        if head == "heatmap":
            self.out = nn.Sequential(
                nn.Conv2d(c0, stem_stride**2, 3, padding=1), nn.PixelShuffle(stem_stride)
            )
        else:
            self.pool = nn.AdaptiveAvgPool2d((pool_rows, None))
            self.out = nn.Sequential(
                nn.Conv1d(c0 * pool_rows, 64, 5, padding=2),
                nn.ReLU(inplace=True),
                nn.Conv1d(64, stem_stride, 1),
            )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h, w = x.shape[-2:]
        padded = pad_to_multiple(torch.cat([x, _row_coords(x)], dim=1), self.backbone.stride)
        f = self.backbone(padded)
        if self.head == "heatmap":
            logits = self.out(f)[:, 0, :h, :w]
            return {"y": soft_argmax(logits), "logits": logits}
        pooled = self.pool(f).flatten(1, 2)  # (N, C * pool_rows, W_padded / stem_stride)
        # (N, stem_stride, W_padded / stem_stride): the columns of each feature column, in float32 as soft_argmax
        with torch.autocast(device_type=x.device.type, enabled=False):
            out = self.out(pooled.float())
        out = out.transpose(1, 2).reshape(out.shape[0], -1)[:, :w]
        return {"y": (h - 1) * (0.5 + out)}
