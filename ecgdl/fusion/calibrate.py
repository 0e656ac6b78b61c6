"""Fit the readers' error models on pages with exact truth (generated pages, never the dev sets).

:func:`centred_residuals` measures a reading's error the way the Kaggle metric sees it (one constant offset per
lead removed).

:func:`fit_fusion` fits both readers' error models together for what fusion is for: the difference of their
log-variances (which sets each reader's inverse-variance weight), and with the readings' gaps the agreement scale and
share (:func:`ecgdl.fusion.model.agreement`), maximise the Kaggle SNR of the fused reading, averaged over the
calibration sets (a pooled squared error would let the few worst pages decide every weight). :func:`fit_error_model` fits one reader's model alone by
maximum likelihood under a Student-t law (its scale, not its weight against another reader). ``scripts/calibrate_fusion.py`` runs both on
rendered, degraded pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from ecgdl.fusion.features import FEATURES
from ecgdl.fusion.model import ErrorModel, agreement

__all__ = ["FusionFit", "centred_residuals", "fit_error_model", "fit_fusion"]


class FusionFit(NamedTuple):
    """What :func:`fit_fusion` fits: both readers' error models and the agreement scale (mV; 0: not fitted) and
    reader ``a``'s share where the readings agree (``model.fusion``'s ``agree_mv`` / ``agree_weight``)."""

    a: ErrorModel
    b: ErrorModel
    agree_mv: float = 0.0
    agree_weight: float = 0.5


def centred_residuals(reading_mv: np.ndarray, truth_mv: np.ndarray) -> np.ndarray:
    """``reading - truth`` (T, 12) with each lead's mean residual removed (NaN where either is NaN), as the Kaggle
    SNR removes one constant offset per lead."""
    r = np.asarray(reading_mv, np.float64) - np.asarray(truth_mv, np.float64)
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(r).sum(axis=0)
        mean = np.where(counts > 0, np.nansum(r, axis=0) / np.maximum(counts, 1), 0.0)
    return r - mean


def fit_error_model(
    features: Sequence[Mapping[str, np.ndarray]],
    residuals_mv: Sequence[np.ndarray],
    names: Sequence[str] = FEATURES,
    dof: float = 4.0,
    max_samples: int = 400_000,
    seed: int = 0,
) -> ErrorModel:
    """The :class:`ErrorModel` (log-variance linear in ``names``) maximising the Student-t likelihood (``dof``
    degrees of freedom) of the residuals.

    ``features``: per page, name -> (T, 12) arrays; ``residuals_mv``: per page, (T, 12) residuals
    (:func:`centred_residuals`; NaN where the reader has no value: not counted). At most ``max_samples`` samples
    are used, drawn at random (``seed``)."""
    if len(features) != len(residuals_mv) or not features:
        raise ValueError("need one feature mapping per residual array, and at least one page")
    xs, ys = [], []
    for feats, res in zip(features, residuals_mv, strict=True):
        ok = np.isfinite(res)
        if ok.any():
            xs.append(np.stack([np.asarray(feats[n], np.float64)[ok] for n in names], axis=1))
            ys.append(res[ok])
    if not xs:
        raise ValueError("no finite residuals to fit")
    x, r = np.concatenate(xs), np.concatenate(ys)
    if len(r) > max_samples:
        pick = np.random.default_rng(seed).choice(len(r), max_samples, replace=False)
        x, r = x[pick], r[pick]
    r2 = r**2

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        log_var = np.clip(x @ theta, -30.0, 30.0)
        z = r2 / (dof * np.exp(log_var))
        value = np.mean(0.5 * log_var + 0.5 * (dof + 1.0) * np.log1p(z))
        grad = x.T @ (0.5 - 0.5 * (dof + 1.0) * z / (1.0 + z)) / len(r)
        return float(value), grad

    start = np.zeros(len(names))
    if "bias" in names:
        start[list(names).index("bias")] = float(np.log(np.median(r2) + 1e-12))
    theta = minimize(nll, start, jac=True, method="L-BFGS-B").x
    return ErrorModel({n: float(c) for n, c in zip(names, theta, strict=True)})


def fit_fusion(
    features: Sequence[Mapping[str, np.ndarray]],
    residuals_a_mv: Sequence[np.ndarray],
    residuals_b_mv: Sequence[np.ndarray],
    truths_mv: Sequence[np.ndarray],
    groups: Sequence[str] | None = None,
    names: Sequence[str] = FEATURES,
    l2: float = 1e-4,
    clip_mv: float = 2.0,
    max_ratio: float = 1e6,
    fit_agreement: bool = False,
    agree_starts_mv: Sequence[float] = (0.01, 0.03, 0.1),
) -> FusionFit:
    """Error models (a, b) of two readers of the same pages, fitted for fusing them (see module docstring).

    ``features``: per page, name -> (T, 12) arrays (one set for both readers); ``residuals_*_mv``: per page, each
    reader's ``reading - truth`` (NaN where the reader has no value: the other one's error counts there; the
    fused error's offset per lead is removed in the fit, as the metric removes it);
    ``truths_mv``: per page, the truth (its power is the page's signal); ``groups``: per page, the set it belongs
    to (default: one set). The fit maximises the mean over sets of 10 log10(mean over the set's pages of
    signal / error power), the Kaggle SNR of each set, error ratios capped at ``max_ratio`` as the metric caps
    them. ``l2``: ridge on the weight coefficients; residuals are clipped at ``clip_mv``. ``fit_agreement``: the
    agreement scale and share are fitted too, on the readings' gaps (``residual_a - residual_b``, before
    clipping), from the weights fitted alone, an even share and each scale of ``agree_starts_mv`` (the best fit
    kept; False: not fitted, agreement off).
    """
    n = len(features)
    if not (n == len(residuals_a_mv) == len(residuals_b_mv) == len(truths_mv)) or n == 0:
        raise ValueError(
            "need features, both readers' residuals and the truth for every page, and one page at least"
        )
    group_names = list(groups) if groups is not None else ["all"] * n
    if len(group_names) != n:
        raise ValueError(f"{len(group_names)} group labels for {n} pages")
    _, group = np.unique(group_names, return_inverse=True)
    n_groups = int(group.max()) + 1
    group_size = np.bincount(group, minlength=n_groups).astype(np.float64)
    xs, ras, rbs, gaps, pages, leads = [], [], [], [], [], []
    signal = np.zeros(n)
    fixed = np.zeros(n)  # error power of the samples only one reader read
    for i, (feats, ra, rb, truth) in enumerate(
        zip(features, residuals_a_mv, residuals_b_mv, truths_mv, strict=True)
    ):
        signal[i] = float(np.nansum(np.asarray(truth, np.float64) ** 2))
        fa, fb = np.isfinite(ra), np.isfinite(rb)
        fixed[i] = float(np.sum(np.clip(ra[fa & ~fb], -clip_mv, clip_mv) ** 2))
        fixed[i] += float(np.sum(np.clip(rb[fb & ~fa], -clip_mv, clip_mv) ** 2))
        both = fa & fb
        if both.any():
            xs.append(np.stack([np.asarray(feats[k], np.float64)[both] for k in names], axis=1))
            ras.append(np.clip(ra[both], -clip_mv, clip_mv))
            rbs.append(np.clip(rb[both], -clip_mv, clip_mv))
            gaps.append(np.abs(ra[both] - rb[both]))
            pages.append(np.full(int(both.sum()), i))
            leads.append(i * both.shape[-1] + np.nonzero(both)[-1])
    if not xs:
        raise ValueError("no sample read by both readers")
    x, ra, rb, page = (np.concatenate(v) for v in (xs, ras, rbs, pages))
    _, lead = np.unique(np.concatenate(leads), return_inverse=True)  # (page, lead) of each sample
    lead_size = np.bincount(lead).astype(np.float64)
    gap = np.concatenate(gaps)
    floor = signal / max_ratio + 1e-12  # the metric's cap on a page's ratio, as an error floor
    n_coef = len(names)

    def loss(theta: np.ndarray, agree: bool) -> tuple[float, np.ndarray]:
        # theta: the log-variance difference's coefficients, then (``agree``) log agree_mv and logit agree_weight
        delta = theta[:n_coef]
        w = 1.0 / (1.0 + np.exp(-np.clip(x @ delta, -50.0, 50.0)))  # weight of a = v_b / (v_a + v_b)
        if agree:
            scale, share = np.exp(theta[n_coef]), 1.0 / (1.0 + np.exp(-theta[n_coef + 1]))
            p = agreement(gap, float(scale))
            w_eff = (1.0 - p) * w + p * share
        else:
            w_eff = w
        err = w_eff * ra + (1.0 - w_eff) * rb
        # each lead's offset removed, as the metric does
        err = err - (np.bincount(lead, err) / lead_size)[lead]
        noise = np.maximum(np.bincount(page, err**2, n) + fixed, floor)
        ratio = signal / noise
        mean_ratio = np.bincount(group, ratio, n_groups) / group_size
        value = -np.mean(np.log(mean_ratio)) + l2 * float(delta @ delta)
        # d value / d noise_p = ratio_p / (noise_p * group_size_g * mean_ratio_g * n_groups)
        d_noise = ratio / (noise * group_size[group] * mean_ratio[group] * n_groups)
        d_w_eff = d_noise[page] * 2.0 * err * (ra - rb)  # d value / d w_eff, per sample
        if not agree:
            return float(value), x.T @ (d_w_eff * w * (1.0 - w)) + 2.0 * l2 * delta
        grad = np.empty_like(theta)
        grad[:n_coef] = x.T @ (d_w_eff * (1.0 - p) * w * (1.0 - w)) + 2.0 * l2 * delta
        grad[n_coef] = float(np.sum(d_w_eff * (share - w) * p * (gap / scale) ** 2))  # dp / dlog(scale)
        grad[n_coef + 1] = float(np.sum(d_w_eff * p)) * share * (1.0 - share)
        return float(value), grad

    # first the weights alone, then (fit_agreement) from there with the agreement
    theta = minimize(loss, np.zeros(n_coef), args=(False,), jac=True, method="L-BFGS-B").x
    if fit_agreement:
        # the agreement's loss has several local optima: start at each scale and keep the best
        fits = [
            minimize(loss, np.r_[theta, np.log(a), 0.0], args=(True,), jac=True, method="L-BFGS-B")
            for a in agree_starts_mv
        ]
        theta = min(fits, key=lambda r: r.fun).x
    delta = theta[:n_coef]
    # only the difference of the log-variances sets the weights: split it evenly between the two models
    model_a = ErrorModel({k: -d / 2.0 for k, d in zip(names, delta, strict=True)})
    model_b = ErrorModel({k: d / 2.0 for k, d in zip(names, delta, strict=True)})
    if not fit_agreement:
        return FusionFit(model_a, model_b)
    return FusionFit(model_a, model_b, float(np.exp(theta[-2])), float(1.0 / (1.0 + np.exp(-theta[-1]))))
