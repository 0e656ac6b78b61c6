"""Which of the layouts a page's rows allow fits its limb leads: Cabrera or standard order, 3x4+3 or 6x2.

The limb leads are two-dimensional (every one a fixed mix of I and II, :mod:`ecgdl.signals.limb`), so three or
more of them printed at the same instants tell whether a reading names them right: read under the wrong layout
they break the identities (by 20-30 dB on generated pages). Two ambiguities are settled that way, once the
segments are traced:

* **Cabrera order.** Some machines (Scandinavian ones most of all) print the limb leads in their anatomical order
  aVL, I, -aVR, II, aVF, III. The page looks the same as a standard one: rows of trace in the same grid, only the
  labels (and aVR's polarity) differ. :func:`cabrera_checked` names the segments of a standard layout by its
  Cabrera twin's grid (:data:`ecgdl.layouts.CABRERA_TWINS`) and keeps that naming when it fits clearly better.
* **Six rows**: ``3x4+3`` or ``6x2``. The layout stage's first guess (:func:`ecgdl.classical.layout.choose_layout`)
  compares two rows' ink profiles, which cannot tell a 6x2 Cabrera page (rows I and II) from a 3x4+3 one (II
  printed twice) and needs both to show the same seconds; :func:`relaid` builds the other layout's segments on
  the same rows, and the digitizer keeps the reading that fits clearly better.

"Clearly" (:func:`better_layout`): by :data:`LAYOUT_MIN_GAIN_DB` in :func:`layout_consistency_db` (the residual
of the least-squares fit of the limb leads printed together, :func:`~ecgdl.signals.limb.limb_consistency_db`),
and to at least :data:`LAYOUT_MIN_DB`; otherwise the first reading stands. A reading keeps the page as printed
until its record is assembled: :func:`with_polarity` then turns the leads the layout prints upside down
(Cabrera's -aVR) the right way up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ecgdl.classical.layout import build_segments
from ecgdl.classical.page import LeadSegment, PageGeometry
from ecgdl.classical.resample import SegmentSignal
from ecgdl.constants import LEAD_INDEX, LEADS
from ecgdl.layouts import CABRERA_TWINS, LAYOUTS
from ecgdl.signals.limb import limb_consistency_db

__all__ = [
    "LAYOUT_MIN_DB",
    "LAYOUT_MIN_GAIN_DB",
    "SIX_ROW_ALTERNATIVES",
    "better_layout",
    "cabrera_checked",
    "cabrera_relabelled",
    "layout_consistency_db",
    "lead_polarity",
    "relaid",
    "upright",
    "with_polarity",
]

#: another layout must make the limb leads obey the identities this much better (dB) to replace the first one
LAYOUT_MIN_GAIN_DB = 3.0
#: ... and at least this well (dB): under it a reading is wrong however its leads are named (its traces or scales
#: are off), and naming it otherwise only moves the error (the reading confidence's own line, 10 dB)
LAYOUT_MIN_DB = 10.0


def better_layout(candidate_db: float, first_db: float) -> bool:
    """Whether a reading named by another layout, whose limb leads obey the identities to ``candidate_db``,
    replaces the first one (``first_db``): by :data:`LAYOUT_MIN_GAIN_DB` and reaching :data:`LAYOUT_MIN_DB`."""
    return candidate_db >= max(first_db + LAYOUT_MIN_GAIN_DB, LAYOUT_MIN_DB)


#: six rows of trace: the layout the first guess did not take
SIX_ROW_ALTERNATIVES: dict[str, str] = {"3x4+3": "6x2", "6x2": "3x4+3"}


def lead_polarity(layout: str) -> np.ndarray:
    """(12,) in ``LEADS`` order: -1 for a lead ``layout`` prints upside down, else 1."""
    spec = LAYOUTS[layout]
    return np.array([spec.polarity(lead) for lead in LEADS])


def with_polarity(signal_mv: np.ndarray, layout: str) -> np.ndarray:
    """``signal_mv`` (T, 12) read off a page as printed, with the leads ``layout`` prints upside down turned
    back (a new array when any is; the same one otherwise). Applying it twice gives the page as printed again."""
    polarity = lead_polarity(layout)
    return signal_mv if (polarity > 0).all() else np.asarray(signal_mv) * polarity


def upright(signal_mv: np.ndarray, segments: list[dict], layout: str) -> np.ndarray:
    """A record assembled as printed (``signal_mv`` (T, 12) and the segments' geometry dicts of
    :func:`~ecgdl.classical.resample.assemble_record`) with the leads ``layout`` prints upside down turned back
    (:func:`with_polarity`); each segment dict gets its ``polarity`` (-1: printed upside down), which overlays
    draw by."""
    polarity = lead_polarity(layout)
    for seg in segments:
        seg["polarity"] = float(polarity[LEAD_INDEX[seg["lead"]]])
    return with_polarity(signal_mv, layout)


def layout_consistency_db(signal_mv: np.ndarray, layout: str) -> float:
    """How well the limb leads of a record assembled as printed (``signal_mv`` (T, 12), named as under ``layout``)
    obey the identities (:func:`~ecgdl.signals.limb.limb_consistency_db` once the leads ``layout`` prints upside
    down are turned back); -inf when no three limb leads are printed together."""
    return float(np.nan_to_num(limb_consistency_db(with_polarity(signal_mv, layout)), nan=-np.inf))


def cabrera_relabelled(
    geometry: PageGeometry, segs: list[LeadSegment], signals: list[SegmentSignal]
) -> tuple[PageGeometry, list[LeadSegment], list[SegmentSignal]] | None:
    """The geometry, segments and traced signals named by the Cabrera twin of the geometry's layout (each segment
    keeps its row and column), or None when the layout has no twin."""
    twin = CABRERA_TWINS.get(geometry.layout)
    if twin is None:
        return None
    old, new = LAYOUTS[geometry.layout], LAYOUTS[twin]
    if old.rhythm != new.rhythm or len(old.grid) != len(new.grid) or old.n_cols != new.n_cols:
        raise ValueError(f"layouts {old.name} and {new.name} do not print the same grid")
    rename = {(r, c): lead for r, row in enumerate(new.grid) for c, lead in enumerate(row)}
    segs = [replace(s, lead=rename.get((s.row, s.col), s.lead)) for s in segs]
    signals = [replace(g, lead=rename.get((g.row, g.col), g.lead)) for g in signals]
    return replace(geometry, layout=twin, segments=tuple(segs)), segs, signals


def cabrera_checked(
    geometry: PageGeometry,
    segs: list[LeadSegment],
    signals: list[SegmentSignal],
    assemble: Callable[[list[SegmentSignal]], np.ndarray],
) -> tuple[PageGeometry, list[LeadSegment], list[SegmentSignal], dict[str, float]]:
    """(geometry, segments, signals, each naming's consistency in dB by layout name): named in Cabrera order
    (:func:`cabrera_relabelled`) when the limb leads then obey the identities clearly better
    (:func:`better_layout`), else the inputs unchanged. ``assemble``: traced signals -> the (T, 12) record as
    printed, the way the digitizer assembles it. Without a Cabrera twin only the layout's own score is given."""
    scores = {geometry.layout: layout_consistency_db(assemble(signals), geometry.layout)}
    relabelled = cabrera_relabelled(geometry, segs, signals)
    if relabelled is None:
        return geometry, segs, signals, scores
    twin = relabelled[0].layout
    scores[twin] = layout_consistency_db(assemble(relabelled[2]), twin)
    if better_layout(scores[twin], scores[geometry.layout]):
        return (*relabelled, scores)
    return geometry, segs, signals, scores


def relaid(geometry: PageGeometry, layout: str, fs_hz: float, duration_s: float) -> PageGeometry:
    """``geometry`` with the segments of ``layout`` on the same rows (which must be enough for it), scales and
    pulses kept (:func:`~ecgdl.classical.layout.build_segments`)."""
    segs = build_segments(
        layout,
        list(geometry.rows),
        geometry.px_per_s,
        duration_s,
        geometry.size_wh[1],
        sample_px=geometry.px_per_s / fs_hz,
    )
    return replace(geometry, layout=layout, segments=tuple(segs))
