"""Rows and layout of a page: the rows of trace found in its ink, the layout they make, and where each row's
first and last samples lie once the pulses and scales are known.

* :func:`ink_and_rows`: the page's ink (:func:`~ecgdl.classical.ink.page_ink_map`) and its rows of trace
  (:func:`~ecgdl.classical.layout.find_rows`); a faint trace that gives fewer than three rows, or rows too
  short to be rows of trace (black text lines over a grey trace), gets a second try at a lower ink threshold.
  :func:`layout_rows` picks the layout (:func:`~ecgdl.classical.layout.choose_layout`).
* :func:`settle_rows`: a straight lead-in or lead-out longer than ``min_straight_lead_s`` (a grid line or rule
  running into the trace, :func:`~ecgdl.classical.scales.straight_lead`) is cut; rows reaching beyond the
  others are cut back (:func:`align_rows`); each row's ends are placed at its first and last samples, after a
  start pulse or before an end pulse (:func:`trim_row`); a row whose ends lie far from all the others' takes
  theirs (:func:`agree_row_ends`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ecgdl.classical.gridremoval import InkMap
from ecgdl.classical.ink import page_ink_map
from ecgdl.classical.layout import choose_layout, find_rows, stroke_end
from ecgdl.classical.page import Pulse, RowBand
from ecgdl.digitizer import DigitizationError

#: Every layout's rows hold the whole recording (10 s: 250 mm at 25 mm/s, 125 mm even at 12.5 mm/s); rows of
#: ink found shorter than this are text lines.
MIN_ROW_MM = 100.0

__all__ = [
    "agree_row_ends",
    "align_rows",
    "fit_to_recording",
    "ink_and_rows",
    "layout_rows",
    "row_pitch_mm",
    "settle_rows",
    "trim_row",
]


def ink_and_rows(
    page: np.ndarray,
    px_per_mm: float,
    prob: np.ndarray | None,
    follow_mm: float,
    paper: np.ndarray | None = None,
    prob_mode: str = "replace",
) -> tuple[InkMap, list[RowBand]]:
    """The page's ink and its rows of trace (see the module docstring); ``prob``: a learned trace probability
    instead of the page's colours; ``follow_mm``: how far a row's ends are followed through continuing ink;
    ``paper``: the page's paper mask (None: all of it is paper); ``prob_mode``: how ``prob`` is used
    (:func:`~ecgdl.classical.ink.page_ink_map`)."""
    ink = page_ink_map(page, px_per_mm, None, prob, paper, prob_mode)
    rows = find_rows(ink.mask, px_per_mm, follow_mm=follow_mm)
    short = _short_rows(rows, px_per_mm)
    if len(rows) < 3 or short:
        faint = page_ink_map(page, px_per_mm, max(0.1, 0.45 * ink.threshold), prob, paper, prob_mode)
        rows_f = find_rows(faint.mask, px_per_mm, follow_mm=follow_mm)
        rows_of_trace = len(rows_f) >= 3 and not _short_rows(rows_f, px_per_mm)
        if rows_of_trace or (len(rows) < 3 and len(rows_f) > len(rows)):
            ink, rows = faint, rows_f
    return ink, rows


def _short_rows(rows: list[RowBand], px_per_mm: float, min_mm: float = MIN_ROW_MM) -> bool:
    """Whether the rows found are too short for rows of trace (their median extent under ``min_mm``): lines of
    black header text win over a faint grey trace that the page's ink threshold, set by the text, left out."""
    return bool(rows) and float(np.median([r.width_px for r in rows])) < min_mm * px_per_mm


def layout_rows(
    rows: list[RowBand], mask: np.ndarray, px_per_mm: float, layout: str | None
) -> tuple[str, list[RowBand]]:
    """The layout's name and the rows it uses (``layout`` forces one); a :class:`DigitizationError` when the
    rows make none."""
    try:
        return choose_layout(rows, mask, px_per_mm, layout)
    except ValueError as exc:
        raise DigitizationError(f"layout: {exc}") from exc


def row_pitch_mm(rows: list[RowBand], px_per_mm: float) -> float:
    """Median distance between neighbouring rows' zero lines, mm (0 for a single row)."""
    return float(np.median(np.diff([r.baseline_y_px for r in rows]))) / px_per_mm if len(rows) > 1 else 0.0


