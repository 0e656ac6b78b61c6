"""Page layout: find the rows of trace, decide the lead layout, and cut every row into lead segments.

* Rows: for every page row y, the total length of horizontal stretches of ink at least 3 mm long within
  +-1.5 mm of y (gaps under 1 mm closed) -- a trace row is one long wavy line, text is short words; 3 mm, not
  more, so that a fast rhythm, whose zero line is flat only between the beats, still counts. Its peaks are the
  rows' zero lines (traces spend most of their time on the isoelectric line); peaks much weaker than the
  strongest rows (headers, footers, text lines) are dropped, and two peaks much closer than the page's row pitch
  are one row whose zero line wanders (high gain) and are merged.
* Layout from the row count: 3 -> ``3x4``, 4 -> ``3x4+II`` (Kaggle / ECG-Image-Kit default), 5 -> ``3x4`` plus
  two rhythm strips of unknown leads (ignored), 6 -> ``3x4+3`` or ``6x2`` (whether the second and fourth rows
  trace the same lead II over the first quarter decides), 12 -> ``12x1``. The grid of each layout comes from
  :data:`ecgdl.layouts.LAYOUTS`.
* Segments: each grid row's trace extent is split into equal columns; column ``c`` of ``n`` shows seconds
  ``[c D / n, c D / n + window)`` of the ``D``-second recording, rhythm strips show it from 0 s. The zero-mV
  line of a row is refined later from the calibration pulse foot or the mode of the traced y
  (:func:`isoelectric_level`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ecgdl.classical.page import LeadSegment, RowBand
from ecgdl.classical.trace import true_runs
from ecgdl.layouts import LAYOUTS, LayoutSpec

__all__ = [
    "LeadSegment",
    "PageLayout",
    "RowBand",
    "build_segments",
    "choose_layout",
    "find_rows",
    "follow_stroke",
    "isoelectric_level",
    "row_extent",
    "row_profile",
    "stroke_end",
]


@dataclass
class PageLayout:
    """A layout with the rows it was found on and its lead segments."""

    name: str
    spec: LayoutSpec
    rows: list[RowBand]
    segments: list[LeadSegment]


def row_profile(
    mask: np.ndarray, px_per_mm: float, half_band_mm: float = 1.5, min_stretch_mm: float = 8.0
) -> np.ndarray:
    """Per page row: total length (px) of horizontal stretches of ink, at least ``min_stretch_mm`` long, within
    +-``half_band_mm`` of the row (gaps under 1 mm closed)."""
    h, w = mask.shape
    m = mask.astype(np.uint8)
    r = max(1, round(half_band_mm * px_per_mm))
    m = cv2.dilate(m, np.ones((2 * r + 1, 1), np.uint8))
    g = max(1, round(1.0 * px_per_mm))
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((1, g + 1), np.uint8))
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = m
    d = np.diff(padded, axis=1)
    ys_s, xs_s = np.nonzero(d == 1)
    _ys_e, xs_e = np.nonzero(d == -1)
    length = xs_e - xs_s
    keep = length >= min_stretch_mm * px_per_mm
    return np.bincount(ys_s[keep], weights=length[keep], minlength=h).astype(np.float64)


def find_rows(
    mask: np.ndarray,
    px_per_mm: float,
    *,
    min_pitch_mm: float = 7.0,
    min_rel_strength: float = 0.35,
    max_rows: int = 13,
    min_stretch_mm: float = 3.0,
    follow_mm: float = 2.5,
    max_rel_extent: float = 1.1,
    edge_mm: float = 2.0,
) -> list[RowBand]:
    """Rows of trace, top to bottom (see module docstring). A row's ends are where its ink is last seen within
    0.4 row pitches of its zero line, then followed (:func:`follow_stroke`, up to ``follow_mm``) through the ink
    that continues them within 0.95 pitches: a lead that ends (or starts) on a steep wave leaves the narrow band
    before its last sample. Of four or more rows, a straight one (ink within 0.3 mm of its line in 90 % of its
    columns) running more than ``max_rel_extent`` times as wide as the others is dropped (a page edge), and so is
    a row whose zero line lies within ``edge_mm`` of the image's top or bottom; end rows off the rows' pitch are
    dropped last (:func:`_evenly_spaced`)."""
    h, _w = mask.shape
    prof = row_profile(mask, px_per_mm, min_stretch_mm=min_stretch_mm)
    sm = max(1, round(0.5 * px_per_mm))
    prof = np.convolve(prof, np.ones(2 * sm + 1) / (2 * sm + 1), mode="same")
    if prof.max() <= 0:
        return []
    dist = max(2, round(min_pitch_mm * px_per_mm))
    # Greedy non-maximum suppression on the profile.
    order = np.argsort(prof)[::-1]
    taken = np.zeros(h, bool)
    peaks: list[int] = []
    top_val = prof[order[0]]
    for y in order:
        if prof[y] < min_rel_strength * top_val:
            break
        if taken[y]:
            continue
        peaks.append(int(y))
        taken[max(0, y - dist) : y + dist + 1] = True
        if len(peaks) > 4 * max_rows:
            break
    # A flat-topped peak (the +-1.5 mm band is wider than the stroke): take the middle of its top.
    refined = []
    for y in peaks:
        lo, hi = max(0, y - dist // 2), min(h, y + dist // 2 + 1)
        seg = prof[lo:hi]
        top = np.flatnonzero(seg >= 0.97 * prof[y])
        refined.append(round(lo + (top[0] + top[-1]) / 2.0) if top.size else y)
    peaks = sorted(refined)
    # Reference strength: the median of the strongest rows (a single strong row must not hide the others).
    vals = np.array([prof[p] for p in peaks])
    ref = np.median(np.sort(vals)[::-1][: max(3, len(vals) // 2)])
    peaks = [p for p in peaks if prof[p] >= min_rel_strength * ref]
    peaks = _merge_split_rows(peaks, prof)
    rows = []
    longest: list[float] = []
    halves: list[float] = []  # each row's half band, px
    for i, y in enumerate(peaks):
        up = peaks[i - 1] if i > 0 else None
        dn = peaks[i + 1] if i + 1 < len(peaks) else None
        gap = min(y - up if up is not None else 1e9, dn - y if dn is not None else 1e9, 30 * px_per_mm)
        half = max(0.4 * gap, 2 * px_per_mm)
        x0, x1 = row_extent(mask, y, half, px_per_mm)
        band = (max(0, round(y - 0.95 * gap)), min(h, round(y + 0.95 * gap) + 1))
        narrow = (max(0, int(y - half)), min(h, int(y + half) + 1))
        x0 = follow_stroke(mask, x0, narrow, band, -1, round(follow_mm * px_per_mm))
        x1 = follow_stroke(mask, x1, narrow, band, +1, round(follow_mm * px_per_mm))
        longest.append(_longest_stretch(mask, y, half, px_per_mm))
        rows.append(RowBand(float(y), float(x0), float(x1), float(prof[y])))
        halves.append(half)
    # Drop rows whose longest continuous stretch is much shorter than the others' (text lines, footers) - unless
    # the row is as strong as the others, spans about as much of the page and holds a fair stretch: a thin trace
    # broken by a scan (gaps over 3 mm) next to rows that separator bars join into one stretch each. (A page edge
    # or a screen's bezel is weaker, or runs wider than the rows.)
    if rows:
        top = max(3, len(rows) // 2)
        ref_w = np.median(sorted(longest, reverse=True)[:top])
        extents = [r.x_end_px - r.x_start_px for r in rows]
        ref_x = np.median(sorted(extents, reverse=True)[:top])
        ref_s = np.median(sorted((r.strength for r in rows), reverse=True)[:top])
        # A row whose trace a photo's shading or a scan broke into its beats spans as much as the others only
        # through the short pieces between its long ones: such a row, as strong as the others, takes that
        # extent. (When every row is broken, none is rescued: short rows send the page to a fainter ink.)
        for k, (r, ext) in enumerate(zip(rows, extents, strict=True)):
            if ext >= 0.9 * ref_x or r.strength < 0.6 * ref_s:
                continue
            x0, x1 = row_extent(mask, r.baseline_y_px, halves[k], px_per_mm, through_short=True)
            if 0.9 * ref_x <= x1 - x0 <= 1.15 * ref_x:
                rows[k] = replace(r, x_start_px=float(x0), x_end_px=float(x1))
                extents[k] = x1 - x0
        # A straight row wider than the others is the page's edge against a dark background (a photo of a
        # screen), straightened by the rectification: every layout's rows of trace span the same width, and a
        # trace's beats leave its zero line (a row of trace widened by ink beside its end is kept).
        rows = [
            r
            for r, lw, ext in zip(rows, longest, extents, strict=True)
            if (
                lw >= 0.5 * ref_w
                or (0.9 * ref_x <= ext <= 1.15 * ref_x and lw >= 0.25 * ref_w and r.strength >= 0.6 * ref_s)
            )
            and not (
                len(rows) > 3
                and ext > max_rel_extent * ref_x
                and _spread_mm(mask, r, 2.0 * px_per_mm, px_per_mm) < 0.3  # within +-2 mm of its line
            )
            # a trace needs room for its waves: a "row" on the image's edge is the edge (a border, a scan's rim)
            and edge_mm * px_per_mm <= r.baseline_y_px <= h - 1 - edge_mm * px_per_mm
        ]
    return _evenly_spaced(rows)


def _evenly_spaced(rows: list[RowBand], min_gap: float = 0.75, max_gap: float = 1.9) -> list[RowBand]:
    """``rows`` without first / last rows off the page's row spacing: every layout prints its rows at one
    pitch, so of four or more rows an end row closer to its neighbour than ``min_gap`` pitches (a label line,
    a footer, a fold's shadow) or further than ``max_gap`` (a header line) is not a row of trace. The pitch is
    the median gap; a rhythm strip printed a little lower than the pitch is kept."""
    rows = list(rows)
    while len(rows) >= 4:
        gaps = np.diff([r.baseline_y_px for r in rows])
        pitch = float(np.median(gaps))
        off = [not (min_gap * pitch <= g <= max_gap * pitch) for g in (gaps[0], gaps[-1])]
        if not any(off):
            break
        # of two offending ends, drop the weaker
        first = off[0] and (not off[1] or rows[0].strength <= rows[-1].strength)
        rows = rows[1:] if first else rows[:-1]
    return rows


def follow_stroke(
    mask: np.ndarray, x: int, narrow: tuple[int, int], band: tuple[int, int], step: int, max_px: int
) -> int:
    """The last column, going from ``x`` in direction ``step`` (+1 right, -1 left) for at most ``max_px`` columns,
    that ink connected to the row's ink at ``x`` reaches: column ``x``'s ink runs within ``band`` (rows
    [lo, hi)) that meet ``narrow`` start the walk, and each next column keeps the runs within ``band`` that touch
    (8-connected) a run kept in the column before; the walk stops at a column with none."""
    w = mask.shape[1]
    lo, hi = band
    if not 0 <= x < w or hi <= lo:
        return x
    runs = true_runs(mask[lo:hi, x]) + lo
    cur = runs[(runs[:, 0] < narrow[1]) & (runs[:, 1] > narrow[0])]
    last = x
    for k in range(1, max_px + 1):
        xx = x + step * k
        if not 0 <= xx < w or not cur.size:
            break
        runs = true_runs(mask[lo:hi, xx]) + lo
        touch = np.zeros(len(runs), bool)
        for a, b in cur:
            touch |= (runs[:, 0] <= b) & (runs[:, 1] >= a)
        cur = runs[touch]
        if cur.size:
            last = xx
    return last


def _merge_split_rows(peaks: list[int], prof: np.ndarray, max_rel_gap: float = 0.5) -> list[int]:
    """Two peaks much closer than the page's row pitch (under ``max_rel_gap`` times the median spacing) are one
    row whose zero line wanders (high gain, baseline drift): merged at their strength-weighted mean y."""
    ys = [float(p) for p in peaks]
    ws = [float(prof[p]) for p in peaks]
    while len(ys) >= 3:
        d = np.diff(ys)
        k = int(np.argmin(d))
        if d[k] >= max_rel_gap * float(np.median(d)):
            break
        w = ws[k] + ws[k + 1]
        ys[k : k + 2] = [(ys[k] * ws[k] + ys[k + 1] * ws[k + 1]) / w]
        ws[k : k + 2] = [max(ws[k], ws[k + 1])]
    return [round(y) for y in ys]


def _stretches(
    mask: np.ndarray, y: float, half_px: float, max_gap_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) columns of the stretches of ink within ``y +- half_px``, gaps up to ``max_gap_px`` bridged
    (empty arrays when there is no ink)."""
    h = mask.shape[0]
    xs = np.flatnonzero(mask[max(0, int(y - half_px)) : min(h, int(y + half_px) + 1)].any(axis=0))
    if xs.size == 0:
        return xs, xs
    gaps = np.flatnonzero(np.diff(xs) > max_gap_px)
    return xs[np.r_[0, gaps + 1]], xs[np.r_[gaps, xs.size - 1]]


def _spread_mm(mask: np.ndarray, row: RowBand, half_px: float, px_per_mm: float) -> float:
    """90th percentile over the row's inked columns of the ink centre's distance from its median height, mm:
    a few tenths for a straight edge, millimetres for a trace, whose beats leave the zero line."""
    h = mask.shape[0]
    y0, y1 = max(0, int(row.baseline_y_px - half_px)), min(h, int(row.baseline_y_px + half_px) + 1)
    band = mask[y0:y1, max(0, int(row.x_start_px)) : int(row.x_end_px) + 1].astype(np.float64)
    n = band.sum(axis=0)
    if not (n > 0).any():
        return 0.0
    centre = (band * np.arange(y0, y1)[:, None]).sum(axis=0)[n > 0] / n[n > 0]
    return float(np.percentile(np.abs(centre - np.median(centre)), 90)) / px_per_mm


def _longest_stretch(
    mask: np.ndarray, y: float, half_px: float, px_per_mm: float, max_gap_mm: float = 3.0
) -> float:
    starts, ends = _stretches(mask, y, half_px, max_gap_mm * px_per_mm)
    return float((ends - starts).max()) if starts.size else 0.0


def row_extent(
    mask: np.ndarray,
    y: float,
    half_px: float,
    px_per_mm: float,
    max_gap_mm: float = 3.0,
    min_piece_mm: float = 5.0,
    max_jump_mm: float = 20.0,
    through_short: bool = False,
) -> tuple[int, int]:
    """Horizontal extent [x0, x1] of a row's trace within ``y +- half_px``: the longest stretch of ink (gaps
    under ``max_gap_mm`` bridged), extended over neighbouring stretches at least ``min_piece_mm`` long that lie
    within ``max_jump_mm`` (a faint trace broken by grid removal is still one row; short labels are not). With
    ``through_short``, shorter pieces in between count too when such a stretch follows them within the jump
    (a thin trace that shading broke into its beats)."""
    starts, ends = _stretches(mask, y, half_px, max_gap_mm * px_per_mm)
    if not starts.size:
        return 0, mask.shape[1] - 1
    k = int(np.argmax(ends - starts))
    long_enough = (ends - starts) >= min_piece_mm * px_per_mm
    jump = max_jump_mm * px_per_mm

    def reach(step: int) -> int:
        last, j = k, k + step
        while 0 <= j < starts.size:
            gap = starts[j] - ends[j - 1] if step > 0 else starts[j + 1] - ends[j]
            if gap > jump or not (long_enough[j] or through_short):
                break
            if long_enough[j]:
                last = j
            j += step
        return last

    return int(starts[reach(-1)]), int(ends[reach(+1)])


def choose_layout(
    rows: list[RowBand], mask: np.ndarray, px_per_mm: float, hint: str | None = None
) -> tuple[str, list[RowBand]]:
    """Layout name and the rows it uses (see module docstring); ``hint`` forces a layout when it fits."""
    n = len(rows)
    if hint is not None:
        spec = LAYOUTS[hint]
        if n >= spec.n_rows:
            return hint, _pick_rows(rows, spec.n_rows)
        raise ValueError(f"layout {hint!r} needs {spec.n_rows} rows of trace, found {n}")
    if n >= 12:
        return "12x1", _pick_rows(rows, 12)
    if n >= 6:
        rows6 = _pick_rows(rows, 6)
        return ("6x2" if _looks_like_two_columns(rows6, mask, px_per_mm) else "3x4+3"), rows6
    if n == 5:
        return "3x4", rows[:3]
    if n == 4:
        return "3x4+II", rows
    if n == 3:
        return "3x4", rows
    raise ValueError(f"found {n} row(s) of trace; a 12-lead layout needs at least 3")


def _pick_rows(rows: list[RowBand], k: int) -> list[RowBand]:
    if len(rows) <= k:
        return rows
    # Keep the k strongest, in page order.
    idx = sorted(np.argsort([-r.strength for r in rows])[:k])
    return [rows[i] for i in idx]


def _looks_like_two_columns(rows: list[RowBand], mask: np.ndarray, px_per_mm: float) -> bool:
    """Six rows: ``6x2`` or ``3x4+3``? In ``3x4+3`` the second row starts with lead II (0-2.5 s) and the fourth
    row is the lead-II rhythm strip, so over the first quarter of the page the two rows trace the same curve; in
    ``6x2`` the fourth row is aVR = -(I + II) / 2 over the same time. Compares the rows' ink centroid profiles."""
    if len(rows) < 4:
        return False
    x_start = max(r.x_start_px for r in (rows[1], rows[3]))
    x0 = int(x_start + 12.0 * px_per_mm)  # past a calibration pulse, identical on every row
    x1 = int(x_start + 0.22 * min(rows[1].width_px, rows[3].width_px))
    pitch = float(np.median(np.diff([r.baseline_y_px for r in rows])))
    profiles = []
    for r in (rows[1], rows[3]):
        y0 = max(0, int(r.baseline_y_px - 0.45 * pitch))
        y1 = min(mask.shape[0], int(r.baseline_y_px + 0.45 * pitch))
        band = mask[y0:y1, x0:x1].astype(np.float64)
        n = band.sum(axis=0)
        ys = np.arange(y0, y1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            profiles.append(np.where(n > 0, (band * ys[:, None]).sum(axis=0) / n - r.baseline_y_px, np.nan))
    a, b = profiles
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 20 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return False
    corr = float(np.corrcoef(a[ok], b[ok])[0, 1])
    return corr < 0.6


def build_segments(
    name: str,
    rows: list[RowBand],
    px_per_s: float,
    duration_s: float,
    page_height_px: int,
    snap_width_tol: float = 0.015,
    sample_px: float = 0.0,
) -> list[LeadSegment]:
    """Lead segments of layout ``name`` on ``rows`` (one per printed lead, rhythm strips included).

    A grid row's columns are ``(row width + sample_px) / n_cols`` wide (a row's ink runs from its first sample
    to its last, one sample step, ``sample_px``, short of ``n_cols`` whole columns), or exactly
    ``duration / n_cols`` seconds when that agrees within ``snap_width_tol`` (relative)."""
    spec = LAYOUTS[name]
    segs: list[LeadSegment] = []
    n_grid = len(spec.grid)
    n_cols = spec.n_cols
    for r, row in enumerate(rows[: spec.n_rows]):
        up = rows[r - 1].baseline_y_px if r > 0 else None
        dn = rows[r + 1].baseline_y_px if r + 1 < len(rows) else None
        pitch = (
            np.median(np.diff([b.baseline_y_px for b in rows])) if len(rows) > 1 else 40.0 * px_per_s / 25.0
        )
        reach = 0.95
        y_lo = int(
            max(0, row.baseline_y_px - reach * ((row.baseline_y_px - up) if up is not None else 1.5 * pitch))
        )
        y_hi = int(
            min(
                page_height_px,
                row.baseline_y_px + reach * ((dn - row.baseline_y_px) if dn is not None else 1.2 * pitch),
            )
        )
        if r < n_grid:
            col_s = duration_s / n_cols
            width = (row.width_px + sample_px) / n_cols
            # Columns are exactly one window wide when the row spans the whole recording: prefer the calibrated
            # width when the measured one agrees (the measured ends are only good to a pixel or two).
            nominal = col_s * px_per_s
            if abs(width / nominal - 1.0) <= snap_width_tol:
                width = nominal
            window = _window_s(col_s, width, px_per_s)
            for c, lead in enumerate(spec.grid[r]):
                x0 = row.x_start_px + c * width
                segs.append(
                    LeadSegment(lead, r, c, c * col_s, window, x0, x0 + width, row.baseline_y_px, y_lo, y_hi)
                )
        else:
            lead = spec.rhythm[r - n_grid]
            window = _window_s(duration_s, row.width_px, px_per_s)
            segs.append(
                LeadSegment(
                    lead, r, 0, 0.0, window, row.x_start_px, row.x_end_px, row.baseline_y_px, y_lo, y_hi
                )
            )
    return segs


def _window_s(nominal_s: float, width_px: float, px_per_s: float, tol: float = 0.08) -> float:
    """Seconds a segment shows: the nominal window, unless the printed width is clearly shorter (narrow paper at
    50 mm/s) -- a trace ending a little early (a flat tail lost in the grid) still gets its whole window."""
    shown = (width_px + 1.0) / px_per_s
    return nominal_s if shown >= (1.0 - tol) * nominal_s else shown


def isoelectric_level(y: np.ndarray, bin_px: float = 1.0) -> float:
    """The most frequent traced y (the isoelectric line): the mode of a smoothed histogram, sub-pixel."""
    y = np.asarray(y, np.float64)
    y = y[np.isfinite(y)]
    if y.size == 0:
        return float("nan")
    lo = np.floor(y.min()) - 2
    idx = np.round((y - lo) / bin_px).astype(np.int64)  # bin k is centred on lo + k * bin_px
    hist = np.bincount(idx).astype(np.float64)
    hist = np.convolve(hist, [0.25, 0.5, 0.25], mode="same")
    k = int(np.argmax(hist))
    off = 0.0
    if 0 < k < hist.size - 1:
        a, b, c = hist[k - 1], hist[k], hist[k + 1]
        den = a - 2 * b + c
        off = 0.5 * (a - c) / den if den < 0 else 0.0
    return float(lo + (k + off) * bin_px)


def stroke_end(
    weight: np.ndarray, y_lo: int, y_hi: int, x_ink: int, stroke_px: float, side: str = "start"
) -> float | None:
    """Sub-pixel x of the first (or last) drawn point of a trace whose ink begins (ends) near column ``x_ink``.

    The outermost inked column is covered only partly, by the fraction ``f`` of its width given by its darkest
    pixel's coverage weight; the stroke's edge lies ``f`` px inside the column's outer border and the first point
    half a stroke width further in (round or square caps). None when there is no ink there.
    """
    step = 1 if side == "start" else -1
    w = weight.shape[1]
    # A faint partial column just outside the mask belongs to the cap too.
    if 0 <= x_ink - step < w and float(weight[y_lo:y_hi, x_ink - step].max(initial=0.0)) > 0.03:
        x_ink -= step
    if not 0 <= x_ink < w:
        return None
    frac = float(weight[y_lo:y_hi, x_ink].max(initial=0.0))
    if frac <= 0.0:
        return None
    edge = x_ink + step * (0.5 - min(frac, 1.0))
    return float(edge + step * stroke_px / 2.0)
