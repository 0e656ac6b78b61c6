"""Per-sample error models of the trace readers and the one rule that fuses their readings.

Every reader returns, for each (sample, lead), a value in mV and the features its error depends on (its own
uncertainty, the page's quality, where the sample lies on the page: see :mod:`ecgdl.fusion.features`). An
:class:`ErrorModel` turns those features into the scale of the reader's error (a variance, mV^2) through a
log-linear model, fitted on generated pages whose truth is exact (:func:`ecgdl.fusion.calibrate.fit_fusion`).
:func:`fuse_readings` then combines two readings sample by sample: their inverse-variance weighted mean. Where one
reader's log-variance lies far below the other's (the fitted models make this the rule rather than the exception:
a reader near a pulse, or a network whose height distribution has no clear peak, is not to be averaged in) the mean
is that reader's reading. Where the two readings agree to within a pixel or so, both have found the stroke and
what is left are their small independent errors: there they are averaged with a fixed share
(:func:`agreement`), whatever their error models say about gross errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ecgdl.fusion.features import FEATURES

__all__ = ["ErrorModel", "FusionConfig", "agreement", "fuse_readings"]


@dataclass(frozen=True)
class ErrorModel:
    """Scale of a reader's error: variance (mV^2) = ``exp(sum(coef[f] * feature[f]))`` over :data:`FEATURES`.

    ``coef``: a coefficient per feature name (missing names count 0; an empty model gives 1 mV^2 everywhere).
    """

    coef: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.coef) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown error-model features {unknown}; valid: {', '.join(FEATURES)}")
        bad = {k: v for k, v in self.coef.items() if not np.isfinite(float(v))}
        if bad:
            raise ValueError(f"error-model coefficients must be finite, got {bad}")
        object.__setattr__(self, "coef", {k: float(v) for k, v in self.coef.items()})

    def variance(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        """Variance (mV^2) per sample from ``features`` (name -> array, all of one shape; missing ones count 0)."""
        shape = np.broadcast_shapes(*(np.shape(v) for v in features.values())) if features else ()
        log_var = np.zeros(shape)
        for name, c in self.coef.items():
            if c and name in features:
                log_var = log_var + c * np.asarray(features[name], np.float64)
        return np.exp(np.clip(log_var, -30.0, 30.0))


@dataclass(frozen=True)
class FusionConfig:
    """How a crop network's reading and the classical tracer's are fused (``model.fusion`` in the configs).

    ``network`` / ``classical``: each reader's :class:`ErrorModel` (dicts are converted). ``edge_margin_mm``,
    ``edge_context_s``, ``edge_agree_mv``: where the trace counts as leaving a crop, which censors the network's
    reading there: the classical reading within ``edge_margin_mm`` of the crop's top or bottom, widened by
    ``edge_context_s``, and meeting the network's within ``edge_agree_mv`` where the stretch begins and ends.
    ``stray_s`` > 0: a stretch out of the crop that long is the classical tracer on another row's trace (no
    wave of the crop's own row stays out of it so long), which censors the classical reading there instead.
    ``context_s``: how far from a calibration pulse or a lead-to-lead join a sample counts as next to it
    (features ``near_pulse`` / ``near_join``). ``min_var_mv2``: the smallest variance any reading is given.
    ``agree_mv`` > 0, ``agree_weight``: where the readings lie within about ``agree_mv`` of each other the
    network's weight moves towards ``agree_weight`` (:func:`agreement`); 0 = off.
    Empty error models give both readers one variance: their plain mean where both read.
    """

    network: ErrorModel = field(default_factory=ErrorModel)
    classical: ErrorModel = field(default_factory=ErrorModel)
    edge_margin_mm: float = 1.25
    edge_context_s: float = 0.02
    edge_agree_mv: float = 0.25
    stray_s: float = 0.0
    context_s: float = 0.04
    min_var_mv2: float = 1e-12
    agree_mv: float = 0.0
    agree_weight: float = 0.5

    def __post_init__(self) -> None:
        for name in ("network", "classical"):
            value = getattr(self, name)
            if not isinstance(value, ErrorModel):
                coef = value.get("coef", value) if isinstance(value, Mapping) else value
                object.__setattr__(self, name, ErrorModel(dict(coef or {})))
        for name in (
            "edge_margin_mm",
            "edge_context_s",
            "edge_agree_mv",
            "stray_s",
            "context_s",
            "min_var_mv2",
            "agree_mv",
            "agree_weight",
        ):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.min_var_mv2 <= 0:
            raise ValueError(f"min_var_mv2 must be positive, got {self.min_var_mv2}")
        if self.agree_mv < 0 or not 0.0 <= self.agree_weight <= 1.0:
            raise ValueError(
                f"agree_mv must be >= 0 and agree_weight in [0, 1], got {self.agree_mv}, {self.agree_weight}"
            )

    def fuse(
        self, network_mv: np.ndarray, classical_mv: np.ndarray, features: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(fused reading, the network's weight): :func:`fuse_readings` with both readers' variances from their
        error models on ``features`` (at least ``min_var_mv2``) and the agreement share (``agree_*``)."""
        var_net = np.maximum(self.network.variance(features), self.min_var_mv2)
        var_cls = np.maximum(self.classical.variance(features), self.min_var_mv2)
        return fuse_readings(network_mv, var_net, classical_mv, var_cls, self.agree_mv, self.agree_weight)