def align_rows(rows: list[RowBand], ppm: float, tol_mm: float = 1.5) -> list[RowBand]:
    """Rows of a page start and end at the same x: a row whose ink reaches more than ``tol_mm`` beyond the
    others (a grid-line remnant or a label touching it) is cut back to the median (needs at least three
    rows)."""
    if len(rows) < 3:
        return rows
    x0 = float(np.median([r.x_start_px for r in rows]))
    x1 = float(np.median([r.x_end_px for r in rows]))
    tol = tol_mm * ppm
    out = []
    for r in rows:
        a = x0 if abs(r.x_start_px - x0) > tol else r.x_start_px
        b = x1 if abs(r.x_end_px - x1) > tol else r.x_end_px
        out.append(RowBand(r.baseline_y_px, a, b, r.strength))
    return out


def agree_row_ends(rows: list[RowBand], tol_px: float) -> list[RowBand]:
    """Rows of a page print the same stretch of time: a row whose first (last) sample lies further from the
    median of all the other rows' than ``tol_px`` and than three times their spread takes that median (a QRS
    tip taken for a calibration pulse cut one row short). Ends that drift steadily down the page (a photo's
    residual skew, a few pixels per row) stay within three spreads and are kept, as is every end within
    ``tol_px`` (measured to a fraction of a pixel). Needs at least three rows."""
    if len(rows) < 3:
        return rows
    out = list(rows)
    for attr in ("x_start_px", "x_end_px"):
        xs = np.array([getattr(r, attr) for r in rows])
        for i in range(len(rows)):
            others = np.delete(xs, i)
            if abs(xs[i] - np.median(others)) > max(tol_px, 3.0 * np.ptp(others)):
                out[i] = replace(out[i], **{attr: float(np.median(others))})
    return out


def trim_row(
    row: RowBand,
    pulses: list[Pulse],
    ink: InkMap,
    band: tuple[int, int],
    ppm: float,
    px_per_s: float,
    stroke_px: float,
    sample_px: float = 0.0,
    *,
    pulse_s: float = 0.2,
    pulse_overlap_samples: float = 1.5,
    gaps: bool = True,
) -> RowBand:
    """Where the first and the last sample of a row lie (sub-pixel: at the stroke's centre).

    After a start pulse the signal starts past a blank gap within 3 mm (when ``gaps``; see :func:`settle_rows`),
    else ``pulse_overlap_samples`` sample
    steps (``sample_px`` each) before the pulse's falling edge, that edge taken as rising edge + the nominal
    pulse width (``pulse_s``) when the measured width agrees. Before an end pulse it ends past a blank gap
    likewise, else one step before the pulse's rising edge (where the next sample would be). An end without a
    pulse lies half a stroke inside the ink's end (:func:`~ecgdl.classical.layout.stroke_end`).
    """
    half = max(0.0, (stroke_px - 1.0) / 2.0)
    x0, x1 = row.x_start_px + half, row.x_end_px - half
    sides = {p.side for p in pulses}
    if "start" not in sides:
        e0 = stroke_end(ink.weight, band[0], band[1], round(row.x_start_px), stroke_px, "start")
        x0 = e0 if e0 is not None and abs(e0 - x0) < stroke_px else x0
    if "end" not in sides:
        e1 = stroke_end(ink.weight, band[0], band[1], round(row.x_end_px), stroke_px, "end")
        x1 = e1 if e1 is not None and abs(e1 - x1) < stroke_px else x1
    cols = ink.mask[band[0] : band[1]].any(axis=0)
    reach = round(3.0 * ppm)
    overlap_px = pulse_overlap_samples * sample_px
    nominal = pulse_s * px_per_s
    for p in pulses:
        width_ok = abs(p.width_px / nominal - 1.0) < 0.15
        if p.side == "start":
            fall = p.x_rise_px + nominal if width_ok else p.x_fall_px
            a = int(np.ceil(p.x_fall_px + stroke_px / 2.0)) + 1
            past = _past_gap(cols[a : a + reach]) if gaps else None
            start = fall - overlap_px if past is None else float(a + past) + half
            # the lead may begin inside the fall's ramp, left of where the row's own ink was found to start
            x0 = max(row.x_start_px - overlap_px - 1.0, start)
        else:
            rise = p.x_fall_px - nominal if width_ok else p.x_rise_px
            b = int(np.floor(p.x_rise_px - stroke_px / 2.0)) - 1
            past = _past_gap(cols[max(0, b - reach + 1) : b + 1][::-1]) if gaps else None
            end = rise - sample_px if past is None else float(b - past) - half
            x1 = min(row.x_end_px, end)
    return RowBand(row.baseline_y_px, float(x0), float(x1), row.strength)


def _past_gap(inked: np.ndarray) -> int | None:
    """Index of the first inked column after the first blank one in ``inked`` (bool, per column), or None when
    no column is blank or no ink follows."""
    blank = np.flatnonzero(~inked)
    after = np.flatnonzero(inked[blank[0] :]) if blank.size else blank
    return int(blank[0] + after[0]) if after.size else None


