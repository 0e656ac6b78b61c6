"""Overlays and plots: a predicted trace drawn back onto the page, and a 12-panel truth-vs-prediction figure.

Drawing uses OpenCV (anti-aliased polylines, sub-pixel coordinates); figures use matplotlib's object API with
the Agg canvas (no pyplot state, never ``show``), so both work headless and in worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ecgdl.constants import LEAD_INDEX, LEADS
from ecgdl.signals.record import EcgRecord

__all__ = ["TraceSegment", "draw_traces_on_page", "overlay_prediction", "plot_leads"]

_SUBPIXEL_BITS = 4  # cv2 fixed-point coordinates: 1/16 px

#: page points (x, y arrays) -> image points: where the segments' frame is not the image's own
PointMap = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class TraceSegment:
    """Where samples ``[start_sample, end_sample)`` of ``lead`` sit on the page.

    Sample ``k`` is drawn at ``x = x0_px + (k - start_sample) / fs_hz * px_per_s`` and
    ``y = baseline_y_px - polarity * value_mv * px_per_mv`` (image rows grow downwards; ``polarity`` -1 for a lead
    printed upside down, Cabrera's -aVR).
    """

    lead: str
    start_sample: int
    end_sample: int
    x0_px: float
    baseline_y_px: float
    px_per_s: float
    px_per_mv: float
    polarity: float = 1.0

    def __post_init__(self) -> None:
        if self.lead not in LEAD_INDEX:
            raise ValueError(f"TraceSegment: unknown lead {self.lead!r}; expected one of {list(LEADS)}")
        if not 0 <= self.start_sample < self.end_sample:
            raise ValueError(
                f"TraceSegment {self.lead}: need 0 <= start_sample < end_sample, got {self.start_sample}, "
                f"{self.end_sample}"
            )
        if self.px_per_s <= 0 or self.px_per_mv <= 0:
            raise ValueError(f"TraceSegment {self.lead}: px_per_s and px_per_mv must be positive")


def _as_rgb_uint8(image_rgb: np.ndarray) -> np.ndarray:
    image = np.asarray(image_rgb)
    if image.dtype != np.uint8:
        raise ValueError(f"image_rgb must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image_rgb must be (H, W, 3) or (H, W), got {image.shape}")
    return np.ascontiguousarray(image).copy()


def _segment_polylines(
    signal_mv: np.ndarray, fs_hz: float, seg: TraceSegment, to_image: PointMap | None = None
) -> list[np.ndarray]:
    """Fixed-point (N, 1, 2) int32 point arrays, one per run of finite samples inside the segment."""
    column = signal_mv[:, LEAD_INDEX[seg.lead]]
    end = min(seg.end_sample, column.shape[0])
    if end <= seg.start_sample:
        return []
    k = np.arange(seg.start_sample, end)
    values = column[seg.start_sample : end]
    x = seg.x0_px + (k - seg.start_sample) / float(fs_hz) * seg.px_per_s
    y = seg.baseline_y_px - seg.polarity * values * seg.px_per_mv
    finite = np.isfinite(y)
    if to_image is not None:
        x, y = (np.asarray(v, np.float64) for v in to_image(x, np.where(finite, y, seg.baseline_y_px)))
    scale = float(1 << _SUBPIXEL_BITS)
    lines = []
    # Split at NaN gaps so absent samples are not bridged.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a < 2:
            continue
        pts = np.stack([x[a:b], y[a:b]], axis=1) * scale
        pts = np.clip(np.round(pts), -(2**26), 2**26).astype(np.int32)
        lines.append(pts.reshape(-1, 1, 2))
    return lines


def draw_traces_on_page(
    image_rgb: np.ndarray,
    segments: Sequence[TraceSegment],
    record: EcgRecord,
    *,
    colour: tuple[int, int, int] = (0, 160, 255),
    thickness: int = 2,
    to_image: PointMap | None = None,
) -> np.ndarray:
    """Draw ``record``'s samples for each segment onto a copy of the page; returns (H, W, 3) RGB uint8.

    ``colour`` is RGB. NaN samples break the line. Points outside the image are clipped by OpenCV.
    ``to_image`` maps the segments' page points into the image (a rectified page's segments onto the photo).
    """
    if not isinstance(record, EcgRecord):
        raise ValueError(f"record must be an EcgRecord, got {type(record).__name__}")
    if thickness < 1:
        raise ValueError(f"thickness must be >= 1, got {thickness}")
    canvas = _as_rgb_uint8(image_rgb)
    colour_tuple = tuple(int(c) for c in colour)
    if len(colour_tuple) != 3 or not all(0 <= c <= 255 for c in colour_tuple):
        raise ValueError(f"colour must be three 0-255 integers (RGB), got {colour}")
    for seg in segments:
        lines = _segment_polylines(record.signal_mv, record.fs_hz, seg, to_image)
        if lines:
            cv2.polylines(
                canvas,
                lines,
                isClosed=False,
                color=colour_tuple,
                thickness=int(thickness),
                lineType=cv2.LINE_AA,
                shift=_SUBPIXEL_BITS,
            )
    return canvas


def overlay_prediction(
    image_rgb: np.ndarray,
    record: EcgRecord,
    segments: Sequence[TraceSegment],
    *,
    colour: tuple[int, int, int] = (0, 160, 255),
    thickness: int = 2,
    to_image: PointMap | None = None,
) -> np.ndarray:
    """The predicted record drawn back at its page positions in a contrasting colour (RGB uint8, same shape);
    ``to_image`` as in :func:`draw_traces_on_page`."""
    return draw_traces_on_page(
        image_rgb, segments, record, colour=colour, thickness=thickness, to_image=to_image
    )


def plot_leads(
    truth: EcgRecord,
    pred: EcgRecord,
    per_lead_db: Mapping[str, float] | None,
    path: str | Path,
    *,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """Save a 12-panel PNG (6 rows x 2 columns, ``LEADS`` order) of truth (black) vs prediction (orange).

    Each panel's title carries the lead's SNR in dB when ``per_lead_db`` has it. Returns the written path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(truth, EcgRecord) or not isinstance(pred, EcgRecord):
        raise ValueError("plot_leads needs EcgRecord truth and pred")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(14, 12), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(6, 2, sharex=True)
    fig.subplots_adjust(
        left=0.05, right=0.98, bottom=0.05, top=0.94 if title else 0.97, hspace=0.45, wspace=0.12
    )
    t_truth = np.arange(truth.n_samples) / truth.fs_hz
    t_pred = np.arange(pred.n_samples) / pred.fs_hz
    for k, lead in enumerate(LEADS):
        ax = axes[k % 6, k // 6]
        ax.plot(t_truth, truth.signal_mv[:, k], color="black", linewidth=0.8, label="truth")
        ax.plot(
            t_pred, pred.signal_mv[:, k], color="tab:orange", linewidth=0.8, alpha=0.85, label="prediction"
        )
        label = lead
        if per_lead_db is not None and lead in per_lead_db and np.isfinite(per_lead_db[lead]):
            label = f"{lead}  {per_lead_db[lead]:.1f} dB"
        ax.set_title(label, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.savefig(out, format="png")
    return out
