"""Resampling: traced pixel lines -> millivolts at the requested sampling rate, in the common 12-lead record.

Each lead segment maps page x to time with ``t = t0 + (x - x0) / px_per_s`` and page y to voltage with
``v = (baseline_y - y) / px_per_mv``. The traced points (about one per pixel column) are interpolated at the sample
times of the segment's window (values beyond the traced ends hold the end value); samples of a lead outside every
segment that shows it stay NaN. When a lead is printed twice (e.g. lead II in a column and in the rhythm strip) the
longer segment wins.

A segment's ``baseline_y_px`` is the level it is read from, usually its own isoelectric level: the metric of the
field removes one offset per lead, so a lead printed once needs no better. A lead printed in two places (V1 and V5
of a 3x4+3 page at 50 mm/s: a rhythm strip of 5 s and a column 7.5 s in) would show a step between two readings
from two levels, of the size of the signal's own baseline offsets (tenths of a mV). So the shorter piece is put on
the longer one's level: by the median difference where their windows overlap (at least ``min_overlap_s``), else
by the rows' zero lines (``zero_y_px``: a calibration pulse's foot or the row's zero line) when both are known.

Interpolation (``interpolation``): a 200-dpi page at 25 mm/s has about 197 columns per second, so a 500 Hz record
puts 2-3 samples between two column readings, and a QRS spans only a few columns. Straight lines between the
readings cut its curvature (the reading's amplitude runs about 1-2 % low; measured 2026-11-29 as the least-squares
gain of the readings of dev_eik_clean against the truth); a cubic spline through them (``"cubic"``, SciPy's
not-a-knot :class:`~scipy.interpolate.CubicSpline`) follows it. Gaps in the trace longer than
``max_spline_gap_s`` are bridged by a straight line, as with ``"linear"``: a spline would invent a wave there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from ecgdl.constants import LEAD_INDEX, N_LEADS

__all__ = [
    "INTERPOLATIONS",
    "SegmentSignal",
    "assemble_record",
    "check_interpolation",
    "interpolate_trace",
    "sample_range",
    "segment_to_samples",
]

#: Ways of interpolating a traced line at the sample times (see the module docstring).
INTERPOLATIONS: tuple[str, ...] = ("cubic", "linear")


@dataclass
class SegmentSignal:
    """One lead's traced line on the page and its geometry (see module docstring)."""

    lead: str
    t0_s: float
    duration_s: float
    x0_px: float
    baseline_y_px: float
    px_per_s: float
    px_per_mv: float
    x_px: np.ndarray
    y_px: np.ndarray
    pulse_sides: tuple[str, ...] = ()  # "start" / "end": the lead abuts a calibration pulse's edge there
    # the row's 0 mV line at the segment (a pulse foot or the row's zero line), if known
    zero_y_px: float | None = None
    row: int = -1  # the layout's row and column of the segment (-1: not known)
    col: int = -1


def sample_range(t0_s: float, duration_s: float, fs_hz: float, n_samples: int) -> tuple[int, int]:
    """Samples ``k`` with ``t0 <= k / fs < t0 + duration`` (clipped to the record)."""
    start = int(np.ceil(t0_s * fs_hz - 1e-9))
    end = int(np.ceil((t0_s + duration_s) * fs_hz - 1e-9))
    return max(0, start), min(n_samples, end)


