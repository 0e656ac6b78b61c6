"""Assembly: the traced lead segments of a page made into the 12-lead record.

* :func:`segment_signals`: each traced segment with its scales and the level it is read from (a start pulse's
  foot for a row's first lead, else its own isoelectric level), the points on the edge of a calibration pulse
  the lead abuts left out (:func:`off_pulse_edges`). :func:`~ecgdl.classical.resample.assemble_record` then
  samples them at the requested rate.
* :func:`complete_leads`: a lead that could not be traced is rebuilt from the simultaneous limb leads
  (Einthoven / Goldberger, :func:`repair_missing_leads`) or set to 0 mV over its window; more than
  ``max_missing_leads`` of them is a :class:`~ecgdl.digitizer.DigitizationError`. Then, when asked, the limb
  leads are fitted to the identities (:func:`~ecgdl.signals.limb.fit_limb_leads_with_check`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecgdl.classical.layout import isoelectric_level
from ecgdl.classical.page import LeadSegment, Pulse
from ecgdl.classical.resample import SegmentSignal, sample_range
from ecgdl.classical.trace import RowTrace
from ecgdl.constants import LEADS
from ecgdl.digitizer import DigitizationError
from ecgdl.signals.limb import fit_limb_leads_with_check

__all__ = [
    "LIMB_IDENTITIES",
    "abutting_pulses",
    "complete_leads",
    "off_pulse_edges",
    "repair_missing_leads",
    "segment_signals",
]


def segment_signals(
    segs: list[LeadSegment],
    traces: list[RowTrace | None],
    pulses: dict[int, list[Pulse]],
    px_per_s: float,
    px_per_mv: float,
    stroke_px: float,
) -> list[SegmentSignal]:
    """The traced segments (``traces[i]`` of ``segs[i]``; None or fewer than two points: left out) ready to be
    sampled (see the module docstring)."""
    out = []
    for seg, tr in zip(segs, traces, strict=True):
        if tr is None or tr.x.size < 2:
            continue
        row_pulses = pulses.get(seg.row, [])
        starts = [p for p in row_pulses if p.side == "start"]
        base = starts[0].foot_y_px if starts and seg.col == 0 else isoelectric_level(tr.y)
        # the row's 0 mV line: a pulse's foot, else the zero line the layout stage found
        zero = row_pulses[0].foot_y_px if row_pulses else seg.baseline_y_px
        abutting = abutting_pulses(seg, row_pulses, stroke_px)
        x, y = off_pulse_edges(tr, abutting, stroke_px)
        out.append(
            SegmentSignal(
                seg.lead,
                seg.t0_s,
                seg.duration_s,
                seg.x0_px,
                float(base),
                float(px_per_s),
                float(px_per_mv),
                x,
                y,
                pulse_sides=tuple(p.side for p in abutting),
                zero_y_px=float(zero),
                row=seg.row,
                col=seg.col,
            )
        )
    return out


def abutting_pulses(seg: LeadSegment, row_pulses: list[Pulse], stroke_px: float) -> list[Pulse]:
    """The pulses of the row that ``seg`` starts right after (a start pulse's falling edge within a stroke
    and 2 px of its first x) or ends right before (an end pulse's rising edge by its last x)."""
    reach = float(stroke_px or 1.0) + 2.0
    return [
        p
        for p in row_pulses
        if (p.side == "start" and abs(seg.x0_px - p.x_fall_px) <= reach)
        or (p.side == "end" and abs(seg.x1_px - p.x_rise_px) <= reach)
    ]


def off_pulse_edges(tr: RowTrace, abutting: list[Pulse], stroke_px: float) -> tuple[np.ndarray, np.ndarray]:
    """A lead's traced points without those on the edge of a calibration pulse the lead abuts (``abutting``:
    see :func:`abutting_pulses`).

    A lead that starts at a start pulse's falling edge (no blank gap) has its first column or two on that
    edge, whose ink reads as part of the pulse (0.5 mV for a vertical edge's run from foot to top); likewise
    the last columns before an end pulse's rising edge. Points within half a stroke (+0.5 px) of such an edge
    are dropped when their reading lies on the edge: within the pulse's height (+1 px) for a start pulse,
    whose falling edge is a one-sample ramp that the lead's first samples overlap (ECG-Image-Kit's, and our
    renderer's) and reads anywhere along it, and within a fifth of the height of its middle for an end
    pulse's vertical edge (which reads as the centre of a run from foot to top); and a quarter of the pulse's
    height or more off the straight line through the next two readings inwards; the resampler then holds the
    nearest reading. A QRS running into the edge mostly continues that line, and stays. Nothing is dropped
    when it would leave fewer than two points.
    """
    half = float(stroke_px or 1.0) / 2.0 + 0.5
    keep = np.ones(tr.x.size, bool)
    for p in abutting:
        zone = tr.x <= p.x_fall_px + half if p.side == "start" else tr.x >= p.x_rise_px - half
        inner = np.flatnonzero(~zone)
        if inner.size < 2:
            continue
        # the two readings next to the zone, inwards
        a, b = (inner[:2] if p.side == "start" else inner[-2:][::-1]).tolist()
        dx = tr.x[b] - tr.x[a]
        slope = (tr.y[b] - tr.y[a]) / dx if dx != 0 else 0.0  # split tips can share an x
        line = tr.y[a] + (tr.x - tr.x[a]) * slope
        reach = 0.5 * p.height_px + 1.0 if p.side == "start" else 0.2 * p.height_px
        on_edge = np.abs(tr.y - 0.5 * (p.top_y_px + p.foot_y_px)) <= reach
        off_line = np.abs(tr.y - line) >= 0.25 * p.height_px
        keep &= ~(zone & on_edge & off_line)
    if keep.all() or keep.sum() < 2:
        return tr.x, tr.y
    return tr.x[keep], tr.y[keep]


#: Limb-lead identities (exact for simultaneous samples): lead -> ((coefficient, lead), ...).
LIMB_IDENTITIES: dict[str, tuple[tuple[tuple[float, str], ...], ...]] = {
    "I": (((1.0, "II"), (-1.0, "III")), ((1.0, "aVL"), (0.5, "II"))),
    "II": (((1.0, "I"), (1.0, "III")), ((-2.0, "aVR"), (-1.0, "I"))),
    "III": (((1.0, "II"), (-1.0, "I")),),
    "aVR": (((-1.0, "aVL"), (-1.0, "aVF")), ((-0.5, "I"), (-0.5, "II"))),
    "aVL": (((-1.0, "aVR"), (-1.0, "aVF")), ((1.0, "I"), (-0.5, "II"))),
    "aVF": (((-1.0, "aVR"), (-1.0, "aVL")), ((1.0, "II"), (-0.5, "I"))),
}


def repair_missing_leads(
    sig: np.ndarray, segs: list[LeadSegment], missing: list[str], fs_hz: float
) -> list[str]:
    """Fill leads that could not be traced, in place, over the windows where the layout prints them: from the
    limb-lead identities wherever the other leads are known at the same samples, else with 0 mV. Returns the
    leads (partly) rebuilt from identities."""
    n = sig.shape[0]
    rebuilt = []
    for lead in missing:
        j = LEADS.index(lead)
        for s0, s1 in (sample_range(s.t0_s, s.duration_s, fs_hz, n) for s in segs if s.lead == lead):
            todo = np.isnan(sig[s0:s1, j])
            for terms in LIMB_IDENTITIES.get(lead, ()):
                parts = np.stack([sig[s0:s1, LEADS.index(name)] for _, name in terms])
                ok = todo & np.isfinite(parts).all(axis=0)
                if ok.any():
                    value = sum(c * p for (c, _), p in zip(terms, parts, strict=True))
                    sig[s0:s1, j][ok] = value[ok]
                    todo &= ~ok
                    rebuilt.append(lead)
            sig[s0:s1, j][todo] = 0.0
    return sorted(set(rebuilt), key=LEADS.index)


def complete_leads(
    sig: np.ndarray,
    segs: list[LeadSegment],
    fs_hz: float,
    *,
    max_missing_leads: int,
    limb_fit_weights: dict[str, float] | None,
    layout: str,
) -> tuple[np.ndarray, list[str], list[str], dict[str, Any]]:
    """(the record's signal with its untraced leads rebuilt (see the module docstring) and, with
    ``limb_fit_weights`` (None: no fit), its limb leads fitted; the leads that were missing; those rebuilt
    from the identities; the fit's meta)."""
    missing = [lead for j, lead in enumerate(LEADS) if not np.isfinite(sig[:, j]).any()]
    if len(missing) > max_missing_leads:
        raise DigitizationError(f"resample: no trace for lead(s) {', '.join(missing)} (layout {layout})")
    repaired = repair_missing_leads(sig, segs, missing, fs_hz) if missing else []
    sig, limb_meta = fit_limb_leads_with_check(sig, fs_hz, limb_fit_weights, untested=repaired)
    return sig, missing, repaired, limb_meta
