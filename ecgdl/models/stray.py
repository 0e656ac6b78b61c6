"""Where the classical tracer went astray onto another row's trace, and where a segment's crops are cut then.

On pages whose complexes reach into the neighbouring rows the classical tracer can follow another row's stroke
for a stretch; its reading there duplicates that row's, and the level it was read from (``baseline_y_px``, the
traced line's isoelectric level) is pulled towards the other row. :func:`trace_gaps` measures how close each
sample of a reading runs to another row's reading (0 where two rows' readings share one stroke);
:func:`crop_centre_y` puts a segment's crops on the level of its own samples, leaving out the stretches it shares
with another row, and :func:`~ecgdl.models.crop_digitizer.beyond_crop` tells a stray stretch from the crop's own
tall wave by them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from ecgdl.constants import LEADS

__all__ = ["crop_centre_y", "trace_gaps"]


def crop_centre_y(
    seg: dict[str, Any],
    signal_mv: np.ndarray,
    shared: np.ndarray | None,
    min_shared: int,
    row_zeros_px: list[float] | None = None,
) -> float:
    """Page y at which a segment's crops put the zero line.

    - When the segment shares at least ``min_shared`` samples with another row's reading (``shared``, (T, 12)
      bool: :func:`trace_gaps` under a stroke's width): the median height of the samples it does not share (the
      level it was read from is pulled towards the other row).
    - Else, when the level it was read from (``baseline_y_px``) lies more than half-way from its row's zero line
      (``zero_y_px``) to the next row's zero line on that side (``row_zeros_px``, the rows' zero lines; beyond
      the outer rows, half the rows' median pitch): its row's zero line. The traced line then runs in another
      row's band, on a rhythm strip the layout left out or a neighbour's stroke; a record printed off its zero
      line (a DC offset) stays nearer its own.
    - Else that level."""
    level = float(seg["baseline_y_px"])
    j = LEADS.index(seg["lead"])
    n0, n1 = max(0, int(seg["start_sample"])), min(signal_mv.shape[0], int(seg["end_sample"]))
    if shared is not None:
        own = ~shared[n0:n1, j] & np.isfinite(signal_mv[n0:n1, j])
        if n1 - n0 - int(own.sum()) >= max(1, min_shared) and own.any():
            v = signal_mv[n0:n1, j][own] - float(seg.get("offset_mv") or 0.0)
            return float(np.median(level - v * float(seg["px_per_mv"])))
    zero = seg.get("zero_y_px")
    rows = np.sort(np.asarray(row_zeros_px or [], np.float64))
    if zero is None or rows.size < 2:
        return level
    zero = float(zero)
    side = rows[rows > zero + 1.0] if level > zero else rows[rows < zero - 1.0]
    reach = abs(side[0 if level > zero else -1] - zero) if side.size else float(np.median(np.diff(rows)))
    return zero if abs(level - zero) > 0.5 * reach else level


def trace_gaps(
    segments: list[dict], signal_mv: np.ndarray, fs_hz: float, px_per_mm: float, reach_mm: float = 0.5
) -> np.ndarray:
    """(T, 12) distance (mm, on the page) from each sample of a reading to another row's reading: the vertical
    distance to the span that row's trace covers within ``reach_mm`` either side (steep strokes pass close to
    each other a little to the side of the same x); inf where no other row's reading runs beside it.

    ``segments``: the classical digitizer's (``x0_px``, ``px_per_s``, ``baseline_y_px``, ``px_per_mv``,
    ``offset_mv``, start and end samples, one frame); a segment's sample ``n`` lies at x = ``x0_px`` +
    (n - start) / fs * ``px_per_s``, y = ``baseline_y_px`` - (value - ``offset_mv``) * ``px_per_mv``. Segments
    whose rows' zero lines (``zero_y_px``, else ``baseline_y_px``) lie within 2 mm share a row and are not
    compared."""
    signal = np.asarray(signal_mv, np.float64)
    gaps = np.full(signal.shape, np.inf)
    if px_per_mm <= 0 or not segments:
        return gaps
    drawn = []
    for seg in segments:
        j = LEADS.index(seg["lead"])
        n0, n1 = max(0, int(seg["start_sample"])), min(signal.shape[0], int(seg["end_sample"]))
        n = np.arange(n0, n1)
        x = float(seg["x0_px"]) + (n - int(seg["start_sample"])) / fs_hz * float(seg["px_per_s"])
        v = signal[n0:n1, j] - float(seg.get("offset_mv") or 0.0)
        y = float(seg["baseline_y_px"]) - v * float(seg["px_per_mv"])
        row = float(seg.get("zero_y_px", seg["baseline_y_px"]))
        drawn.append((j, n, x, y, row, float(seg["px_per_s"])))
    for j, n, x, y, row, px_per_s in drawn:
        half = max(0, round(reach_mm * px_per_mm / (px_per_s / fs_hz)))  # the reach in samples
        for _, _, xo, yo, row_o, _ in drawn:
            ok = np.isfinite(yo)
            if abs(row_o - row) <= 2.0 * px_per_mm or ok.sum() < 2:
                continue
            beside = (x >= xo[ok][0]) & (x <= xo[ok][-1])
            if not beside.any():
                continue
            other = np.interp(x, xo[ok], yo[ok])
            lo = minimum_filter1d(np.where(beside, other, np.inf), 2 * half + 1, mode="nearest")
            hi = maximum_filter1d(np.where(beside, other, -np.inf), 2 * half + 1, mode="nearest")
            with np.errstate(invalid="ignore"):
                d = np.maximum(np.maximum(lo - y, y - hi), 0.0) / px_per_mm
            gaps[n, j] = np.minimum(gaps[n, j], np.where(beside & np.isfinite(d), d, np.inf))
    return gaps
