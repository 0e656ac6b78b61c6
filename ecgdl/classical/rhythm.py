"""Which lead a page's rhythm strip shows, decided by the page itself.

A machine prints one lead over the whole 10 s below the 3x4 grid: lead II most often, V1 or V5 when the user
chose so. The strip then shows, in each column's time window, the same curve as that lead's own short segment
above. :func:`rhythm_strip_lead` compares the traced strip, window by window, with every short segment (Pearson
correlation of the two traced lines at the same instants where both were traced, in page pixels: no scale is
needed), lead II also with the II that each column's limb leads give (:func:`limb_lead_ii`), and names the
candidate lead whose segment it matches; the layout's own rhythm lead is kept unless another candidate matches
better (by ``margin``) and well (at least ``min_corr``): an unreadable short segment must not relabel a strip.
The digitizer renames the strip only when the renamed reading also obeys Einthoven clearly better
(:func:`rhythm_checked`, which :meth:`ecgdl.classical.ClassicalDigitizer.read_page` calls).

The two figures were chosen on generated 3x4+II / +V1 / +V5 pages under five presets read by the classical
digitizer (``python scripts/calibrate_rhythm.py``): the true lead's match was under 0.69 only where its short
segment was traced badly, and II, V5 and aVF look alike on many records, so a V5 strip that looks like II within
0.05 stays II.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ecgdl.classical.page import LeadSegment, PageGeometry
from ecgdl.classical.resample import SegmentSignal, assemble_record
from ecgdl.layouts import LAYOUTS
from ecgdl.signals.einthoven import einthoven_consistency_db
from ecgdl.signals.limb import LIMB_FROM_I_II, LIMB_LEADS

__all__ = [
    "RHYTHM_CANDIDATES",
    "RHYTHM_MIN_GAIN_DB",
    "limb_lead_ii",
    "rhythm_checked",
    "rhythm_match",
    "rhythm_relabelled",
    "rhythm_strip_lead",
]

#: leads a 3x4 page's single rhythm strip may show (each has a ``3x4+<lead>`` layout in :mod:`ecgdl.layouts`)
RHYTHM_CANDIDATES: tuple[str, ...] = ("II", "V1", "V5")


def _times(sig: SegmentSignal) -> np.ndarray:
    return sig.t0_s + (np.asarray(sig.x_px, np.float64) - sig.x0_px) / sig.px_per_s


def _traced(sig: SegmentSignal) -> tuple[np.ndarray, np.ndarray]:
    """(instants, page rows) of the traced columns of ``sig``, in time order."""
    t, y = _times(sig), np.asarray(sig.y_px, np.float64)
    ok = np.isfinite(y)
    order = np.argsort(t[ok])
    return t[ok][order], y[ok][order]


def _traced_at(ts: np.ndarray, ys: np.ndarray, t: np.ndarray, max_dt_s: float) -> np.ndarray:
    """The traced line (``ts`` sorted, ``ys``; at least two points) at the instants ``t``: NaN outside it and
    farther than ``max_dt_s`` from every traced instant (no line drawn across a gap in the trace)."""
    i = np.clip(np.searchsorted(ts, t), 1, len(ts) - 1)
    near = np.minimum(np.abs(ts[i] - t), np.abs(ts[i - 1] - t)) <= max_dt_s
    return np.where(near & (t >= ts[0]) & (t <= ts[-1]), np.interp(t, ts, ys), np.nan)


def rhythm_match(
    strip: SegmentSignal,
    short: SegmentSignal,
    max_lag_s: float = 0.12,
    min_points: int = 20,
    max_gap_px: float = 1.5,
) -> float:
    """Pearson correlation of the ``strip`` and a ``short`` segment at the short segment's instants, the best
    over time shifts of the strip up to ``max_lag_s`` (printers place a rhythm strip's time origin a few
    hundredths of a second off the grid rows'; the question here is which curve, not when); NaN when they
    share fewer than ``min_points`` traced columns or either is flat there.

    Only instants within ``max_gap_px`` columns of a traced strip column count: where the tracer lost the
    strip's QRS complexes (a label or stain beside them), a line drawn across the gap would match every short
    lead by its beats' timing alone (all leads beat together) and hide how well the rest of the curve agrees."""
    ts, ys = _traced(strip)
    if ts.size < 2:
        return float("nan")
    tq, yq = _times(short), np.asarray(short.y_px, np.float64)
    ok_q = np.isfinite(yq)
    tq, b = tq[ok_q], yq[ok_q]
    step = 1.0 / strip.px_per_s  # one pixel column
    best = float("nan")
    for lag in np.arange(-max_lag_s, max_lag_s + step / 2, step):
        a = _traced_at(ts, ys, tq + lag, max_gap_px * step)
        inside = np.isfinite(a)
        if inside.sum() < min_points:
            continue
        a, bb = a[inside], b[inside]
        if np.std(a) == 0 or np.std(bb) == 0:
            continue
        r = float(np.corrcoef(a, bb)[0, 1])
        best = r if not np.isfinite(best) else max(best, r)
    return best


def limb_lead_ii(shorts: Sequence[SegmentSignal], max_gap_px: float = 1.5) -> list[SegmentSignal]:
    """Lead II as each column's limb leads give it: at every instant where all the column's limb leads are
    traced (within ``max_gap_px`` columns), the least-squares solution of Einthoven's and Goldberger's equations
    (:data:`~ecgdl.signals.limb.LIMB_FROM_I_II`), in page pixels from each row's baseline; one signal per column
    with at least two limb leads (a 3x4 page: I, II, III and aVR, aVL, aVF).

    A strip that shows lead II is then compared with lead II twice over, so that one window in which the
    strip was traced badly (a stain, a label) does not decide alone: leads that beat with II (V1, V5) match
    the strip in their own window on the beats' timing and shape."""
    columns: dict[float, list[SegmentSignal]] = {}
    for s in shorts:
        if s.lead in LIMB_LEADS:
            columns.setdefault(round(s.t0_s, 3), []).append(s)
    out = []
    for segs in columns.values():
        if len(segs) < 2:
            continue
        ref = max(segs, key=lambda s: int(np.isfinite(s.y_px).sum()))
        t = _times(ref)
        values = []
        for s in segs:
            ts, ys = _traced(s)
            if ts.size < 2:
                break
            values.append(_traced_at(ts, ys - s.baseline_y_px, t, max_gap_px / ref.px_per_s))
        else:  # every limb lead of the column has a trace
            a = np.stack(values, axis=1)
            ok = np.isfinite(a).all(axis=1)
            if ok.sum() < 2:
                continue
            mix = np.linalg.pinv(LIMB_FROM_I_II[[LIMB_LEADS.index(s.lead) for s in segs]])[1]
            out.append(
                replace(ref, lead="II", baseline_y_px=0.0, x_px=np.asarray(ref.x_px)[ok], y_px=a[ok] @ mix)
            )
    return out


def rhythm_strip_lead(
    strip: SegmentSignal,
    shorts: Sequence[SegmentSignal],
    candidates: Sequence[str] = RHYTHM_CANDIDATES,
    *,
    min_corr: float = 0.6,
    margin: float = 0.05,
) -> tuple[str, dict[str, float]]:
    """(the lead ``strip`` shows, its correlation with each candidate's short segment; for II the best of that
    and of the II each column's limb leads give, :func:`limb_lead_ii`). ``strip.lead`` (the layout's) is kept
    unless a candidate correlates at least ``min_corr`` and ``margin`` more than it."""
    scores = {s.lead: rhythm_match(strip, s) for s in shorts if s.lead in candidates}
    if "II" in candidates:  # lead II wherever the page shows it: in its own column and through the others'
        limb = [rhythm_match(strip, ii) for ii in limb_lead_ii(shorts)]
        finite = [r for r in (scores.get("II", float("nan")), *limb) if np.isfinite(r)]
        if finite:
            scores["II"] = max(finite)
    own = scores.get(strip.lead, float("nan"))
    best = max((k for k in scores if np.isfinite(scores[k])), key=lambda k: scores[k], default=None)
    if (
        best is not None
        and best != strip.lead
        and scores[best] >= min_corr
        and (not np.isfinite(own) or scores[best] >= own + margin)
    ):
        return best, scores
    return strip.lead, scores


def rhythm_relabelled(
    geometry: PageGeometry, segs: list[LeadSegment], signals: list[SegmentSignal]
) -> tuple[PageGeometry, list[LeadSegment], list[SegmentSignal]] | None:
    """The geometry, segments and traced signals with a single rhythm strip named after the short lead it
    matches (:func:`~ecgdl.classical.rhythm.rhythm_strip_lead`; layouts ``3x4+II``, ``3x4+V1``, ``3x4+V5``), or
    None when it keeps its name."""
    spec = LAYOUTS[geometry.layout]
    if len(spec.rhythm) != 1 or f"3x4+{spec.rhythm[0]}" != geometry.layout:
        return None
    strip_row = len(spec.grid)
    strip = next(
        (g for g in signals if g.lead == spec.rhythm[0] and g.t0_s == 0 and g.duration_s > 5.0), None
    )
    if strip is None:
        return None
    lead, _ = rhythm_strip_lead(strip, [g for g in signals if g is not strip])
    if lead == strip.lead or f"3x4+{lead}" not in LAYOUTS:
        return None
    segs = [replace(seg, lead=lead) if seg.row >= strip_row else seg for seg in segs]
    signals = [replace(g, lead=lead) if g is strip else g for g in signals]
    return replace(geometry, layout=f"3x4+{lead}", segments=tuple(segs)), segs, signals


#: a renamed rhythm strip must make the limb leads obey Einthoven this much better (dB)
RHYTHM_MIN_GAIN_DB = 3.0


def rhythm_checked(
    geometry: PageGeometry,
    segs: list[LeadSegment],
    signals: list[SegmentSignal],
    fs_hz: float,
    n_samples: int,
    interpolation: str = "cubic",
    max_spline_gap_s: float = 0.08,
) -> tuple[PageGeometry, list[LeadSegment], list[SegmentSignal]]:
    """A rhythm strip renamed after the short lead it matches (:func:`rhythm_relabelled`), when the page's limb
    leads then obey Einthoven at least ``RHYTHM_MIN_GAIN_DB`` better (the strip stands for lead II over the whole
    record while it is named II: a V1 strip so named breaks I + III = II, and renaming a true II strip gains
    nothing); else the inputs unchanged. ``interpolation`` and ``max_spline_gap_s`` assemble the record the way
    the digitizer does (:func:`~ecgdl.classical.resample.assemble_record`)."""
    relabelled = rhythm_relabelled(geometry, segs, signals)
    if relabelled is None:
        return geometry, segs, signals

    def einthoven_db(sigs: list[SegmentSignal]) -> float:
        sig, _ = assemble_record(sigs, fs_hz, n_samples, interpolation, max_spline_gap_s)
        return float(np.nan_to_num(einthoven_consistency_db(sig, fs_hz).einthoven_db, nan=-np.inf))

    if einthoven_db(relabelled[2]) >= einthoven_db(signals) + RHYTHM_MIN_GAIN_DB:
        return relabelled
    return geometry, segs, signals
