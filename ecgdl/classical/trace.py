"""Trace extraction: one sub-pixel y per pixel column along a row of the page, by dynamic programming over ink runs.

In every pixel column the ink mask inside the row's search band splits into vertical runs (holes thinner than a
stroke are closed first, so the two edges of a narrow spike stay one run). A Viterbi pass picks one run per
column, or a gap, minimising the vertical jumps between consecutive columns plus weak penalties: distance from the
row's zero line, runs closer to another row's zero line (optional), runs on character-sized components (labels),
runs lying wholly in an optional margin beyond the band (where a deep wave's tip meets the next row's zero line).
The path starts free (no jump cost into the first run), so a lead boundary is not a constraint. The chosen run
gives the column's value:

* a short run (about one stroke thick) -> its anti-aliased, coverage-weighted centroid (sub-pixel);
* a tall run (a steep stroke) -> the middle of a bracket that undoes the stroke's thickness: the ink's upper
  boundary is an erosion of the centre line by the pen, the lower one a dilation, so the opening of the upper
  and the closing of the lower boundary bracket the true line and meet where it is monotone. At a turning point
  (a QRS tip) the exact side of the bracket is used, so peaks keep their amplitude ("thinning");
* gaps (no ink) -> left out; the resampler interpolates linearly across them (bridging).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "ColumnRuns",
    "RowTrace",
    "column_runs",
    "extract_row_trace",
    "stroke_width",
    "touching_columns",
    "true_runs",
]


@dataclass
class ColumnRuns:
    """Vertical ink runs of a band, sorted by column: ``col`` (band-relative x), ``top``/``bottom`` (inclusive
    band-relative rows), ``centroid`` (ink-weighted, band-relative, float) and ``mass`` (sum of weights)."""

    col: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    centroid: np.ndarray
    mass: np.ndarray
    starts: np.ndarray  # index of the first run of each column (length n_cols + 1)
    flagged: np.ndarray | None = None  # share of each run's pixels in the ``flag`` mask (e.g. text)
    top_edge: np.ndarray | None = None  # sub-pixel upper boundary of the ink (coverage of the rim pixels)
    bottom_edge: np.ndarray | None = None


def _column_major(flat: np.ndarray, h: int, w: int) -> np.ndarray:
    """Row-major flat indices of an H x W array as column-major ones (``x * h + y``)."""
    y, x = np.divmod(flat, w)
    return x * h + y


def column_runs(mask: np.ndarray, weight: np.ndarray, flag: np.ndarray | None = None) -> ColumnRuns:
    """All vertical runs of ``mask`` (H x W bool) with sub-pixel centroids weighted by ``weight`` (H x W float,
    over the run plus one pixel either side, so anti-aliased rims count).

    Only the run pixels (and their rims) are read: a trace covers a few percent of a band, so gathering them and
    summing per run (``np.add.reduceat``) is much cheaper than cumulative sums over the whole band.
    """
    h, w = mask.shape
    mask = np.asarray(mask, dtype=bool)
    first = mask.copy()
    first[1:] &= ~mask[:-1]
    last = mask.copy()
    last[:-1] &= ~mask[1:]
    # Runs column by column, top to bottom: flat indices (np.flatnonzero is far faster than a 2-D np.nonzero)
    # re-keyed column-major and sorted.
    key_first = np.sort(_column_major(np.flatnonzero(first), h, w))
    key_last = np.sort(_column_major(np.flatnonzero(last), h, w))
    col, top = np.divmod(key_first, h)
    bottom = key_last % h
    starts = np.searchsorted(col, np.arange(w + 1))
    n = col.size
    if n == 0:
        empty_i = np.zeros(0, np.int64)
        empty_f = np.zeros(0, np.float64)
        return ColumnRuns(empty_i, empty_i, empty_i, empty_f, empty_f, starts, None, empty_f, empty_f)
    lo = np.maximum(top - 1, 0)
    hi = np.minimum(bottom + 2, h)
    length = hi - lo
    offset = np.cumsum(length) - length
    ys = np.arange(int(length.sum())) - np.repeat(offset - lo, length)
    xs = np.repeat(col, length)
    vals = weight[ys, xs].astype(np.float64)
    mass = np.add.reduceat(vals, offset)
    moment = np.add.reduceat(vals * ys, offset)
    centroid = np.where(mass > 0, moment / np.maximum(mass, 1e-12), (top + bottom) / 2.0)
    flagged = None
    if flag is not None and flag.any():
        # share of the run's own pixels (rims excluded) in the flag mask
        f = np.add.reduceat(flag[ys, xs].astype(np.float64), offset)
        f -= np.where(top > 0, flag[lo, col], 0.0)
        f -= np.where(bottom < h - 1, flag[hi - 1, col], 0.0)
        flagged = f / (bottom - top + 1)
    # Sub-pixel boundaries: partial coverage of the run's end pixels and of the pixels just outside it.
    w_top = np.clip(weight[top, col].astype(np.float64), 0, 1)
    w_above = np.where(top > 0, np.clip(weight[lo, col], 0, 1), 0.0)
    w_bot = np.clip(weight[bottom, col].astype(np.float64), 0, 1)
    w_below = np.where(bottom < h - 1, np.clip(weight[hi - 1, col], 0, 1), 0.0)
    top_edge = top - 0.5 + (1.0 - w_top) - w_above
    bottom_edge = bottom + 0.5 - (1.0 - w_bot) + w_below
    return ColumnRuns(col, top, bottom, centroid, mass, starts, flagged, top_edge, bottom_edge)


def true_runs(flags: np.ndarray) -> np.ndarray:
    """(k, 2) int array of the ``[start, end)`` index ranges of the runs of True in a 1-D boolean array."""
    return np.flatnonzero(np.diff(np.r_[0, np.asarray(flags).astype(np.int8), 0])).reshape(-1, 2)


def stroke_width(runs: ColumnRuns) -> float:
    """Typical vertical thickness of the trace stroke in pixels: the median ink mass (summed coverage weights) of
    the short runs (flat stretches), which counts anti-aliased rims fractionally."""
    if runs.top.size == 0:
        return 2.0
    lengths = runs.bottom - runs.top + 1
    short = lengths <= np.percentile(lengths, 60)
    mass = runs.mass[short] if short.any() else runs.mass
    return float(max(1.0, np.median(mass)))


@dataclass
class RowTrace:
    """The traced centre line of one row: ``x`` (page pixels, ascending, sub-pixel where tips were split) and
    ``y`` (page pixels). ``col_x``/``col_y`` give one value per integer column (NaN for bridged gaps);
    ``stroke_px`` is the estimated stroke thickness; ``gap_fraction`` the share of columns without ink."""

    x: np.ndarray
    y: np.ndarray
    col_x: np.ndarray
    col_y: np.ndarray
    col_top: np.ndarray
    col_bottom: np.ndarray
    stroke_px: float
    gap_fraction: float

    def y_at(self, x: np.ndarray) -> np.ndarray:
        """Linear interpolation of the traced line at page x positions (edge values held outside)."""
        return np.interp(x, self.x, self.y)


def extract_row_trace(
    mask: np.ndarray,
    weight: np.ndarray,
    x_start: int,
    x_end: int,
    baseline_y: float,
    y_lo: int,
    y_hi: int,
    *,
    other_baselines: tuple[float, ...] = (),
    jump_cost: float = 1.0,
    baseline_pull: float = 0.02,
    gap_cost: float = 6.0,
    foreign_cost: float = 0.3,
    flag: np.ndarray | None = None,
    flag_cost: float = 4.0,
    stroke_px: float | None = None,
    tip_correction: bool = True,
    close_gaps: bool = True,
    ext_lo: int | None = None,
    ext_hi: int | None = None,
    outside_cost: float = 3.0,
    touch_above_x: np.ndarray | None = None,
    touch_below_x: np.ndarray | None = None,
) -> RowTrace:
    """Trace the row whose zero line is near ``baseline_y`` between columns ``x_start`` and ``x_end`` (inclusive),
    searching rows ``y_lo .. y_hi`` of the page (see module docstring for the method).

    Costs are per column, in pixels: ``jump_cost`` per pixel of vertical gap between consecutive runs,
    ``baseline_pull`` per pixel of distance from the baseline, ``gap_cost`` per column without a run,
    ``foreign_cost`` per pixel that a run's centroid lies closer to another row's baseline than to ours,
    ``flag_cost`` per column on a run lying in ``flag`` (a page-sized bool mask of likely text / labels).

    ``ext_lo`` / ``ext_hi`` (page rows) widen the band: runs reaching into ``y_lo .. y_hi`` keep their whole length
    up to the wider limits, and runs lying wholly outside it (the trough of a deep S wave drawn on the next row's
    zero line) may be used at ``outside_cost`` per column.

    ``touch_above_x`` / ``touch_below_x`` (page columns) are where the run this row takes is also the one the row
    above / below takes: two strokes merged into one run (a tall R meeting the deep S of the row above). The run's
    edge facing the other row is then that row's ink, so such columns are read from this row's own edge (see
    :func:`_column_values`).
    """
    h, w = mask.shape
    x_start, x_end = max(0, int(x_start)), min(w - 1, int(x_end))
    y_lo, y_hi = max(0, int(y_lo)), min(h, int(y_hi))
    if x_end <= x_start or y_hi - y_lo < 3:
        raise ValueError("empty trace band")
    core_lo, core_hi = y_lo, y_hi
    y_lo = max(0, min(y_lo, int(ext_lo))) if ext_lo is not None else y_lo
    y_hi = min(h, max(y_hi, int(ext_hi))) if ext_hi is not None else y_hi
    band_m = mask[y_lo:y_hi, x_start : x_end + 1]
    band_w = weight[y_lo:y_hi, x_start : x_end + 1]
    band_f = flag[y_lo:y_hi, x_start : x_end + 1] if flag is not None else None
    runs = column_runs(band_m, band_w, band_f)
    sw = float(stroke_px) if stroke_px else stroke_width(runs)
    if close_gaps:
        # Holes narrower than a stroke inside one column (the sliver between the two edges of a narrow spike)
        # split one stroke into runs: close them vertically.
        g = max(2, round(sw))
        closed = cv2.morphologyEx(
            band_m.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((g + 1, 1), np.uint8)
        ).astype(bool)
        if (closed != band_m).any():
            runs = column_runs(closed, band_w, band_f)
    outside = None
    if (y_lo, y_hi) != (core_lo, core_hi):
        outside = (runs.bottom < core_lo - y_lo) | (runs.top >= core_hi - y_lo)
    n_cols = x_end - x_start + 1
    base = baseline_y - y_lo
    others = [b - y_lo for b in other_baselines]

    # Node costs of all runs (vectorised).
    c = runs.centroid
    top = runs.top.astype(np.float64)
    bot = runs.bottom.astype(np.float64)
    # Distances from each run (as an interval) to our zero line and to the other rows' zero lines.
    d_own = np.maximum(0.0, np.maximum(top - base, base - bot))
    node = baseline_pull * d_own
    if others:
        ob = np.asarray(others)[None, :]
        d_other = np.min(np.maximum(0.0, np.maximum(top[:, None] - ob, ob - bot[:, None])), axis=1)
        node += foreign_cost * np.clip(d_own - d_other, 0.0, None)
    if runs.flagged is not None:
        node += flag_cost * runs.flagged
    if outside is not None:
        node += outside_cost * outside
    choice = _viterbi(runs, top, bot, node, n_cols, base, jump_cost, gap_cost)

    has = choice >= 0
    sel = choice[has]
    col_top = np.full(n_cols, np.nan)
    col_bot = np.full(n_cols, np.nan)
    col_c = np.full(n_cols, np.nan)
    col_top[has] = top[sel]
    col_bot[has] = bot[sel]
    col_c[has] = c[sel]
    col_te = np.full(n_cols, np.nan)
    col_be = np.full(n_cols, np.nan)
    col_te[has] = runs.top_edge[sel]
    col_be[has] = runs.bottom_edge[sel]
    touch = np.zeros(n_cols, np.int8)
    cols_page = np.arange(n_cols) + x_start
    for side, xs_touch in ((-1, touch_above_x), (1, touch_below_x)):
        if xs_touch is not None and len(xs_touch):
            touch[np.isin(cols_page, xs_touch) & has] = side
    col_y = _column_values(col_top, col_bot, col_c, col_te, col_be, sw, tip_correction, touch)
    xs_band = np.arange(n_cols, dtype=np.float64)
    ok = np.isfinite(col_y)
    if not ok.any():
        raise ValueError("no ink found along the row")
    x_pts = xs_band[ok] + x_start
    y_pts = col_y[ok] + y_lo
    return RowTrace(
        x=x_pts,
        y=y_pts,
        col_x=xs_band + x_start,
        col_y=np.where(ok, col_y + y_lo, np.nan),
        col_top=col_top + y_lo,
        col_bottom=col_bot + y_lo,
        stroke_px=sw,
        gap_fraction=float(1.0 - ok.mean()),
    )


def touching_columns(upper: RowTrace, lower: RowTrace, max_stretch: int) -> np.ndarray:
    """Page columns where the runs taken by a row and by the row below it overlap (one run of merged ink), in
    stretches of at most ``max_stretch`` columns: longer ones are two tracers on the same stroke, not two waves
    meeting, and are left alone."""
    a = max(upper.col_x[0], lower.col_x[0])
    b = min(upper.col_x[-1], lower.col_x[-1])
    if b < a:
        return np.zeros(0, np.int64)
    iu = int(a - upper.col_x[0])
    il = int(a - lower.col_x[0])
    m = int(b - a) + 1
    with np.errstate(invalid="ignore"):
        shared = (upper.col_bottom[iu : iu + m] >= lower.col_top[il : il + m]) & (
            lower.col_bottom[il : il + m] >= upper.col_top[iu : iu + m]
        )
    keep = np.zeros(m, bool)
    for s, e in true_runs(shared):
        if e - s <= max_stretch:
            keep[s:e] = True
    return np.flatnonzero(keep) + int(a)


def _viterbi(
    runs: ColumnRuns,
    top: np.ndarray,
    bot: np.ndarray,
    node: np.ndarray,
    n_cols: int,
    base: float,
    jump_cost: float,
    gap_cost: float,
) -> np.ndarray:
    """Best run per column (global run index, -1 for a gap); pure Python, columns hold only a few runs.

    State k of a column is one of its runs or the gap state (last), which keeps the position of its best
    predecessor so that a trace can be bridged across columns without ink.
    """
    starts = runs.starts.tolist()
    tops = top.tolist()
    bots = bot.tolist()
    nodes = node.tolist()
    back: list[list[int]] = []
    inf = float("inf")
    # Before the first column the position is free: an interval covering everything (no jump cost to enter).
    prev_cost = [0.0]
    prev_t = [-inf]
    prev_b = [inf]
    for x in range(n_cols):
        a, b = starts[x], starts[x + 1]
        cost: list[float] = []
        bk: list[int] = []
        ct_l: list[float] = []
        cb_l: list[float] = []
        for r in range(a, b):
            t_r, b_r = tops[r], bots[r]
            best, arg = inf, 0
            for i, pc in enumerate(prev_cost):
                gap = t_r - prev_b[i] - 1.0
                g2 = prev_t[i] - b_r - 1.0
                if g2 > gap:
                    gap = g2
                c = pc + jump_cost * gap if gap > 0 else pc
                if c < best:
                    best, arg = c, i
            cost.append(best + nodes[r])
            bk.append(arg)
            ct_l.append(t_r)
            cb_l.append(b_r)
        kg = min(range(len(prev_cost)), key=prev_cost.__getitem__)
        if prev_t[kg] == -inf:  # still free (no ink yet): stay free
            gt, gb = -inf, inf
        else:
            gt = gb = (prev_t[kg] + prev_b[kg]) / 2.0
        cost.append(prev_cost[kg] + gap_cost)
        bk.append(kg)
        ct_l.append(gt)
        cb_l.append(gb)
        back.append(bk)
        prev_cost, prev_t, prev_b = cost, ct_l, cb_l
    choice = np.empty(n_cols, np.int64)
    k = min(range(len(prev_cost)), key=prev_cost.__getitem__)
    for x in range(n_cols - 1, -1, -1):
        a, b = starts[x], starts[x + 1]
        choice[x] = a + k if k < b - a else -1
        k = back[x][k]
    return choice


def _window(v: np.ndarray, k: int, how: str) -> np.ndarray:
    """NaN-aware running max / min over ``[x - k, x + k]`` (NaN where the window holds no value)."""
    fill = -np.inf if how == "max" else np.inf
    pad = np.pad(np.where(np.isfinite(v), v, fill), k, constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * k + 1)
    out = win.max(axis=1) if how == "max" else win.min(axis=1)
    out[~np.isfinite(out)] = np.nan
    return out


def _column_values(
    top: np.ndarray,
    bot: np.ndarray,
    cen: np.ndarray,
    top_edge: np.ndarray,
    bottom_edge: np.ndarray,
    sw: float,
    tips: bool,
    touch: np.ndarray | None = None,
) -> np.ndarray:
    """One y per column from the chosen runs: stroke-width-aware morphological bounds.

    A stroke of radius ``r`` drawn along ``y(x)`` inks column ``x`` from ``min y`` to ``max y`` over
    ``[x - r, x + r]`` (minus / plus ``r``). So ``m = top + r`` is an erosion and ``M = bottom - r`` a dilation of
    ``y``; the opening ``L = max_window(m)`` and closing ``U = min_window(M)`` bracket ``y`` and both equal it
    where ``y`` is monotone over the window. Short runs (flat stretches) use the anti-aliased centroid; elsewhere
    the middle of the bracket, except at turning points where one side is exact: ``L`` at an upward tip (a local
    minimum of y), ``U`` at a downward one. A column is a turning point where its bracket is wide and the middle
    of its run, or the run's sub-pixel top (bottom), lies beyond both columns k+1 away: at a narrow R followed by
    a deep S one run holds both strokes and its middle sits low, while its top still marks the tip. With ``tips``
    False the middle is always used.

    ``touch`` (per column: 0, or -1 / +1 where the run is shared with the row above / below) marks merged runs.
    There the run's edge facing the other row is that row's ink, so only the own edge enters the bracket (the
    upper row keeps the top edge, the lower row the bottom one: exact where the stroke is monotone), the column is
    never a turning point, and the turning-point test of the other columns looks past it to the nearest own
    column. Traces that truly cross (each passing beyond the other) swap sides inside the run: not handled.
    """
    n = cen.size
    touched = touch is not None and bool(np.any(touch))
    if touched:
        con = touch != 0
        top_edge = np.where(touch < 0, np.nan, top_edge)
        bottom_edge = np.where(touch > 0, np.nan, bottom_edge)
    y = cen.copy()
    r = max(0.0, (sw - 1.0) / 2.0)
    k = max(1, int(r))
    # sub-pixel ink boundaries, expressed as the centres of the outermost (fully covered) pixels
    m = top_edge + 0.5 + r
    big_m = bottom_edge - 0.5 - r
    lo = _window(m, k, "max")
    hi = _window(big_m, k, "min")
    length = bot - top + 1
    tall = np.isfinite(length) & (length > sw + 1.5)
    mid = (lo + hi) / 2.0
    est = mid.copy()
    if tips and n >= 2 * k + 3:
        # Turning points: the bracket is wide and the column stands out from its neighbours k+1 away.
        centre = np.where(np.isfinite(top), (top + bot) / 2.0, np.nan)
        # sub-pixel ink edges: whole-pixel ones tie along a thick stroke's flat-topped tip
        top_v = np.where(np.isfinite(centre), top_edge, np.nan)
        bot_v = np.where(np.isfinite(centre), bottom_edge, np.nan)
        if touched:
            centre[con] = top_v[con] = bot_v[con] = np.nan
            # the nearest own column at least k+1 away, looking past merged ones
            idx = np.arange(n)
            last_own = np.maximum.accumulate(np.where(con, -1, idx))
            next_own = np.minimum.accumulate(np.where(con, n, idx)[::-1])[::-1]
            at_l = np.r_[np.full(k + 1, -1), last_own[: -(k + 1)]]
            at_r = np.r_[next_own[k + 1 :], np.full(k + 1, n)]
        else:
            at_l = np.arange(n) - (k + 1)
            at_r = np.arange(n) + (k + 1)

        def beside(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            left = np.where(at_l >= 0, v[np.clip(at_l, 0, n - 1)], np.nan)
            return left, np.where(at_r < n, v[np.clip(at_r, 0, n - 1)], np.nan)

        c_l, c_r = beside(centre)
        t_l, t_r = beside(top_v)
        b_l, b_r = beside(bot_v)
        with np.errstate(invalid="ignore"):
            wide = (hi - lo) > 1.0
            # The run's middle stands out from both sides, or its top (bottom) does: a narrow spike's run
            # holds both strokes, its middle need not be extreme when they differ in length.
            up_top = (top_v <= t_l) & (top_v <= t_r) & ((top_v < t_l) | (top_v < t_r))
            down_bot = (bot_v >= b_l) & (bot_v >= b_r) & ((bot_v > b_l) | (bot_v > b_r))
            down = wide & (((centre > c_l) & (centre > c_r)) | (down_bot & ~up_top))
            up = wide & (((centre < c_l) & (centre < c_r)) | (up_top & ~down_bot)) & ~down
        est[up] = lo[up]
        est[down] = hi[down]
    if touched:
        # merged columns: the middle of what is known, the own side where only it is (or the two disagree)
        own = np.where(touch > 0, lo, hi)
        with np.errstate(invalid="ignore"):
            sure = np.isfinite(lo) & np.isfinite(hi) & (lo <= hi)
        est[con] = np.where(sure, mid, own)[con]
        y[con] = np.nan  # a merged run's centroid is neither row's: a gap unless the bracket says more
    ok = tall & np.isfinite(est)
    y[ok] = est[ok]
    return y