def check_interpolation(interpolation: str) -> str:
    """``interpolation`` if it is one of :data:`INTERPOLATIONS`, else a ValueError naming the valid ones."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {interpolation!r}; valid: {', '.join(INTERPOLATIONS)}")
    return interpolation


def interpolate_trace(
    x: np.ndarray, xp: np.ndarray, fp: np.ndarray, interpolation: str = "cubic", max_gap: float = np.inf
) -> np.ndarray:
    """Values of the traced points (``xp`` ascending, ``fp`` finite) at ``x``; beyond the ends the end values.

    ``"cubic"``: a not-a-knot cubic spline through the points (points at the same ``xp`` are averaged first),
    except between consecutive points more than ``max_gap`` apart, which are joined by a straight line (as
    everywhere with ``"linear"``). Fewer than four distinct points are always joined linearly.
    """
    check_interpolation(interpolation)
    x = np.asarray(x, np.float64)
    xp = np.asarray(xp, np.float64)
    fp = np.asarray(fp, np.float64)
    linear = np.interp(x, xp, fp)
    if interpolation == "linear":
        return linear
    ux, inverse = np.unique(xp, return_inverse=True)
    if ux.size < 4:
        return linear
    uf = np.bincount(inverse, weights=fp) / np.bincount(inverse)
    spline = CubicSpline(ux, uf)(np.clip(x, ux[0], ux[-1]))
    right = np.clip(np.searchsorted(ux, x), 1, ux.size - 1)
    in_gap = (ux[right] - ux[right - 1]) > max_gap
    return np.where(in_gap, linear, spline)


def segment_to_samples(
    seg: SegmentSignal,
    fs_hz: float,
    n_samples: int,
    interpolation: str = "cubic",
    max_spline_gap_s: float = 0.08,
) -> tuple[int, np.ndarray]:
    """(first sample index, values in mV) of a segment on the record's sample grid (interpolation: see the
    module docstring)."""
    s0, s1 = sample_range(seg.t0_s, seg.duration_s, fs_hz, n_samples)
    if s1 <= s0 or seg.x_px.size == 0:
        return s0, np.zeros(0)
    t = np.arange(s0, s1) / fs_hz
    x = seg.x0_px + (t - seg.t0_s) * seg.px_per_s
    order = np.argsort(seg.x_px, kind="stable")
    xp, yp = seg.x_px[order], seg.y_px[order]
    ok = np.isfinite(yp)
    if not ok.any():
        return s0, np.zeros(0)
    y = interpolate_trace(x, xp[ok], yp[ok], interpolation, max_gap=max_spline_gap_s * seg.px_per_s)
    return s0, (seg.baseline_y_px - y) / seg.px_per_mv


def assemble_record(
    segments: list[SegmentSignal],
    fs_hz: float,
    n_samples: int,
    interpolation: str = "cubic",
    max_spline_gap_s: float = 0.08,
    min_overlap_s: float = 0.1,
) -> tuple[np.ndarray, list[dict]]:
    """(signal_mv (n_samples, 12) with NaN where no segment shows a lead, per-segment geometry dicts).

    Each sample takes the value of the longest segment that shows it; a shorter segment of a lead is first
    shifted onto the longer ones' level (module docstring), the shift kept as the geometry's ``offset_mv``.
    """
    check_interpolation(interpolation)
    sig = np.full((n_samples, N_LEADS), np.nan)
    pieces = []
    for seg in sorted(segments, key=lambda s: s.duration_s):
        s0, vals = segment_to_samples(seg, fs_hz, n_samples, interpolation, max_spline_gap_s)
        if vals.size:
            pieces.append((seg, s0, vals))
    # Longest first (the last of equal length first, as when longer ones overwrite), each filling what is empty.
    offsets = [0.0] * len(pieces)
    longest: dict[int, SegmentSignal] = {}
    for i in range(len(pieces) - 1, -1, -1):
        seg, s0, vals = pieces[i]
        j = LEAD_INDEX[seg.lead]
        dst = sig[s0 : s0 + vals.size, j]
        if j in longest:
            offsets[i] = _level_shift(dst, vals, seg, longest[j], round(min_overlap_s * fs_hz))
        else:
            longest[j] = seg
        empty = np.isnan(dst)
        dst[empty] = vals[empty] + offsets[i]
    geometry = [
        {
            "lead": seg.lead,
            "start_sample": int(s0),
            "end_sample": int(s0 + vals.size),
            "x0_px": float(seg.x0_px + (s0 / fs_hz - seg.t0_s) * seg.px_per_s),
            "baseline_y_px": float(seg.baseline_y_px),
            "px_per_s": float(seg.px_per_s),
            "px_per_mv": float(seg.px_per_mv),
            "pulse_sides": list(seg.pulse_sides),
            "offset_mv": float(offset),
            # the row's 0 mV line (a pulse's foot or the layout's zero line): where the row is printed
            "zero_y_px": float(seg.zero_y_px if seg.zero_y_px is not None else seg.baseline_y_px),
        }
        for (seg, s0, vals), offset in zip(pieces, offsets, strict=True)
    ]
    return sig, geometry


def _level_shift(
    placed: np.ndarray, vals: np.ndarray, seg: SegmentSignal, ref: SegmentSignal, min_overlap: int
) -> float:
    """mV to add to ``vals`` (segment ``seg``) to read them from the level of the lead's longest segment ``ref``:
    the median difference over the samples both show (``placed``: what is there already, NaN where nothing) when
    there are at least ``min_overlap`` of them, else from the two rows' zero lines, else 0."""
    both = np.isfinite(placed)
    if both.sum() >= max(1, min_overlap):
        return float(np.median(placed[both] - vals[both]))
    if seg.zero_y_px is None or ref.zero_y_px is None:
        return 0.0
    own = (seg.zero_y_px - seg.baseline_y_px) / seg.px_per_mv
    theirs = (ref.zero_y_px - ref.baseline_y_px) / ref.px_per_mv
    return float(own - theirs)
