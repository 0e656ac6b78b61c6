"""Limb-lead physics: the six limb leads are two-dimensional, so a digitized page can be fitted to them.

Every limb lead is a fixed mix of leads I and II (Einthoven: III = II - I; Goldberger: aVR = -(I + II)/2,
aVL = I - II/2, aVF = II - I/2), exactly so for simultaneously recorded samples. A page prints several limb leads
at the same time (a 3x4 column holds I, II, III; the next aVR, aVL, aVF; a rhythm strip adds II to both), and each
was read off the paper with its own error. :func:`fit_limb_leads` replaces them by the weighted least-squares
projection onto the leads that obey the identities: the errors of the leads read at the same instant partly
cancel (with three equally good leads printed together the error energy falls to 2/3).

Digitizers find each lead's zero line separately, so each lead's mean over a stretch is kept as read and only the
shape is fitted (a baseline offset of one lead is not spread over the others; the Kaggle metric forgives a constant
offset per lead anyway).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ecgdl.constants import LEAD_INDEX, N_LEADS
from ecgdl.signals.einthoven import einthoven_consistency_db

__all__ = [
    "LIMB_FROM_I_II",
    "LIMB_LEADS",
    "fit_limb_leads",
    "fit_limb_leads_with_check",
    "limb_consistency_db",
    "limb_weights",
]

#: The limb leads, in record order.
LIMB_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF")

#: (6, 2): limb lead values = LIMB_FROM_I_II @ (I, II).
LIMB_FROM_I_II = np.array(
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0], [-0.5, -0.5], [1.0, -0.5], [-0.5, 1.0]], dtype=np.float64
)


def _stretches(printed: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(start, end, printed limb-lead columns) of each maximal run of samples with the same printed set."""
    key = printed @ (1 << np.arange(printed.shape[1]))
    edges = np.flatnonzero(np.diff(key)) + 1
    starts = np.r_[0, edges]
    ends = np.r_[edges, printed.shape[0]]
    return [(int(a), int(b), np.flatnonzero(printed[a])) for a, b in zip(starts, ends, strict=True)]


def _fitted_stretches(sig: np.ndarray, min_samples: int):
    """(start, end, record columns, indices into ``LIMB_LEADS``, mix) of each stretch of at least ``min_samples``
    samples where the same three or more limb leads are printed and determine I and II (``mix``: their rows of
    :data:`LIMB_FROM_I_II`)."""
    cols = np.array([LEAD_INDEX[name] for name in LIMB_LEADS])
    if sig.shape[0] == 0:
        return
    for a, b, idx in _stretches(np.isfinite(sig[:, cols])):
        mix = LIMB_FROM_I_II[idx]
        if idx.size >= 3 and b - a >= min_samples and np.linalg.matrix_rank(mix) >= 2:
            yield a, b, cols[idx], idx, mix


def limb_weights(lead_weights: Mapping[str, float] | None = None) -> np.ndarray:
    """The weight of each of ``LIMB_LEADS`` (default 1) from ``lead_weights`` (lead name -> weight > 0); a name
    that is not a limb lead or a weight that is not positive is a ValueError naming it."""
    w = np.ones(len(LIMB_LEADS))
    for name, value in (lead_weights or {}).items():
        if name not in LIMB_LEADS:
            raise ValueError(
                f"lead_weights: {name!r} is not a limb lead; limb leads: {', '.join(LIMB_LEADS)}"
            )
        if not value > 0:
            raise ValueError(f"lead_weights[{name!r}] must be > 0, got {value}")
        w[LIMB_LEADS.index(name)] = float(value)
    return w


