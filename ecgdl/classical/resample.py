"""Resampling: traced pixel lines -> millivolts at the requested sampling rate, in the common 12-lead record.

Each lead segment maps page x to time with ``t = t0 + (x - x0) / px_per_s`` and page y to voltage with
``v = (baseline_y - y) / px_per_mv``. The traced points (about one per pixel column) are interpolated at the sample
times of the segment's window (values beyond the traced ends hold the end value); samples of a lead outside every
segment that shows it stay NaN. When a lead is printed twice (e.g. lead II in a column and in the rhythm strip) the
longer segment wins.

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
) -> tuple[np.ndarray, list[dict]]:
    """(signal_mv (n_samples, 12) with NaN where no segment shows a lead, per-segment geometry dicts)."""
    check_interpolation(interpolation)
    sig = np.full((n_samples, N_LEADS), np.nan)
    filled = np.zeros(N_LEADS, np.int64)
    geometry: list[dict] = []
    for seg in sorted(segments, key=lambda s: s.duration_s):
        s0, vals = segment_to_samples(seg, fs_hz, n_samples, interpolation, max_spline_gap_s)
        if vals.size == 0:
            continue
        j = LEAD_INDEX[seg.lead]
        sig[s0 : s0 + vals.size, j] = vals  # longer segments come later and overwrite shorter ones
        filled[j] = max(filled[j], vals.size)
        geometry.append(
            {
                "lead": seg.lead,
                "start_sample": int(s0),
                "end_sample": int(s0 + vals.size),
                "x0_px": float(seg.x0_px + (s0 / fs_hz - seg.t0_s) * seg.px_per_s),
                "baseline_y_px": float(seg.baseline_y_px),
                "px_per_s": float(seg.px_per_s),
                "px_per_mv": float(seg.px_per_mv),
                "pulse_sides": list(seg.pulse_sides),
            }
        )
    return sig, geometry
