"""Separate the trace from the grid, labels and header: a per-pixel ink weight in [0, 1] and a binary ink mask.

* Colour: the trace is printed dark in *every* channel while grid lines are coloured (red, pink, green, blue ...),
  so darkness is measured on the per-pixel maximum channel, relative to the local paper brightness (photos have
  uneven lighting). A red grid line has a bright red channel and vanishes.
* Grey / black-and-white grids: whatever grid darkness survives is removed by subtracting, tile by tile, each
  column's and each row's low percentile (a grid line darkens its whole column or row inside the tile, a trace
  only a few pixels of it), then by morphologically opening away long perfectly straight lines.
* Threshold: Otsu's threshold on the remaining darkness (bounded) gives the mask; the weight used for sub-pixel
  centroids is the darkness scaled linearly between a faint floor and the trace's solid core (for an
  anti-aliased stroke that is the pixel's coverage).
* Text and labels are left to the layout/trace stages, which know where the traces run;
  :func:`remove_small_components` drops isolated specks and characters away from them.
* :func:`with_split_strokes` adds thin strokes that straddle two pixels (each half below the threshold); the
  pulse search uses it on rows where the plain mask shows no pulse.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "InkMap",
    "extract_ink",
    "max_channel_darkness",
    "remove_separator_bars",
    "remove_small_components",
    "suppress_grid_lines",
    "text_like_components",
    "with_split_strokes",
]


@dataclass
class InkMap:
    """``weight`` float32 H x W in [0, 1] (stroke coverage, for centroids); ``mask`` bool H x W (trace pixels);
    ``threshold`` the darkness separating them; ``grid_residual`` how much grid darkness was removed."""

    weight: np.ndarray
    mask: np.ndarray
    threshold: float
    grid_residual: float = 0.0


def max_channel_darkness(image_rgb: np.ndarray, paper_window_px: int = 0) -> np.ndarray:
    """1 - max(R, G, B) / local paper brightness, float32 in [0, 1] (coloured grid lines come out near 0).

    ``paper_window_px`` is the scale over which paper brightness is estimated (0: automatic, ~1/15 of the
    shorter side).
    """
    v = cv2.max(cv2.max(image_rgb[:, :, 0], image_rgb[:, :, 1]), image_rgb[:, :, 2])
    h, w = v.shape
    win = paper_window_px or max(16, min(h, w) // 15)
    # Paper brightness: a max filter (ignores ink and lines) on a small copy, smoothed and scaled back up.
    f = max(1, win // 8)
    small = cv2.resize(v, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA) if f > 1 else v
    k = max(3, (win // f) | 1)
    paper = cv2.dilate(small, np.ones((k, k), np.uint8))
    paper = cv2.GaussianBlur(paper.astype(np.float32), (0, 0), k / 2.0)
    if f > 1:
        paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    paper = np.maximum(paper, 40.0)
    dark = 1.0 - v.astype(np.float32) / paper
    return np.clip(dark, 0.0, 1.0)


def _percentile_valid(values: np.ndarray, valid: np.ndarray | None, q: float, axis: int) -> np.ndarray:
    """``np.percentile(values, q, axis)`` over the ``valid`` pixels only (all when None; a line without any
    valid pixel gives 0). Sorting with the others set to NaN (sorted last) and indexing each line's own count
    is what ``np.nanpercentile`` does, in one vectorised step instead of one call per line."""
    if valid is None:
        return np.percentile(values, q, axis=axis)
    srt = np.sort(np.where(valid, values, np.nan), axis=axis)
    n = valid.sum(axis=axis)
    pos = np.clip(q / 100.0 * (n - 1), 0, None)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    a = np.take_along_axis(srt, np.expand_dims(lo, axis), axis).squeeze(axis)
    b = np.take_along_axis(srt, np.expand_dims(hi, axis), axis).squeeze(axis)
    out = a + (pos - lo) * (b - a)
    return np.where(n > 0, np.nan_to_num(out), 0.0).astype(values.dtype)


def suppress_grid_lines(
    dark: np.ndarray, tile_px: int = 256, percentile: float = 30.0, valid: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Subtract column and row darkness floors (grid lines) from ``dark``; returns (cleaned, residual).

    In a horizontal strip ``tile_px`` tall, a vertical grid line darkens nearly every pixel of its column, so the
    column's ``percentile`` of darkness measures the line; likewise rows within vertical strips. A trace covers
    few pixels of a column or row of a strip (it is never that straight for that long). The floors are capped at
    the grid's typical darkness so that a trace segment lying exactly on a grid line keeps its excess darkness,
    and pixels much darker than the grid keep all of it. ``residual`` is the mean floor removed. ``valid``:
    the pixels that are paper (None: all); the floors are measured on those only (a background painted out
    has no grid lines and would hide them).
    """
    h, w = dark.shape
    t = max(32, int(tile_px))
    floor_c = np.empty_like(dark)
    for y0 in range(0, h, t):
        y1 = min(h, y0 + t) if h - (y0 + t) >= t // 2 else h
        v = None if valid is None else valid[y0:y1]
        floor_c[y0:y1] = _percentile_valid(dark[y0:y1], v, percentile, 0)[None, :]
        if y1 == h:
            break
    floor_r = np.empty_like(dark)
    for x0 in range(0, w, t):
        x1 = min(w, x0 + t) if w - (x0 + t) >= t // 2 else w
        v = None if valid is None else valid[:, x0:x1]
        floor_r[:, x0:x1] = _percentile_valid(dark[:, x0:x1], v, percentile, 1)[:, None]
        if x1 == w:
            break
    floor = np.maximum(floor_c, floor_r)
    cap = float(np.percentile(floor[:: max(1, h // 200), :: max(1, w // 200)], 99.0))
    floor = np.minimum(floor, cap)
    cleaned = np.clip(dark - floor, 0.0, 1.0)
    # A pixel far darker than any grid line is ink even where the trace runs along a line (the row floor
    # there is the trace itself): keep its full darkness.
    solid = dark >= min(0.95, cap + 0.3)
    cleaned[solid] = dark[solid]
    return cleaned, float(floor.mean())


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=128, range=(0.0, 1.0))
    hist = hist.astype(np.float64)
    total = hist.sum()
    if total <= 0:
        return 0.5
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = total - w0
    m0 = np.cumsum(hist * centres)
    mt = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mt * w0 / total - m0) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = 0
    return float(centres[int(np.argmax(between))])


def extract_ink(
    image_rgb: np.ndarray,
    *,
    px_per_mm: float | None = None,
    min_threshold: float = 0.25,
    max_threshold: float = 0.55,
    suppress_grid: bool | None = None,
    remove_long_lines: bool = True,
    ramp: float = 0.15,
    threshold: float | None = None,
    paper: np.ndarray | None = None,
) -> InkMap:
    """Trace ink of a (rectified) page; see module docstring.

    ``paper``: bool mask of the page's paper (:mod:`~ecgdl.classical.paper`; None: all of it): grid floors
    are measured there, and nothing outside it is ink.
    ``suppress_grid``: None decides from the image (on when the grid survives the max-channel darkness).
    ``ramp``: darkness below which a pixel carries no weight (at most half the threshold).
    ``threshold``: use this darkness threshold instead of the automatic one.
    """
    dark = max_channel_darkness(image_rgb)
    if paper is not None:
        dark = np.where(paper, dark, np.float32(0.0))
    h, w = dark.shape
    residual = 0.0
    sample = dark[:: max(1, h // 300), :: max(1, w // 300)]
    if suppress_grid is None:
        # A surviving grid shows as many moderately dark pixels.
        suppress_grid = float(np.mean((sample > 0.12) & (sample < 0.6))) > 0.04
    if suppress_grid:
        tile = int(max(64, 30 * (px_per_mm or 4.0)))
        dark, residual = suppress_grid_lines(dark, tile, valid=paper)
        sample = dark[:: max(1, h // 300), :: max(1, w // 300)]
    vals = sample[sample > 0.08]
    thr = _otsu(vals) if vals.size > 100 else 0.5
    thr = float(np.clip(thr, min_threshold, max_threshold)) if threshold is None else float(threshold)
    mask = dark >= thr
    # Weight ~ stroke coverage of the pixel (anti-aliasing blends linearly): darkness scaled so that the
    # trace's solid core is 1, with the faint floor (grid residue, noise) at 0.
    core = float(np.percentile(sample[sample >= thr], 75)) if (sample >= thr).sum() > 20 else 1.0
    floor = min(ramp, 0.5 * thr)
    weight = np.clip((dark - floor) / max(core - floor, 1e-3), 0.0, 1.0).astype(np.float32)
    if remove_long_lines:
        mask, weight = _remove_long_lines(mask, weight)
    return InkMap(weight, mask, thr, residual)


def long_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """Bool mask of the horizontal runs of ``mask`` that are at least ``min_len`` pixels long (run-length based,
    linear time; use ``long_runs(mask.T, n).T`` for vertical runs)."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1).ravel()
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    keep = (ends - starts) >= min_len
    # +1 where a long run starts, -1 just after it ends; the indices are distinct (runs are separated), so plain
    # fancy-index assignment is enough (np.add.at is needless and slow).
    out = np.zeros(h * (w + 1), np.int8)
    out[starts[keep]] = 1
    out[ends[keep]] = -1
    return np.cumsum(out.reshape(h, w + 1), axis=1, dtype=np.int8)[:, :w].astype(bool)


def _remove_long_lines(mask: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop perfectly straight horizontal runs longer than 35 % of the width and vertical runs longer than 45 %
    of the height (grid lines, page borders, table rules); ECG traces never stay that straight that long."""
    h, w = mask.shape
    lines = long_runs(mask, max(15, int(0.35 * w))) | long_runs(mask.T, max(15, int(0.45 * h))).T
    if not lines.any():
        return mask, weight
    mask = mask & ~lines
    weight = weight.copy()
    weight[lines] = 0.0
    return mask, weight


def with_split_strokes(ink: InkMap, pair: float = 1.2) -> InkMap:
    """``ink`` with thin strokes that straddle two pixels added to the mask: a line about one pixel wide lying
    half-way between two columns (or rows) gives each only half its darkness, and both may miss the threshold.
    A pixel and a neighbour that each carry at least half the mask's weight threshold and together ``pair``
    times it are added (pixels of removed long lines carry no weight and stay out)."""
    if not ink.mask.any():
        return ink
    w = ink.weight
    t = float(w[ink.mask].min())
    nb = np.zeros_like(w)
    nb[:, 1:] = np.maximum(nb[:, 1:], w[:, :-1])
    nb[:, :-1] = np.maximum(nb[:, :-1], w[:, 1:])
    nb[1:] = np.maximum(nb[1:], w[:-1])
    nb[:-1] = np.maximum(nb[:-1], w[1:])
    split = (np.minimum(w, nb) >= 0.5 * t) & (w + nb >= pair * t)
    return InkMap(w, ink.mask | split, ink.threshold, ink.grid_residual)


def remove_small_components(
    mask: np.ndarray, min_extent_px: int, keep_near: np.ndarray | None = None
) -> np.ndarray:
    """Drop 8-connected components whose bounding box is smaller than ``min_extent_px`` in both directions,
    unless they touch ``keep_near`` (a bool mask, e.g. the neighbourhood of detected traces)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask
    small = (stats[:, cv2.CC_STAT_WIDTH] < min_extent_px) & (stats[:, cv2.CC_STAT_HEIGHT] < min_extent_px)
    small[0] = False
    if keep_near is not None:
        touching = np.unique(labels[keep_near & mask])
        small[touching] = False
    return mask & ~small[labels]


def remove_separator_bars(
    ink: InkMap,
    stroke_px: float,
    px_per_mm: float,
    *,
    min_height_mm: float = 2.0,
    max_height_mm: float = 16.0,
    max_width_mm: float = 1.5,
    min_fill: float = 0.85,
    match_px: int = 2,
) -> tuple[InkMap, list[tuple[int, int, int, int]]]:
    """Blank the short, solid vertical bars that some printers put between leads (lead separators).

    A bar survives an opening with a box wider than the trace stroke and at least ``min_height_mm`` tall, is a
    nearly perfect rectangle (``min_fill`` of its bounding box inked) and ends cleanly (no ink continuing right
    above or below it); a QRS spike, even one touching a bar, is not. A bar that a steep wave runs into (ink above
    or below it: a QRS at the column boundary) is removed too when it has the size of two clean bars of the page
    (within ``match_px``; a column or two wider where the wave runs along its side) and the x of a clean bar or
    of another such blob: the printer's separators repeat down the page at the column starts, all alike, a
    spike's solid core does not. Only the bar goes; the wave's ink above or below it stays for the tracer.
    Returns the cleaned ink and the removed boxes (x, y, w, h).
    """
    kw = max(3, int(np.ceil(1.6 * stroke_px)) + 1)
    kh = max(3, round(min_height_mm * px_per_mm))
    m8 = ink.mask.astype(np.uint8)
    opened = cv2.morphologyEx(m8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (kw, kh)))
    if not opened.any():
        return ink, []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    boxes = []
    touched = []  # bar-shaped, with ink running on above or below
    rect: list[tuple[int, int, int, int]] = []
    remove = np.zeros(n, bool)
    probe = max(2, round(0.6 * px_per_mm))
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if not (
            h <= max_height_mm * px_per_mm
            and w <= max_width_mm * px_per_mm
            and h >= 2.5 * w
            and area >= min_fill * w * h
        ):
            continue
        # A bar ends cleanly: little ink continues right above or below it (a spike next to a bar would).
        above = ink.mask[max(0, y - probe) : y, x : x + w]
        below = ink.mask[y + h : y + h + probe, x : x + w]
        if (above.size and above.mean() > 0.35) or (below.size and below.mean() > 0.35):
            touched.append(i)
            continue
        remove[i] = True
        boxes.append((int(x), int(y), int(w), int(h)))
    # Bar-shaped blobs with ink running on: the size of two clean bars (a wave running along a bar's side may
    # widen the blob by a column or two) and the x of a clean bar or of another such blob (bars repeat down the
    # page at the column starts; all those of one column may be touched).
    if len(boxes) >= 2:
        bar_w = int(np.median([b[2] for b in boxes]))
        cands = []
        for i in touched:
            x, y, w, h = (int(v) for v in stats[i, :4])
            alike = sum(abs(bw - bar_w) <= match_px and abs(bh - h) <= match_px for _, _, bw, bh in boxes)
            if alike >= 2 and bar_w <= w <= bar_w + match_px:
                cands.append((x, y, w, h))
        for k, (x, y, w, h) in enumerate(cands):
            others = [b[0] for b in boxes] + [c[0] for j, c in enumerate(cands) if j != k]
            if not any(abs(ox - x) <= match_px for ox in others):
                continue
            # the bar's own columns: the bar_w-wide window of the blob's columns inked over most rows
            fill = ink.mask[y : y + h, x : x + w].mean(axis=0)
            starts = range(w - bar_w + 1)
            x0 = x + max(starts, key=lambda o: float(fill[o : o + bar_w].sum()))
            rect.append((x0, y, bar_w, h))
    if not boxes:
        return ink, []
    bar = remove[labels]
    # Grow by one pixel to take the anti-aliased rim too.
    bar = cv2.dilate(bar.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    for x, y, w, h in rect:  # exactly the bar, so the wave's ink beside, above and below it stays
        bar[y : y + h, x : x + w] = True
    boxes.extend(rect)
    weight = ink.weight.copy()
    weight[bar] = 0.0
    return InkMap(weight, ink.mask & ~bar, ink.threshold, ink.grid_residual), boxes


def text_like_components(
    mask: np.ndarray, px_per_mm: float, *, max_height_mm: float = 7.0, max_width_mm: float = 12.0
) -> np.ndarray:
    """Bool mask of the ink components small enough to be characters or labels (both bounding-box sides under
    the limits). Trace pieces are long; a label that touches a trace is part of the trace's component and is not
    flagged."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(mask, dtype=bool)
    small = (stats[:, cv2.CC_STAT_HEIGHT] <= max_height_mm * px_per_mm) & (
        stats[:, cv2.CC_STAT_WIDTH] <= max_width_mm * px_per_mm
    )
    small[0] = False
    return small[labels]
