"""Stage 4 of the classical digitizer: a page's lead segments traced and named.

:func:`read_segments` traces every segment of a :class:`~ecgdl.classical.page.PageGeometry` through the page's ink
(:class:`~ecgdl.classical.tracing.SegmentTracing`) and, for a detected layout, settles what the rows leave open
from the traced lines: the rhythm strip's lead (:mod:`~ecgdl.classical.rhythm`), Cabrera or standard order and,
on a page of six rows, 3x4+3 or 6x2 (:mod:`~ecgdl.classical.layoutcheck`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ecgdl.classical.assembly import segment_signals
from ecgdl.classical.layoutcheck import SIX_ROW_ALTERNATIVES, better_layout, cabrera_checked, relaid
from ecgdl.classical.meta import PageFindings
from ecgdl.classical.page import LeadSegment, PageGeometry
from ecgdl.classical.resample import SegmentSignal, assemble_record
from ecgdl.classical.rhythm import rhythm_checked
from ecgdl.classical.trace import RowTrace
from ecgdl.classical.tracing import SegmentTracing
from ecgdl.layouts import LAYOUTS

__all__ = ["SegmentReading", "read_segments"]


@dataclass(frozen=True)
class SegmentReading:
    """A page's segments as read: the geometry as named, its segments, their traces (None: not traced) and
    traced signals, and the limb leads' consistency (dB) of each layout tried
    (:mod:`~ecgdl.classical.layoutcheck`; empty when none was)."""

    geometry: PageGeometry
    segs: list[LeadSegment]
    traces: list[RowTrace | None]
    signals: list[SegmentSignal]
    scores: dict[str, float]

    @property
    def score(self) -> float:
        """The consistency (dB) of the naming taken; -inf when none was measured."""
        return self.scores.get(self.geometry.layout, -np.inf)


def _read_once(
    geometry: PageGeometry,
    seen: PageFindings,
    trace_ink: np.ndarray,
    touch_px: int | None,
    separators: bool,
    detected: bool,
    layout_check: bool,
    assembly: tuple[float, int, str, float],
) -> SegmentReading:
    spec = LAYOUTS[geometry.layout]
    tracing = SegmentTracing(
        seen.tracer,
        trace_ink,
        seen.ink.ink,
        seen.ink.bars,
        seen.frame.cal.px_per_mm,
        n_grid_rows=len(spec.grid),
        n_cols=spec.n_cols,
        separators=separators,
    )
    segs = list(geometry.segments)
    traces = tracing.trace_all(segs, touch_px)
    signals = segment_signals(
        segs, traces, geometry.pulses, geometry.px_per_s, geometry.px_per_mv, seen.ink.stroke_px
    )
    scores: dict[str, float] = {}
    if detected:  # a forced layout names its rhythm lead and its limb leads' order too
        geometry, segs, signals = rhythm_checked(geometry, segs, signals, *assembly)
        if layout_check:
            geometry, segs, signals, scores = cabrera_checked(
                geometry, segs, signals, lambda sigs: assemble_record(sigs, *assembly)[0]
            )
    return SegmentReading(geometry, segs, traces, signals, scores)


def read_segments(
    geometry: PageGeometry,
    seen: PageFindings,
    trace_ink: np.ndarray,
    fs_hz: float,
    n_samples: int,
    *,
    touch_px: int | None = None,
    separators: bool = True,
    detected: bool = True,
    layout_check: bool = True,
    interpolation: str = "cubic",
    max_spline_gap_s: float = 0.08,
) -> SegmentReading:
    """Every segment of ``geometry`` traced through ``trace_ink`` (``seen``: what the geometry stages found;
    ``touch_px``: rows sharing merged ink this many columns at most are each read from their own edge of it, None:
    never; ``separators``: blank lead-separator bars first) and, when the layout was ``detected`` (not forced),
    the rhythm strip's lead named; with ``layout_check``, Cabrera order and, on six rows, 3x4+3 against 6x2
    settled by the limb leads (:func:`~ecgdl.classical.layoutcheck.better_layout`). ``interpolation`` and
    ``max_spline_gap_s`` assemble the records those checks compare the way the digitizer does."""
    assembly = (fs_hz, n_samples, interpolation, max_spline_gap_s)
    opts = (touch_px, separators, detected, layout_check, assembly)
    read = _read_once(geometry, seen, trace_ink, *opts)
    other = SIX_ROW_ALTERNATIVES.get(geometry.layout)
    if detected and layout_check and other is not None:
        alt = _read_once(relaid(geometry, other, fs_hz, n_samples / fs_hz), seen, trace_ink, *opts)
        scores = {**read.scores, **alt.scores}
        read = alt if better_layout(alt.score, read.score) else read
        read = dataclasses.replace(read, scores=scores)
    return read
