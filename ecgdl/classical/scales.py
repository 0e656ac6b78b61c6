"""Scales and pulses: the calibration pulses at the rows' ends, and the page's px/s and px/mV from them.

* :func:`find_row_pulses`: each row's start and end are traced (up to 16 mm beyond its ink) and searched for a
  1 mV calibration pulse (:func:`~ecgdl.classical.pulse.detect_pulse`). A row without one is searched again
  with thin strokes that straddle two pixels added to the ink, then also with the ink more than 2 mm below its
  zero line left out (the row below's tall pulse can top out just under it). A row end without a pulse whose
  ink runs perfectly straight for 12 mm is noted (a grid line or rule running into the trace, cut once the
  speed is known: :func:`~ecgdl.classical.rows.settle_rows`).
* :func:`grid_checked_by_pulses`: a comb along one axis only, far from the whole-page scale, that no pulse
  agrees with is the beats of a steady rhythm on a gridless page, not a grid.
* :func:`page_scales`: with a grid, px/s = px/mm (x) * speed and px/mV = px/mm (y) * gain, speed and gain from
  the pulses when there are some, else what the page prints (:mod:`~ecgdl.classical.printed`), else the
  defaults; pulses none of which has a standard gain or speed at the grid's scale are dropped first
  (:func:`standard_pulses_only`). Without a grid, the pulses give px/mV (median height) and px/s directly (the
  narrower half of the widths: a lead ending on a steep wave at a pulse only widens it); without either, the
  rows are taken to span the whole recording at the default speed and gain.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ecgdl.classical.calibration import GridCalibration, calibrate_from_layout, page_prior_px_per_mm
from ecgdl.classical.gridremoval import InkMap, text_like_components, with_split_strokes
from ecgdl.classical.ink import PageInk
from ecgdl.classical.page import Pulse, RowBand
from ecgdl.classical.printed import PrintedScales, read_printed_scales
from ecgdl.classical.pulse import (
    STANDARD_GAINS_MM_PER_MV,
    STANDARD_SPEEDS_MM_PER_S,
    detect_pulse,
    gain_from_pulse,
    refine_pulse_edges,
    snap,
    speed_from_pulse,
)
from ecgdl.classical.trace import RowTrace
from ecgdl.classical.tracing import RowTracer
from ecgdl.constants import STANDARD_GAIN_MM_PER_MV, STANDARD_SPEED_MM_PER_S

__all__ = [
    "ScaleRules",
    "Scales",
    "find_row_pulses",
    "grid_checked_by_pulses",
    "page_scales",
    "pulses_give_scales",
    "pulses_on_every_row",
    "read_print",
    "standard_pulses_only",
    "standard_scales",
    "straight_lead",
]

#: Pulses by row index.
RowPulses = dict[int, list[Pulse]]
#: Where a row's ink stops running straight, by (row index, "start" | "end").
StraightCuts = dict[tuple[int, str], float]


@dataclass(frozen=True)
class ScaleRules:
    """How speed and gain are decided: forced values (None: measured), the defaults, and the size of a
    calibration pulse (``pulse_mv`` tall, ``pulse_s`` wide)."""

    speed_mm_per_s: float | None = None
    gain_mm_per_mv: float | None = None
    default_speed_mm_per_s: float = STANDARD_SPEED_MM_PER_S
    default_gain_mm_per_mv: float = STANDARD_GAIN_MM_PER_MV
    pulse_mv: float = 1.0
    pulse_s: float = 0.2


@dataclass(frozen=True)
class Scales:
    """The page's time and voltage scales (page px per second / per mV), the speed and gain they stand for,
    and how they were found (``method``: ``grid+pulse``, ``grid+print``, ``grid``, ``pulse`` or
    ``layout``)."""

    px_per_s: float
    px_per_mv: float
    gain_mm_per_mv: float
    speed_mm_per_s: float
    method: str


def find_row_pulses(
    ink: InkMap, thin: InkMap | None, rows: list[RowBand], tracer: RowTracer, cal: GridCalibration
) -> tuple[RowPulses, StraightCuts]:
    """Calibration pulses at the start / end of each row (searched up to 16 mm beyond the row's ink), and
    where the ends without one stop running straight (see the module docstring). ``thin`` is ``ink`` with
    split strokes (:func:`with_split_strokes`) when the caller has it already; otherwise it is made when a
    retry first needs it."""
    ppm = cal.px_per_mm_x
    reach = 45.0 * ppm  # long enough for the zero line to be the commonest level
    ext = 16.0 * ppm  # a pulse may stand apart from the trace (beyond the row's extent)
    width = ink.mask.shape[1]
    out: RowPulses = {}
    cuts: StraightCuts = {}
    closed = None
    for i, row in enumerate(rows):
        found = []
        for side in ("start", "end"):
            if side == "start":
                xa = max(0.0, row.x_start_px - ext)
                xb = min(row.x_end_px, row.x_start_px + reach)
                search = (row.x_start_px - xa) / ppm + 22.0
            else:
                xa = max(row.x_start_px, row.x_end_px - reach)
                xb = min(width - 1.0, row.x_end_px + ext)
                search = (xb - row.x_end_px) / ppm + 22.0
            tr = tracer.trace(ink, i, xa, xb)
            if tr is None:
                continue
            p = _detect_pulse(tr, cal, side, search)
            if p is None:
                # A thin pulse edge straddling two pixel columns can drop out of the mask: look again with
                # such strokes added, then also without the ink more than 2 mm below our zero line (a pulse
                # stands above it, and the row below's tall pulse (gain 20) can top out just under it,
                # nearer than our own pulse's top, and be followed instead).
                thin = with_split_strokes(ink) if thin is None else thin
                cap = round(row.baseline_y_px + 2.0 * cal.px_per_mm_y)
                for y_max in (None, cap):
                    retry = tracer.trace(thin, i, xa, xb, y_max=y_max)
                    p = None if retry is None else _detect_pulse(retry, cal, side, search)
                    if p is not None:
                        break
            if p is None:
                # Speckle (a noisy photo or scan) breaks the pulse's strokes into dots that are taken for
                # text and whose runs no longer span the edges: look once more on the ink closed vertically,
                # with nothing flagged as text.
                closed = _closed_vertically(ink, cal.px_per_mm_y) if closed is None else closed
                retry = replace(tracer, text=None).trace(closed, i, xa, xb)
                p = None if retry is None else _detect_pulse(retry, cal, side, search)
            if p is not None:
                found.append(refine_pulse_edges(p, ink.weight, tr.stroke_px))
            else:
                cut = straight_lead(tr, row, side, ppm)
                if cut is not None:
                    cuts[(i, side)] = cut
        if found:
            out[i] = found
    return out, cuts


def _closed_vertically(ink: InkMap, px_per_mm_y: float, gap_mm: float = 1.0) -> InkMap:
    """``ink`` with gaps up to ``gap_mm`` along each column (and its neighbours) closed."""
    kernel = np.ones((max(3, round(gap_mm * px_per_mm_y) | 1), 3), np.uint8)
    mask = cv2.morphologyEx(ink.mask.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    return InkMap(ink.weight, mask, ink.threshold, ink.grid_residual)


def _detect_pulse(tr: RowTrace, cal: GridCalibration, side: str, search_mm: float) -> Pulse | None:
    return detect_pulse(
        tr.col_x,
        tr.col_y,
        cal.px_per_mm_x,
        cal.px_per_mm_y,
        top=tr.col_top,
        bottom=tr.col_bottom,
        stroke_px=tr.stroke_px,
        side=side,
        search_mm=search_mm,
    )


def straight_lead(tr: RowTrace, row: RowBand, side: str, ppm: float, min_mm: float = 12.0) -> float | None:
    """Where a row's ink stops being a perfectly straight horizontal line (a grid line or rule running into
    the trace), when such a lead-in (``side`` start) or lead-out (end) is longer than ``min_mm``; else
    None."""
    inside = (tr.col_x >= row.x_start_px) & (tr.col_x <= row.x_end_px) & np.isfinite(tr.col_y)
    x, y = tr.col_x[inside], tr.col_y[inside]
    if x.size < 3:
        return None
    if side == "end":
        x, y = x[::-1], y[::-1]
    dev = np.flatnonzero(np.abs(y - y[0]) > 1.0)
    if dev.size == 0:
        return None
    k = int(dev[0])
    if abs(x[k] - x[0]) < min_mm * ppm:
        return None
    return float(x[max(0, k - 1)])


def standard_scales(pulse: Pulse, cal: GridCalibration, rules: ScaleRules) -> tuple[bool, bool]:
    """Whether ``pulse`` gives a standard gain / a standard speed at the scale of ``cal``."""
    return (
        gain_from_pulse(pulse, cal.px_per_mm_y, rules.pulse_mv) is not None,
        speed_from_pulse(pulse, cal.px_per_mm_x, rules.pulse_s) is not None,
    )


def pulses_give_scales(pulses: RowPulses, cal: GridCalibration, rules: ScaleRules) -> bool:
    """Whether some pulse gives a standard gain and some pulse a standard speed at the grid's scale. When
    not, what the page prints is read: a "pulse" of no standard size (a QRS tip read flat on a 100-dpi page)
    must not leave a page printed at 20 mm/mV on the default gain."""
    read = [standard_scales(p, cal, rules) for ps in pulses.values() for p in ps]
    return any(g for g, _ in read) and any(s for _, s in read)


def grid_checked_by_pulses(
    cal: GridCalibration, pulses: RowPulses, page_shape: tuple[int, ...], rules: ScaleRules
) -> GridCalibration:
    """``cal``, unless the pulses say its period was not the grid's. On a page without a grid the beats of a
    steady rhythm make a comb of their own along x (109 bpm at 25 mm/s: 13.8 mm apart, read as 5-mm lines),
    and at that scale the pulses have no standard gain or speed. So a grid seen along one axis only is kept
    when the page has no pulse or a pulse with both a standard gain and a standard speed at its scale (a grid
    seen along both axes, or within 1.5 times the whole-page prior scale, always is: a real grid seen on one
    axis of a photo went to the prior otherwise). Else the grid counts as not found and the scale is the
    whole-page prior (the pulses found at the wrong scale may be beats too: they are looked for again)."""
    all_p = [p for ps in pulses.values() for p in ps]
    prior = page_prior_px_per_mm(page_shape[1], page_shape[0])
    # a comb of beats is 2-5 times the whole-page scale: one within half of it again is taken for real
    near_prior = abs(np.log(cal.px_per_mm_x / prior)) < np.log(1.5)
    if not cal.found or len(cal.axes) > 1 or near_prior or not all_p:
        return cal
    if any(all(standard_scales(p, cal, rules)) for p in all_p):
        return cal
    return GridCalibration(prior, prior, False, method="prior (grid period rejected)")


def standard_pulses_only(pulses: RowPulses, cal: GridCalibration, rules: ScaleRules) -> RowPulses:
    """``pulses``, or none when the grid was found and none of them gives a standard gain or speed at its
    scale (a QRS tip read flat on a 100-dpi page): kept, they would cut a stretch of trace off their rows. One
    such pulse among standard ones is kept (a real pulse on a photo can be off by more than the snap
    tolerance)."""
    if cal.found and not any(any(standard_scales(p, cal, rules)) for ps in pulses.values() for p in ps):
        return {}
    return pulses


def pulses_on_every_row(
    pulses: RowPulses, rows: list[RowBand], px_per_mm: float, tol_mm: float = 1.5
) -> RowPulses:
    """``pulses`` with the ones a row's trace hid filled in: a machine prints its pulses alike on every row, so
    when at least two rows show a pulse at their start (end) at nearly the same x, a row without one whose ink
    begins (ends) within ``tol_mm`` of those pulses' outer edge gets their median pulse, standing on its own
    zero line (a noisy page's trace can miss a pulse's first edge, and the pulse is then read as signal)."""
    out = {i: list(ps) for i, ps in pulses.items()}
    tol = tol_mm * px_per_mm
    for side in ("start", "end"):
        seen = [p for ps in pulses.values() for p in ps if p.side == side]
        if len(seen) < 2:
            continue
        # the pulse's outer edge: where a row's ink begins (ends) when the pulse is drawn there
        edge = np.array([p.x_rise_px if side == "start" else p.x_fall_px for p in seen])
        if np.ptp(edge) > 2 * tol:
            continue
        k = int(np.argsort(edge)[len(edge) // 2])
        ref, ref_edge = seen[k], float(edge[k])
        for i, row in enumerate(rows):
            if any(p.side == side for p in out.get(i, [])):
                continue
            # the row's ink reaches the pulses' outer edge (ink beyond it is not signal: the rows of a page
            # with pulses start, or end, at their pulses)
            row_end = row.x_start_px if side == "start" else row.x_end_px
            if (row_end - ref_edge if side == "start" else ref_edge - row_end) > tol:
                continue
            foot = float(row.baseline_y_px)
            out.setdefault(i, []).append(
                Pulse(
                    side,
                    ref.x_begin_px,
                    ref.x_rise_px,
                    ref.x_fall_px,
                    ref.x_clear_px,
                    foot,
                    foot - ref.height_px,
                )
            )
    return out


def _forced_or_median(forced: float | None, measured: list[float | None], default: float) -> float:
    """A forced value if given, else the median of the pulse measurements that snapped to a standard value
    (the ``None`` ones did not), else ``default``."""
    if forced is not None:
        return forced
    values = [v for v in measured if v is not None]
    return float(np.median(values)) if values else default


def page_scales(
    cal: GridCalibration,
    pulses: RowPulses,
    rows: list[RowBand],
    duration_s: float,
    rules: ScaleRules,
    printed: PrintedScales | None = None,
) -> Scales:
    """The page's scales (see the module docstring) from its grid ``cal``, its ``pulses`` (only those that
    agree with the others count), what it prints and, as a last resort, its rows' width spanning
    ``duration_s``."""
    all_p = [p for ps in pulses.values() for p in ps]
    # Pulses agree with each other when real: use the median of the consistent ones.
    if all_p:
        hs = np.array([p.height_px for p in all_p])
        ws = np.array([p.width_px for p in all_p])
        keep = (np.abs(hs / np.median(hs) - 1) < 0.1) & (np.abs(ws / np.median(ws) - 1) < 0.2)
        all_p = [p for p, k in zip(all_p, keep, strict=True) if k]
    if cal.found:
        # without a pulse, what the page prints beats the defaults
        printed = printed or PrintedScales()
        gain = _forced_or_median(
            rules.gain_mm_per_mv,
            [gain_from_pulse(p, cal.px_per_mm_y, rules.pulse_mv) for p in all_p],
            printed.gain_mm_per_mv or rules.default_gain_mm_per_mv,
        )
        speed = _forced_or_median(
            rules.speed_mm_per_s,
            [speed_from_pulse(p, cal.px_per_mm_x, rules.pulse_s) for p in all_p],
            printed.speed_mm_per_s or rules.default_speed_mm_per_s,
        )
        method = "grid+pulse" if all_p else "grid"
        if not all_p and (printed.gain_mm_per_mv or printed.speed_mm_per_s):
            method = "grid+print"
        return Scales(cal.px_per_mm_x * speed, cal.px_per_mm_y * gain, gain, speed, method)
    speed = rules.speed_mm_per_s or rules.default_speed_mm_per_s
    gain = rules.gain_mm_per_mv or rules.default_gain_mm_per_mv
    width = float(np.median([r.width_px for r in rows])) if rows else 0.0
    if all_p:
        px_per_mv = float(np.median([p.height_px for p in all_p])) / rules.pulse_mv
        # Signal ink joining a pulse's inner edge (a lead ending on a steep wave) can only widen the pulse:
        # the narrower half of the widths is the clean one.
        ws = np.sort([p.width_px for p in all_p])
        width_px = float(np.mean(ws[: max(1, (ws.size + 1) // 2)]))
        px_per_s = _pulse_px_per_s(width_px, px_per_mv * rules.pulse_mv, width, duration_s, rules)
        return Scales(px_per_s, px_per_mv, gain, speed, "pulse")
    _, px_per_s, px_per_mv = calibrate_from_layout(width, duration_s, speed, gain)
    return Scales(px_per_s, px_per_mv, gain, speed, "layout")


def _pulse_px_per_s(
    width_px: float, height_px: float, row_width_px: float, duration_s: float, rules: ScaleRules
) -> float:
    """px/s on a page without a grid, from its pulses' width and height (``height_px`` is ``rules.pulse_mv``)
    and its rows' width.

    A pulse's height is 1 mV on every machine, its duration is not (0.2 s on ECG-Image-Kit's pages, 0.07-0.2 s
    on other printouts). A pulse of the standard duration has one of the aspects the standard gains and speeds
    give it (0.2 s at 25 mm/s and 10 mm/mV: 5 mm by 10 mm); a pulse of another aspect is taken as narrower
    than standard, and its height at the default gain and speed gives px/s. Either way the rows cannot hold
    more than the recording: a scale under which they would (by a tenth of it and a pulse) gives way to the
    rows spanning the recording.
    """
    speed = rules.speed_mm_per_s or rules.default_speed_mm_per_s
    gain = rules.gain_mm_per_mv or rules.default_gain_mm_per_mv
    # width / height of a pulse of the standard duration at every standard speed and gain
    aspects = tuple(
        {
            rules.pulse_s * v / (g * rules.pulse_mv)
            for v in STANDARD_SPEEDS_MM_PER_S
            for g in STANDARD_GAINS_MM_PER_MV
        }
    )
    if snap(width_px / height_px, aspects, 0.15) is not None:
        px_per_s = width_px / rules.pulse_s
    else:
        px_per_s = height_px / rules.pulse_mv / gain * speed  # the paper's mm square
    if row_width_px > 0 and row_width_px / px_per_s > 1.1 * duration_s + rules.pulse_s:
        px_per_s = row_width_px / duration_s
    return px_per_s


def read_print(marks: PageInk, px_per_mm: float) -> PrintedScales:
    """The speed and gain the page prints (:func:`~ecgdl.classical.printed.read_printed_scales`), read from
    its character-sized ink (``marks.text``, or found now when the tracing does not flag it)."""
    text = marks.text if marks.text is not None else text_like_components(marks.ink.mask, px_per_mm)
    return read_printed_scales(text, px_per_mm, marks.ink.weight)