def settle_rows(
    rows: list[RowBand],
    pulses: dict[int, list[Pulse]],
    straight_cuts: dict[tuple[int, str], float],
    ink: InkMap,
    bands: tuple[tuple[int, int], ...],
    px_per_mm_x: float,
    px_per_s: float,
    stroke_px: float,
    sample_px: float,
    *,
    min_straight_lead_s: float,
    row_ends_tol_mm: float,
    pulse_s: float,
    pulse_overlap_samples: float,
    recording_px: float | None = None,
) -> list[RowBand]:
    """Each row's extent from its first sample to its last (see the module docstring): ``straight_cuts``
    longer than ``min_straight_lead_s`` applied (decided in seconds once the speed is known: at 50 mm/s a flat
    lead-in of 12 mm is only 0.24 s), rows aligned, trimmed at their pulses (:func:`trim_row`) and, when
    ``row_ends_tol_mm`` > 0, their ends agreed (:func:`agree_row_ends`), and, with ``recording_px`` (the
    recording's width on the page, when the grid gives it), no longer than the recording
    (:func:`fit_to_recording`). ``sample_px``: one sample step, px."""
    rows = list(rows)
    for (i, side), cut in straight_cuts.items():
        r = rows[i]
        if abs(cut - (r.x_start_px if side == "start" else r.x_end_px)) < min_straight_lead_s * px_per_s:
            continue
        rows[i] = RowBand(
            r.baseline_y_px,
            cut if side == "start" else r.x_start_px,
            cut if side == "end" else r.x_end_px,
            r.strength,
        )
    rows = align_rows(rows, px_per_mm_x)

    def trimmed(gaps: bool) -> list[RowBand]:
        return [
            trim_row(
                row,
                pulses.get(i, []),
                ink,
                bands[i],
                px_per_mm_x,
                px_per_s,
                stroke_px,
                sample_px,
                pulse_s=pulse_s,
                pulse_overlap_samples=pulse_overlap_samples,
                gaps=gaps,
            )
            for i, row in enumerate(rows)
        ]

    rows = _gaps_alike_on_every_row(trimmed(gaps=True), trimmed(gaps=False), pulses)
    if row_ends_tol_mm > 0:
        rows = agree_row_ends(rows, row_ends_tol_mm * px_per_mm_x)
    if recording_px is not None:
        rows = fit_to_recording(rows, pulses, recording_px - sample_px)
    return rows


def _gaps_alike_on_every_row(
    with_gaps: list[RowBand], without: list[RowBand], pulses: dict[int, list[Pulse]], tol_px: float = 1.5
) -> list[RowBand]:
    """The rows' ends past the blank gaps after (before) their pulses where the page has such gaps, else at
    the pulses: a machine leaves the same gap on every row, while a hole that noise leaves in a trace falls on
    one row here and another there. A side keeps its gaps when every row with a pulse on that side shows one,
    all within ``tol_px`` of the same width (one row with a pulse: its own gap is kept)."""
    out = [replace(r) for r in without]
    for side, attr in (("start", "x_start_px"), ("end", "x_end_px")):
        rows = [i for i, ps in pulses.items() if any(p.side == side for p in ps) and i < len(out)]
        if not rows:
            continue
        shift = np.array([getattr(with_gaps[i], attr) - getattr(without[i], attr) for i in rows])
        if np.all(np.abs(shift) > 0.5) and np.ptp(shift) <= 2 * tol_px:
            for i in rows:
                setattr(out[i], attr, getattr(with_gaps[i], attr))
    return out


def fit_to_recording(
    rows: list[RowBand],
    pulses: dict[int, list[Pulse]],
    width_px: float,
    tol: float = 0.015,
    max_excess: float = 0.1,
) -> list[RowBand]:
    """Rows hold the recording and no more: a row that begins at a start pulse (or ends at an end pulse) and
    whose ink runs on past the recording's ``width_px`` (first to last sample) by more than ``tol`` and at most
    ``max_excess`` (relative) is cut to that width at its other end. The ink beyond is not signal: a crease's
    shading or noise joined to the trace, or the page's edge. (A row without a pulse, or with one at each
    end, is left as found: nothing tells which end to trust.)"""
    out = []
    for i, r in enumerate(rows):
        sides = {p.side for p in pulses.get(i, [])}
        excess = r.width_px / width_px - 1.0
        if len(sides) != 1 or not (tol < excess <= max_excess):
            out.append(r)
        elif sides == {"start"}:
            out.append(replace(r, x_end_px=r.x_start_px + width_px))
        else:
            out.append(replace(r, x_start_px=r.x_end_px - width_px))
    return out
