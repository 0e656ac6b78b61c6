"""Tracing a page: each row of trace, and each lead segment of a row, followed through the page's ink.

* :class:`RowTracer`: everything the tracker (:func:`~ecgdl.classical.trace.extract_row_trace`) needs to
  follow one row of a page between two columns, the ink aside: the rows' zero lines, each row's search band
  (95 % of the way to its neighbours' zero lines; wider, at a cost, on pages with rows far enough apart), the
  flagged text and the stroke thickness, and the tracking costs (:class:`TraceCosts`). The pulse search traces
  the rows' ends with it, the segment tracing the leads.
* :class:`SegmentTracing`: each lead segment traced on its own (a lead boundary is a free jump), past the
  separators (:mod:`~ecgdl.classical.separators`); where the traces of a row and of the row below take the
  same run of merged ink (a deep S meeting the next row's tall R), both are traced again and read there from
  the run's edge on their own side (:func:`~ecgdl.classical.trace.touching_columns`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgdl.classical.gridremoval import InkMap
from ecgdl.classical.ink import Box
from ecgdl.classical.page import LeadSegment, RowBand
from ecgdl.classical.separators import clear_of_bars, extend_back, skip_separator_ticks
from ecgdl.classical.trace import RowTrace, extract_row_trace, touching_columns

__all__ = ["RowTracer", "SegmentTracing", "TraceCosts", "row_bands", "row_tracer"]

#: Rows ``[lo, hi)`` of the page a row of trace is searched in.
Band = tuple[int, int]


@dataclass(frozen=True)
class TraceCosts:
    """The tracker's costs (see :func:`~ecgdl.classical.trace.extract_row_trace`): per pixel of vertical jump,
    per pixel away from the row's zero line, per column bridged without ink, per pixel closer to another row's
    zero line, per column on flagged (text) ink, per column outside the row's band (within the wider one); and
    whether sharp peaks keep their tips."""

    jump_cost: float = 1.0
    baseline_pull: float = 0.02
    gap_cost: float = 6.0
    foreign_cost: float = 0.0
    text_cost: float = 4.0
    overshoot_cost: float = 3.0
    tip_correction: bool = True


def row_bands(rows: list[RowBand], height: int, reach: float = 0.95) -> list[Band]:
    """Vertical search band of each row: up to ``reach`` (95 %) of the way to the neighbouring rows' zero
    lines."""
    baselines = [r.baseline_y_px for r in rows]
    pitch = float(np.median(np.diff(baselines))) if len(rows) > 1 else height / 4.0
    bands = []
    for i, b in enumerate(baselines):
        up = baselines[i - 1] if i > 0 else b - 1.5 * pitch
        dn = baselines[i + 1] if i + 1 < len(rows) else b + 1.2 * pitch
        bands.append((max(0, int(b - reach * (b - up))), min(height, int(np.ceil(b + reach * (dn - b))))))
    return bands


@dataclass(frozen=True)
class RowTracer:
    """Traces the rows of one page (see the module docstring).

    ``baselines_y_px``: each row's zero line; ``bands``: each row's search band; ``ext_bands``: the wider
    bands used at ``costs.overshoot_cost`` per column (None: none); ``text``: bool mask of flagged
    (character-sized) ink, or None; ``stroke_px``: the trace's thickness.
    """

    baselines_y_px: tuple[float, ...]
    bands: tuple[Band, ...]
    ext_bands: tuple[Band, ...] | None
    text: np.ndarray | None
    stroke_px: float
    costs: TraceCosts

    def trace(
        self,
        ink: InkMap,
        r: int,
        x0: float,
        x1: float,
        y_max: int | None = None,
        touch: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> RowTrace | None:
        """Trace row ``r`` between page columns ``x0`` and ``x1`` (None when there is nothing to trace); ink
        below page row ``y_max`` (when given) is not considered; ``touch``: page columns where the run is
        shared with the row above / below (:func:`~ecgdl.classical.trace.touching_columns`)."""
        others = tuple(b for j, b in enumerate(self.baselines_y_px) if j != r)
        lo, hi = self.bands[r]
        ext_lo, ext_hi = self.ext_bands[r] if self.ext_bands else (None, None)
        if y_max is not None:
            hi = min(hi, y_max)
            ext_hi = None if ext_hi is None else min(ext_hi, y_max)
        c = self.costs
        try:
            return extract_row_trace(
                ink.mask,
                ink.weight,
                round(x0),
                round(x1),
                self.baselines_y_px[r],
                lo,
                hi,
                other_baselines=others,
                jump_cost=c.jump_cost,
                baseline_pull=c.baseline_pull,
                gap_cost=c.gap_cost,
                foreign_cost=c.foreign_cost,
                flag=self.text,
                flag_cost=c.text_cost,
                stroke_px=self.stroke_px,
                tip_correction=c.tip_correction,
                ext_lo=ext_lo,
                ext_hi=ext_hi,
                outside_cost=c.overshoot_cost,
                touch_above_x=None if touch is None else touch[0],
                touch_below_x=None if touch is None else touch[1],
            )
        except ValueError:
            return None


def row_tracer(
    rows: list[RowBand],
    page_height_px: int,
    row_pitch_mm: float,
    stroke_px: float,
    text: np.ndarray | None,
    costs: TraceCosts,
    *,
    overshoot_reach: float,
    overshoot_min_pitch_mm: float,
) -> RowTracer:
    """The :class:`RowTracer` of a page's ``rows``: bands within 95 % of the way to the neighbours' zero
    lines, and up to ``overshoot_reach`` of the way (at a cost) on pages whose rows lie at least
    ``overshoot_min_pitch_mm`` apart (``row_pitch_mm``)."""
    ext_bands = None
    if overshoot_reach > 0.95 and row_pitch_mm >= overshoot_min_pitch_mm:
        ext_bands = tuple(row_bands(rows, page_height_px, overshoot_reach))
    return RowTracer(
        tuple(r.baseline_y_px for r in rows),
        tuple(row_bands(rows, page_height_px)),
        ext_bands,
        text,
        stroke_px,
        costs,
    )


@dataclass(frozen=True)
class SegmentTracing:
    """How the lead segments of a page are traced (see the module docstring).

    ``tracer``: the page's row tracer; ``trace_ink``: the ink tracked (with split strokes on a clean page);
    ``ink``: the page's ink (separator bars blanked), which the walks past bars and ticks follow; ``bars``:
    the blanked bars (x, y, w, h); ``px_per_mm``: the page's scale; ``n_grid_rows`` / ``n_cols``: the layout's
    grid (ticks lie between its columns; rhythm strips have none); ``separators``: read past bars and ticks.
    """

    tracer: RowTracer
    trace_ink: InkMap
    ink: InkMap
    bars: list[Box]
    px_per_mm: float
    n_grid_rows: int
    n_cols: int
    separators: bool

    def trace(self, seg: LeadSegment, touch: tuple[np.ndarray, np.ndarray] | None = None) -> RowTrace | None:
        """The trace of one lead segment (None when there is nothing to trace)."""
        band = self.tracer.bands[seg.row]
        stroke = self.tracer.stroke_px
        x0, x1 = clear_of_bars(seg.x0_px, seg.x1_px - 1.0, band, self.bars, self.px_per_mm)
        tr = self.tracer.trace(self.trace_ink, seg.row, x0, x1, touch=touch)
        if tr is not None and x0 > seg.x0_px + 1.0:
            tr = extend_back(tr, self.ink, seg.x0_px, band, stroke)
        if tr is not None and self.separators:
            grid_row = seg.row < self.n_grid_rows
            tr = skip_separator_ticks(
                tr,
                self.ink.mask,
                seg.baseline_y_px,
                self.px_per_mm,
                stroke,
                start=seg.x0_px if grid_row and seg.col > 0 else None,
                end=seg.x1_px if grid_row and seg.col < self.n_cols - 1 else None,
                ink=self.ink,
                band=band,
            )
        return tr

    def trace_all(self, segs: list[LeadSegment], touch_max_px: int | None) -> list[RowTrace | None]:
        """Every segment's trace; with ``touch_max_px``, segments of neighbouring rows whose traces take the
        same run of merged ink for at most that many columns are traced again, each read from its own edge."""
        traces = [self.trace(seg) for seg in segs]
        if touch_max_px is None:
            return traces
        touch: dict[int, tuple[list, list]] = {}
        for i, (si, ti) in enumerate(zip(segs, traces, strict=True)):
            for j, (sj, tj) in enumerate(zip(segs, traces, strict=True)):
                if ti is None or tj is None or sj.row != si.row + 1:
                    continue
                cols = touching_columns(ti, tj, touch_max_px)
                if cols.size:
                    touch.setdefault(i, ([], []))[1].append(cols)
                    touch.setdefault(j, ([], []))[0].append(cols)
        for i, (above, below) in touch.items():
            joined = (np.concatenate(above or [np.zeros(0)]), np.concatenate(below or [np.zeros(0)]))
            traces[i] = self.trace(segs[i], joined) or traces[i]
        return traces