def fit_limb_leads_with_check(
    signal_mv: np.ndarray,
    fs_hz: float,
    lead_weights: Mapping[str, float] | None,
    untested: Sequence[str] = (),
) -> tuple[np.ndarray, dict[str, Any]]:
    """What a digitizer does last: (``signal_mv`` fitted by :func:`fit_limb_leads` with ``lead_weights``, or as
    it is when they are None; meta entries ``limb_fit`` and the Einthoven / Goldberger consistency of the
    reading *before* the fit, ``raw_einthoven_db`` / ``raw_goldberger_db``, the truth-free check of a page, and
    ``raw_limb_db``, :func:`limb_consistency_db` of the same, which any three limb leads printed together give).

    ``untested``: leads left out of the check (NaN there) because they were not read but rebuilt from the other
    limb leads: a rebuilt lead obeys the identities by construction, and a reading that traced only a few limb
    leads would otherwise pass the check at its 60-dB cap. A relation left without samples is NaN.
    """
    checked = signal_mv
    if untested:
        checked = np.array(signal_mv, dtype=np.float64, copy=True)
        checked[:, [LEAD_INDEX[name] for name in untested]] = np.nan
    raw = einthoven_consistency_db(checked, fs_hz)
    meta = {
        "limb_fit": lead_weights is not None,
        "raw_einthoven_db": raw.einthoven_db,
        "raw_goldberger_db": raw.goldberger_db,
        "raw_limb_db": limb_consistency_db(checked),
    }
    if lead_weights is None:
        return signal_mv, meta
    return fit_limb_leads(signal_mv, lead_weights), meta


def fit_limb_leads(
    signal_mv: np.ndarray, lead_weights: Mapping[str, float] | None = None, min_samples: int = 2
) -> np.ndarray:
    """Project the limb leads of ``signal_mv`` (T, 12), NaN where a lead is not printed, onto the identities.

    Over each stretch of samples where the same three or more limb leads are printed (and they determine I and II),
    the printed values are replaced by the weighted least-squares fit ``LIMB_FROM_I_II @ (I, II)`` of their
    demeaned values, plus each lead's own mean over the stretch. ``lead_weights`` (lead name -> weight, default 1)
    weighs a lead read more reliably than the others. Stretches with fewer than ``min_samples`` samples, leads not
    printed (NaN) and the chest leads are left as they are. Returns a new array.
    """
    sig = np.asarray(signal_mv, dtype=np.float64)
    if sig.ndim != 2 or sig.shape[1] != N_LEADS:
        raise ValueError(f"signal_mv must be (T, {N_LEADS}), got {sig.shape}")
    w = limb_weights(lead_weights)
    out = sig.copy()
    for a, b, cols, idx, mix in _fitted_stretches(sig, min_samples):
        y = sig[a:b, cols]
        mean = y.mean(axis=0)
        wi = w[idx]
        # weighted normal equations: (A^T W A) beta = A^T W y, one 2x2 solve for the whole stretch
        normal = mix.T @ (wi[:, None] * mix)
        beta = np.linalg.solve(normal, mix.T @ (wi[:, None] * (y - mean).T))
        out[a:b, cols] = (mix @ beta).T + mean
    return out


def limb_consistency_db(signal_mv: np.ndarray, min_samples: int = 2) -> float:
    """How well the printed limb leads of ``signal_mv`` (T, 12; NaN where not printed) obey the identities, in dB:
    ``10 log10(sum y^2 / sum (y - fit)^2)`` over every stretch where three or more limb leads that determine I
    and II are printed together, ``y`` their demeaned values and ``fit`` their unweighted least-squares projection
    (:func:`fit_limb_leads`). Unlike Einthoven's and Goldberger's relations, which need I, II, III or aVR, aVL, aVF
    at the same instants, this counts any three limb leads printed together (a Cabrera column holds aVL, I, -aVR).
    NaN when no stretch qualifies; 60 dB for an exact fit."""
    sig = np.asarray(signal_mv, dtype=np.float64)
    if sig.ndim != 2 or sig.shape[1] != N_LEADS:
        raise ValueError(f"signal_mv must be (T, {N_LEADS}), got {sig.shape}")
    energy = residual = 0.0
    counted = False
    for a, b, cols, _, mix in _fitted_stretches(sig, min_samples):
        y = sig[a:b, cols]
        y = y - y.mean(axis=0)
        beta, *_ = np.linalg.lstsq(mix, y.T, rcond=None)
        energy += float((y**2).sum())
        residual += float(((y.T - mix @ beta) ** 2).sum())
        counted = True
    if not counted:
        return float("nan")
    if residual <= energy * 1e-6:
        return 60.0
    return float(10.0 * np.log10(energy / residual))
