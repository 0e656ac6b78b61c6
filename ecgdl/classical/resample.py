"""Resampling: traced pixel lines -> millivolts at the requested sampling rate, in the common 12-lead record.

Each lead segment maps page x to time with ``t = t0 + (x - x0) / px_per_s`` and page y to voltage with
``v = (baseline_y - y) / px_per_mv``. The traced points are linearly interpolated at the sample times of the
segment's window (values beyond the traced ends hold the end value); samples of a lead outside every segment that
shows it stay NaN. When a lead is printed twice (e.g. lead II in a column and in the rhythm strip) the longer
segment wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgdl.constants import LEAD_INDEX, N_LEADS

__all__ = ["SegmentSignal", "assemble_record", "sample_range", "segment_to_samples"]


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


def sample_range(t0_s: float, duration_s: float, fs_hz: float, n_samples: int) -> tuple[int, int]:
    """Samples ``k`` with ``t0 <= k / fs < t0 + duration`` (clipped to the record)."""
    start = int(np.ceil(t0_s * fs_hz - 1e-9))
    end = int(np.ceil((t0_s + duration_s) * fs_hz - 1e-9))
    return max(0, start), min(n_samples, end)


def segment_to_samples(seg: SegmentSignal, fs_hz: float, n_samples: int) -> tuple[int, np.ndarray]:
    """(first sample index, values in mV) of a segment on the record's sample grid."""
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
    y = np.interp(x, xp[ok], yp[ok])
    return s0, (seg.baseline_y_px - y) / seg.px_per_mv


def assemble_record(
    segments: list[SegmentSignal], fs_hz: float, n_samples: int
) -> tuple[np.ndarray, list[dict]]:
    """(signal_mv (n_samples, 12) with NaN where no segment shows a lead, per-segment geometry dicts)."""
    sig = np.full((n_samples, N_LEADS), np.nan)
    filled = np.zeros(N_LEADS, np.int64)
    geometry: list[dict] = []
    for seg in sorted(segments, key=lambda s: s.duration_s):
        s0, vals = segment_to_samples(seg, fs_hz, n_samples)
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
            }
        )
    return sig, geometry