def agreement(gap_mv: np.ndarray, agree_mv: float) -> np.ndarray:
    """How surely two readings ``gap_mv`` apart (mV, any shape) have found the same stroke, in [0, 1]:
    ``exp(-(gap / agree_mv)^2 / 2)``, 1 where they coincide; 0 everywhere when ``agree_mv`` is 0 (or the gap
    is NaN)."""
    gap = np.abs(np.asarray(gap_mv, np.float64))
    if agree_mv <= 0:
        return np.zeros(gap.shape)
    return np.where(np.isfinite(gap), np.exp(-0.5 * (np.nan_to_num(gap) / agree_mv) ** 2), 0.0)


def fuse_readings(
    a_mv: np.ndarray,
    var_a: np.ndarray,
    b_mv: np.ndarray,
    var_b: np.ndarray,
    agree_mv: float = 0.0,
    agree_weight: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse two readings of the same samples (any shape, NaN where a reader has no value): the inverse-variance
    weighted mean where both are finite, the one that is where only one is. Where both are finite and
    ``agree_mv`` > 0, ``a``'s weight ``w`` becomes ``(1 - p) w + p agree_weight`` with ``p`` the readings'
    :func:`agreement`. Returns (fused values, weight of ``a`` in [0, 1]; NaN where neither reader has a value)."""
    a, b = np.asarray(a_mv, np.float64), np.asarray(b_mv, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"readings must have one shape, got {a.shape} and {b.shape}")
    va = np.broadcast_to(np.asarray(var_a, np.float64), a.shape)
    vb = np.broadcast_to(np.asarray(var_b, np.float64), b.shape)
    if (va <= 0).any() or (vb <= 0).any():
        raise ValueError("variances must be positive")
    fa, fb = np.isfinite(a), np.isfinite(b)
    # vb / (va + vb) computed from the log-ratio: the variances may differ by many orders of magnitude
    w = 1.0 / (1.0 + np.exp(np.clip(np.log(va) - np.log(vb), -700.0, 700.0)))
    p = agreement(a - b, agree_mv)
    w = (1.0 - p) * w + p * agree_weight
    w = np.where(fa & fb, w, np.where(fa, 1.0, np.where(fb, 0.0, np.nan)))
    out = np.where(fa & fb, w * np.nan_to_num(a) + (1.0 - w) * np.nan_to_num(b), np.where(fa, a, b))
    return out, w
