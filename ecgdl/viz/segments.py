"""Where a record's leads sit on a page, as overlay segments: from a digitizer's meta or a render's truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecgdl.render.truth import RenderTruth
from ecgdl.viz.overlay import TraceSegment

_KEYS = ("lead", "start_sample", "end_sample", "x0_px", "baseline_y_px", "px_per_s", "px_per_mv")


def segments_from_meta(meta: Mapping[str, Any] | None) -> list[TraceSegment]:
    """``meta["segments"]`` (dicts with the TraceSegment fields, as digitizers record them) -> segments; a
    segment's ``polarity`` (-1 for a lead printed upside down, Cabrera's -aVR) is kept."""
    out = []
    for seg in (meta or {}).get("segments", []) or []:
        if isinstance(seg, TraceSegment):
            out.append(seg)
        elif (
            isinstance(seg, Mapping)
            and all(k in seg for k in _KEYS)
            and int(seg["end_sample"]) > int(seg["start_sample"])
        ):
            out.append(TraceSegment(**{k: seg[k] for k in _KEYS}, polarity=float(seg.get("polarity", 1.0))))
    return out


def segments_from_truth(truth: RenderTruth) -> list[TraceSegment]:
    """Segments of an unwarped render (empty after a geometric degradation: the page is no longer a grid)."""
    if truth.meta.get("geometric", False):
        return []
    return [
        TraceSegment(
            p.lead,
            p.start_sample,
            p.end_sample,
            float(p.points_xy[0, 0]),
            p.baseline_y_px,
            truth.px_per_s,
            truth.px_per_mv,
            p.polarity,
        )
        for p in truth.panels
        if p.n_points > 0 and p.end_sample > p.start_sample
    ]


def as_dicts(segments: Sequence[TraceSegment]) -> list[dict[str, Any]]:
    return [{**{k: getattr(s, k) for k in _KEYS}, "polarity": s.polarity} for s in segments]
