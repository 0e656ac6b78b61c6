"""Lead separators: the bars and ticks some printers draw between leads, where they hide the trace.

Solid bars are blanked from the ink before tracing
(:func:`~ecgdl.classical.gridremoval.remove_separator_bars`, made in :func:`~ecgdl.classical.ink.page_ink`);
what they hid is read here:

* :func:`clear_of_bars`: a lead's tracking starts right after a bar at its start (and not on the lead label
  beside it); :func:`extend_back` then walks the trace back to the lead's true start along ink still visible
  above or below the bar (a steep wave at the column boundary).
* :func:`skip_separator_ticks`: a thin tick drawn over the trace at a column boundary (centred on the zero
  line) is read past: the trace is followed out of the tick along ink that leaves it (:func:`walk_past_tick`),
  or else its line through the next traced points is extended to the boundary.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ecgdl.classical.gridremoval import InkMap
from ecgdl.classical.trace import RowTrace, column_runs

__all__ = ["clear_of_bars", "extend_back", "grow_run", "skip_separator_ticks", "walk_past_tick"]


def clear_of_bars(
    x0: float, x1: float, band: tuple[int, int], bars: list[tuple[int, int, int, int]], ppm: float
) -> tuple[float, float]:
    """Start a segment after a separator bar lying within 2 mm of its start: the trace is hidden under the
    bar, and starting the tracking right after it avoids locking onto the lead label next to it. (At the end,
    the blanked bar is traced through: ink visible above or below it still counts.)"""
    reach = 2.0 * ppm
    for bx, by, bw, bh in bars:
        if by + bh < band[0] or by > band[1]:
            continue
        if abs(bx - x0) <= reach or abs(bx + bw - 1 - x0) <= reach:
            x0 = max(x0, bx + bw + 1.0)
    return x0, x1


def extend_back(
    tr: RowTrace, ink: InkMap, x_from: float, band: tuple[int, int], stroke_px: float
) -> RowTrace:
    """Walk a trace that starts after a separator bar back to the lead's true start ``x_from``.

    The bar hides only the trace inside its own height: a steep wave (a QRS at the column boundary) stays
    visible above or below it. Right to left, each column's ink run that touches the previous column's run
    (within a stroke) continues the trace at its weighted centroid
    (:func:`~ecgdl.classical.trace.column_runs`, as the tracer reads short runs); the walk stops at the first
    column without one, and the first value is held from there (as before). Walking away from the lead label
    (which sits right of the bar) keeps the label out.
    """
    x_first = int(np.floor(tr.x[0]))
    x_lo = int(np.ceil(x_from))
    lo, hi = max(0, band[0]), min(ink.mask.shape[0], band[1])
    if x_first - 1 < x_lo or hi <= lo:
        return tr
    runs = column_runs(ink.mask[lo:hi, x_lo : x_first + 1], ink.weight[lo:hi, x_lo : x_first + 1])

    def runs_of(x: int) -> range:
        return range(runs.starts[x - x_lo], runs.starts[x - x_lo + 1])

    reach = max(1.0, stroke_px)
    prev_top = prev_bottom = float(tr.y[0]) - lo
    for k in runs_of(x_first):
        if runs.top[k] - reach <= tr.y[0] - lo <= runs.bottom[k] + reach:
            prev_top, prev_bottom = float(runs.top[k]), float(runs.bottom[k])
            break
    xs: list[float] = []
    ys: list[float] = []
    for x in range(x_first - 1, x_lo - 1, -1):
        best = None
        for k in runs_of(x):
            top, bottom = runs.top[k], runs.bottom[k]
            if top <= prev_bottom + reach and bottom >= prev_top - reach:
                gap = max(0.0, top - prev_bottom, prev_top - bottom)
                if best is None or gap < best[0]:
                    best = (gap, k)
        if best is None:
            break
        k = best[1]
        ys.append(lo + float(runs.centroid[k]))
        xs.append(float(x))
        prev_top, prev_bottom = float(runs.top[k]), float(runs.bottom[k])
    if not xs:
        return tr
    return replace(tr, x=np.concatenate([xs[::-1], tr.x]), y=np.concatenate([ys[::-1], tr.y]))


def skip_separator_ticks(
    tr: RowTrace,
    mask: np.ndarray,
    baseline_y: float,
    ppm: float,
    stroke_px: float,
    *,
    start: float | None,
    end: float | None,
    half_mm: float = 1.0,
    fit_points: int = 3,
    max_extra_px: float = 2.0,
    ink: InkMap | None = None,
    band: tuple[int, int] | None = None,
) -> RowTrace:
    """A thin separator tick drawn over the trace at a column boundary (a short vertical line centred on the
    zero line) hides the trace there, and the tracker reads the tick (0 mV). Tick columns are inked over at
    least ``baseline +- half_mm``; when some lie within a stroke width (+1 px) of the boundary ``start`` /
    ``end`` and form a run at most ``max_extra_px`` wider than the stroke, the traced points over them are
    replaced by the line through the next ``fit_points`` traced points, extended to the boundary. With ``ink``
    and the row's ``band`` given, the trace is first followed through the tick columns along ink that leaves
    the tick above or below it (:func:`walk_past_tick`); the line is the fallback."""
    h, w = mask.shape
    y0, y1 = int(np.floor(baseline_y - half_mm * ppm)), int(np.ceil(baseline_y + half_mm * ppm)) + 1
    if y0 < 0 or y1 > h:
        return tr
    x, y = tr.x, tr.y
    reach = stroke_px + 1.0
    for side, bx in (("start", start), ("end", end)):
        if bx is None:
            continue
        lo, hi = max(0, int(np.floor(bx - 3 * reach))), min(w, int(np.ceil(bx + 3 * reach)) + 1)
        full = set((np.flatnonzero(mask[y0:y1, lo:hi].all(axis=0)) + lo).tolist())
        near = [c for c in full if abs(c - bx) <= reach]
        if not near:
            continue
        # The tick: the run of fully inked columns nearest to the boundary, at most a stroke + 2 px wide
        # (wider: a solid separator bar or something else, left alone).
        a = b = min(near, key=lambda c: abs(c - bx))
        while a - 1 in full:
            a -= 1
        while b + 1 in full:
            b += 1
        if b - a + 1 > stroke_px + max_extra_px:
            continue
        cut = x <= b if side == "start" else x >= a
        idx = np.flatnonzero(~cut)
        if not cut.any() or idx.size < 2:
            continue
        if ink is not None and band is not None:
            # the tick reaches as far up and down as all its columns are inked
            tick_rows = grow_run(mask[:, a : b + 1].all(axis=1), y0, y1 - 1)
            walked = walk_past_tick(x[~cut], y[~cut], ink, (a, b), tick_rows, bx, band, stroke_px, side)
            if walked is not None:
                x, y = walked
                continue
        idx = idx[:fit_points] if side == "start" else idx[-fit_points:]
        slope, icpt = np.polyfit(x[idx], y[idx], 1)
        x = np.concatenate([x[~cut], x[cut]])
        y = np.concatenate([y[~cut], slope * x[-int(cut.sum()) :] + icpt])
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    if x is tr.x:
        return tr
    return RowTrace(x, y, tr.col_x, tr.col_y, tr.col_top, tr.col_bottom, tr.stroke_px, tr.gap_fraction)


def grow_run(inked: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """The rows ``lo .. hi`` (inclusive) grown up and down while ``inked`` (a bool column) stays True."""
    while lo - 1 >= 0 and inked[lo - 1]:
        lo -= 1
    while hi + 1 < inked.size and inked[hi + 1]:
        hi += 1
    return lo, hi


def walk_past_tick(
    x: np.ndarray,
    y: np.ndarray,
    ink: InkMap,
    tick_cols: tuple[int, int],
    tick_rows: tuple[int, int],
    bx: float,
    band: tuple[int, int],
    stroke_px: float,
    side: str,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The trace points ``x, y`` (with the tick's columns cut off) continued through the tick to the boundary
    ``bx``, or None. The tick (columns ``tick_cols``, rows ``tick_rows`` inclusive: as far up and down as all
    its columns are inked) is blanked, and :func:`extend_back` walks from the trace along ink touching it: a
    steep wave that leaves the tick above or below it (a QRS at the column boundary) is read instead of a
    straight line. An end is walked on the mirrored columns. Only a walk that reaches the boundary counts."""
    a, b = tick_cols
    h, w = ink.mask.shape
    if side == "start":
        c0, c1 = max(0, min(int(np.floor(bx)), a) - 1), min(w, int(np.floor(x[0])) + 1)
    else:
        c0, c1 = max(0, int(np.floor(x[-1]))), min(w, max(int(np.ceil(bx)), b) + 2)
    if c1 - c0 < 2:
        return None
    mask = ink.mask[:, c0:c1].copy()
    weight = ink.weight[:, c0:c1].copy()
    top, bot = tick_rows
    mask[top : bot + 1, max(0, a - c0) : b + 1 - c0] = False
    weight[top : bot + 1, max(0, a - c0) : b + 1 - c0] = 0.0
    if side == "start":
        u, v, ub = x - c0, y, bx - c0
    else:  # mirrored: the walk goes right to left
        mask, weight = mask[:, ::-1], weight[:, ::-1]
        u, v, ub = (c1 - 1 - c0) - (x[::-1] - c0), y[::-1], (c1 - 1 - c0) - (bx - c0)
    n = u.size
    dummy = np.zeros(0)
    rest = RowTrace(u, v, dummy, dummy, dummy, dummy, stroke_px, 0.0)
    walked = extend_back(rest, InkMap(weight, mask, ink.threshold), ub, band, stroke_px)
    if walked.x.size <= n or walked.x[0] > ub + 1.0:
        return None
    wx, wy = walked.x.copy(), walked.y.copy()
    # the lead's first sample is the far end of the stroke in the boundary column (a tip or a trough leaving
    # the tick), not the middle of that column's ink
    col = mask[:, int(wx[0])]
    r = round(wy[0])
    if 0 <= r < h and col[r]:
        top, bot = grow_run(col, r, r)
        half = max(0.0, (stroke_px - 1.0) / 2.0)
        wy[0] = top + half if wy[1] > wy[0] else bot - half
    if side == "start":
        return wx + c0, wy
    return (c1 - 1) - wx[::-1], wy[::-1]
