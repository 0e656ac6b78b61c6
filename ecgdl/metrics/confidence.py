"""How far to trust a reading without its truth: a calibrated probability that the page was read well.

A reading of a page carries its own evidence. Limb leads printed at the same instants must obey Einthoven
(I + III = II) and Goldberger (aVR + aVL + aVF = 0) whatever the patient: a wrong layout, leads assigned to the
wrong rows, a misplaced time window or a trace that jumped rows breaks them. A page read without a grid, or with
leads that could not be traced, is less sure too. :class:`ConfidenceModel` is a logistic model of
"the page's Kaggle SNR is at least ``good_db``" on those figures (:func:`confidence_features`), fitted on generated
pages with exact truth by ``scripts/calibrate_confidence.py`` (:func:`fit_confidence`); its coefficients live in the
configs (``confidence:`` in conf/predict.yaml and conf/evaluate.yaml).

What it cannot see: a page read consistently at the wrong gain or speed (Einthoven holds at any scale). A
reading that leaves almost every sample unread tests the identities on too few samples to count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ecgdl.constants import LEAD_INDEX, LIMB_LEADS
from ecgdl.signals.einthoven import einthoven_consistency_db
from ecgdl.signals.limb import limb_consistency_db

__all__ = ["FEATURES", "ConfidenceModel", "confidence_features", "fit_confidence", "with_derived"]

#: The figures the confidence is a logistic function of, in this order. ``weaker_db`` is the lower of the two
#: consistency figures: a page is read right only when *both* relations hold (on a 3x4 page they test different
#: columns), and a sum of the two lets one that holds very well (three leads read flat agree at 30 dB) hide one
#: that fails.
FEATURES: tuple[str, ...] = ("einthoven_db", "goldberger_db", "weaker_db", "grid_found", "missing_leads")
#: Consistency figures are clipped to this range (dB): a perfect reading's are unbounded.
_CLIP_DB = (-10.0, 40.0)
#: Limb-lead consistency counts only when three limb leads were read together for this long (a beat at 60 bpm);
#: under it both figures take the range's floor.
MIN_TESTED_S = 1.0


def _limb_seconds(signal_mv: np.ndarray, fs_hz: float) -> float:
    """How long at least three limb leads of ``signal_mv`` (T x 12, NaN where not read) hold values together."""
    limb = np.isfinite(np.asarray(signal_mv, np.float64)[:, [LEAD_INDEX[n] for n in LIMB_LEADS]])
    return float(np.count_nonzero(limb.sum(axis=1) >= 3)) / float(fs_hz)


def confidence_features(
    signal_mv: np.ndarray, fs_hz: float, meta: Mapping[str, Any] | None
) -> dict[str, float]:
    """The reading's :data:`FEATURES`: limb-lead consistency before any fit to Einthoven / Goldberger (the
    digitizer's ``raw_*`` figures when it fitted them, else measured on ``signal_mv``; a relation no samples test
    takes :func:`~ecgdl.signals.limb.limb_consistency_db`'s figure), whether a grid gave the
    scale (1 when the digitizer does not say), and how many leads could not be traced. Consistency measured on
    less than :data:`MIN_TESTED_S` of three limb leads read together counts as the worst."""
    meta = meta or {}
    if "raw_einthoven_db" in meta:
        e_db, g_db = float(meta["raw_einthoven_db"]), float(meta["raw_goldberger_db"])
        limb_db = float(meta.get("raw_limb_db", np.nan))
    else:
        res = einthoven_consistency_db(np.asarray(signal_mv, np.float64), fs_hz)
        e_db, g_db = float(res.einthoven_db), float(res.goldberger_db)
        limb_db = limb_consistency_db(np.asarray(signal_mv, np.float64))
    # a layout that never prints I, II and III (or aVR, aVL and aVF) together, as Cabrera's 3x4, leaves a relation
    # unmeasured: the consistency of whichever limb leads it prints together stands in for it
    e_db = limb_db if np.isnan(e_db) else e_db
    g_db = limb_db if np.isnan(g_db) else g_db
    if _limb_seconds(signal_mv, fs_hz) < MIN_TESTED_S:
        # a reading that leaves three limb leads together for less than a beat tests nothing: a few samples of
        # a page read sideways agree as well as a whole page read right
        e_db = g_db = np.nan
    missing = len(meta.get("missing_leads") or []) + len(meta.get("leads_from_einthoven") or [])
    return with_derived(
        {
            "einthoven_db": float(np.clip(np.nan_to_num(e_db, nan=_CLIP_DB[0]), *_CLIP_DB)),
            "goldberger_db": float(np.clip(np.nan_to_num(g_db, nan=_CLIP_DB[0]), *_CLIP_DB)),
            "grid_found": float(bool(meta.get("grid_found", True))),
            "missing_leads": float(missing),
        }
    )


def with_derived(features: Mapping[str, float]) -> dict[str, float]:
    """``features`` with the figures derived from the others (``weaker_db``) added where absent (readings
    cached before they existed)."""
    out = dict(features)
    out.setdefault("weaker_db", float(min(out["einthoven_db"], out["goldberger_db"])))
    return out


@dataclass(frozen=True)
class ConfidenceModel:
    """P(page SNR >= ``good_db``) = sigmoid(``intercept`` + sum of ``weights[f]`` x feature ``f``); a reading
    under ``threshold`` is flagged ``low_confidence``. The defaults (no weights) give every page 0.5."""

    intercept: float = 0.0
    weights: Mapping[str, float] = field(default_factory=dict)
    threshold: float = 0.5
    good_db: float = 10.0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown confidence feature(s) {unknown}; valid: {list(FEATURES)}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {self.threshold}")

    def __call__(self, features: Mapping[str, float]) -> float:
        features = with_derived(features)
        z = self.intercept + sum(float(w) * float(features[f]) for f, w in self.weights.items())
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0))))

    def of(self, signal_mv: np.ndarray, fs_hz: float, meta: Mapping[str, Any] | None) -> float:
        """The confidence of one reading (see :func:`confidence_features`)."""
        return self(confidence_features(signal_mv, fs_hz, meta))

    def is_low(self, confidence: float) -> bool:
        return confidence < self.threshold


def fit_confidence(
    features: Sequence[Mapping[str, float]],
    page_snr_db: Sequence[float],
    *,
    good_db: float = 10.0,
    threshold: float = 0.5,
    l2: float = 1e-2,
) -> ConfidenceModel:
    """Logistic regression of ``page SNR >= good_db`` on the readings' ``features`` (L2 penalty ``l2`` on the
    standardised weights, fitted by L-BFGS), returned in the features' own units."""
    x = np.array([[float(with_derived(f)[k]) for k in FEATURES] for f in features], np.float64)
    y = (np.asarray(page_snr_db, np.float64) >= good_db).astype(np.float64)
    if x.shape[0] != y.size or y.size < 4:
        raise ValueError(
            f"need matching features and SNRs for at least 4 pages, got {x.shape[0]} and {y.size}"
        )
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    xs = (x - mu) / sd

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + xs @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        nll = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * np.sum(theta[1:] ** 2)
        g = p - y
        grad = np.r_[g.mean(), xs.T @ g / y.size + l2 * theta[1:]]
        return float(nll), grad

    theta = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    w = theta[1:] / sd
    return ConfidenceModel(
        intercept=float(theta[0] - np.sum(w * mu)),
        weights={k: float(v) for k, v in zip(FEATURES, w, strict=True)},
        threshold=threshold,
        good_db=good_db,
    )
