"""The Kaggle "PhysioNet - Digitization of ECG Images" SNR metric, vectorised, with per-lead diagnostics.

Definition implemented (see ``FACTS.md``), per image and per lead:

1. Only rows where the truth is not NaN take part (a short lead is NaN outside its 2.5 s window). The truth and
   the prediction are both restricted to those rows, in order (if the defined rows are not contiguous they are
   concatenated, exactly as the Kaggle solution file lists one row per defined sample). Call their length ``n``.
2. Lag search: ``L = int(fs_hz * 0.2)`` samples, Python ``int()`` truncation of the float product, as the
   official metric does (250 Hz -> 50, 256 Hz -> 51, 512 Hz -> 102, 1025 Hz -> 205); also ``L <= n - 1``.
   The lag ``m`` in ``[-L, L]`` maximises ``c[m] = sum_j tc[j] * pc[j - m]`` where ``tc``/``pc`` are the truth and
   prediction minus their own means over the ``n`` rows. ``m > 0`` means the prediction is moved *later* by
   ``m`` samples (``aligned[j] = pred[j - m]``); ``m < 0`` earlier.
   Ties: smallest ``|m|``; between ``+k`` and ``-k`` the *negative* lag wins (the official code takes the first
   of the tied lags in ascending order). Correlations are computed by FFT, so "tied" means equal within a
   relative ``1e-9`` of ``||tc|| * ||pc||`` (absorbs FFT rounding; a constant prediction therefore gets lag 0).
3. Shift: aligned rows whose source ``j - m`` falls outside ``[0, n)`` are "shifted out"; the others form the
   *overlap* (``n - |m|`` rows).
4. Offset: ``v = mean(aligned - truth)`` over the overlap only (the value minimising the squared error there,
   which is what the official Brent search converges to); ``v`` is subtracted from the overlap rows.
5. Shifted-out rows count as prediction 0 (the offset is *not* applied to them: in the official code they are
   NaN while the offset is removed and become 0 afterwards).
6. ``S += sum(truth**2)``, ``N += sum((truth - aligned)**2)`` over the ``n`` rows (truth not mean-removed),
   pooled over the 12 leads of the image. Ratio ``= cap`` if ``N == 0``, ``0`` if ``S == 0``, else
   ``min(S / N, cap)`` with ``cap = 1e6`` (60 dB).
7. Dataset score ``= 10 * log10(mean of the image ratios)`` (floored at ``-cap`` dB like the official code when
   every ratio is 0).

NaN or inf in a prediction where the truth is defined is a :class:`ValueError` naming the image and lead.
The correlation is not normalised by the overlap length, so on very smooth signals the chosen lag can be one
sample off the "true" shift (a bigger overlap wins); that is the metric's behaviour and is reproduced.
An earlier competition version capped at 384: pass ``cap=384`` to reproduce it (the tests check the public
metric's docstring numbers 25.8433 / 13.6291 / 13.0576 dB that way).

The lag search and alignment (steps 2-5) live in :mod:`ecgdl.metrics.snr_align`; their public names stay
importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecgdl.constants import LEADS, MAX_LAG_S, N_LEADS, SNR_CAP_LINEAR
from ecgdl.metrics.snr_align import (
    TIE_RTOL,
    align_equal_length,
    align_prediction,
    fill_undefined,
    find_lags,
    max_lag_samples,
)
from ecgdl.signals.record import EcgRecord

__all__ = [
    "TIE_RTOL",
    "SnrResult",
    "align_prediction",
    "fill_undefined",
    "find_lags",
    "max_lag_samples",
    "snr_challenge2024",
    "snr_kaggle",
]

#: Images scored per chunk (bounds memory; results do not depend on it).
_IMAGES_PER_CHUNK: int = 128
#: Upper bound on rows * samples per vectorised alignment block.
_BLOCK_ELEMENTS: int = 1 << 21


def _ratio(signal: np.ndarray, noise: np.ndarray, cap: float) -> np.ndarray:
    """Official per-image ratio: cap if N == 0, 0 if S == 0, else min(S / N, cap)."""
    signal = np.asarray(signal, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.minimum(signal / noise, cap)
    ratio = np.where(signal == 0, 0.0, ratio)
    return np.where(noise == 0, cap, ratio)


def _db(ratio: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(ratio)


@dataclass(frozen=True)
class SnrResult:
    """Outcome of :func:`snr_kaggle`. Arrays are indexed ``[image]`` or ``[image, lead]`` (``LEADS`` order).

    ``lead_lag`` is in samples (positive: prediction moved later); ``lead_offset_mv`` is the constant removed
    from the prediction; ``lead_n_samples`` counts the truth-defined rows (0: lead absent, its dB is NaN).
    """

    snr_db: float
    image_ids: tuple[str, ...]
    fs_hz: np.ndarray
    image_ratio: np.ndarray
    lead_signal: np.ndarray
    lead_noise: np.ndarray
    lead_lag: np.ndarray
    lead_offset_mv: np.ndarray
    lead_n_samples: np.ndarray
    cap: float = SNR_CAP_LINEAR

    @property
    def n_images(self) -> int:
        return len(self.image_ids)

    @property
    def mean_ratio(self) -> float:
        return float(self.image_ratio.mean()) if self.n_images else float("nan")

    @property
    def image_signal(self) -> np.ndarray:
        return self.lead_signal.sum(axis=1)

    @property
    def image_noise(self) -> np.ndarray:
        return self.lead_noise.sum(axis=1)

    @property
    def aligned_rmse_mv(self) -> float:
        """RMSE (mV) after the metric's alignment, pooled over every scored sample: sqrt(sum N / sum n)."""
        return float(np.sqrt(self.lead_noise.sum() / max(int(self.lead_n_samples.sum()), 1)))

    @property
    def image_db(self) -> np.ndarray:
        """Per-image dB, ``10*log10(ratio)`` (``-inf`` for an image whose truth is all zero)."""
        return _db(self.image_ratio)

    @property
    def lead_ratio(self) -> np.ndarray:
        """Per-(image, lead) capped ratio, same rules as an image; NaN where the lead has no truth."""
        ratio = _ratio(self.lead_signal, self.lead_noise, self.cap)
        return np.where(self.lead_n_samples > 0, ratio, np.nan)

    @property
    def lead_db(self) -> np.ndarray:
        """Per-(image, lead) dB of the lead's own S/N (NaN where the lead has no truth)."""
        return _db(self.lead_ratio)

    def per_image(self) -> pd.DataFrame:
        """One row per image: id, fs, S, N, ratio, dB and the worst lead (lowest lead dB)."""
        lead_db = self.lead_db
        filled = np.where(np.isnan(lead_db), np.inf, lead_db)
        worst = [LEADS[int(i)] for i in np.argmin(filled, axis=1)] if self.n_images else []
        return pd.DataFrame(
            {
                "image_id": list(self.image_ids),
                "fs_hz": self.fs_hz,
                "signal": self.image_signal,
                "noise": self.image_noise,
                "ratio": self.image_ratio,
                "snr_db": self.image_db,
                "aligned_rmse_mv": np.sqrt(self.image_noise / np.maximum(self.lead_n_samples.sum(axis=1), 1)),
                "worst_lead": worst,
            }
        )

    def per_lead(self) -> pd.DataFrame:
        """Long table, one row per (image, lead) with a truth: S, N, dB, lag (samples and ms), offset."""
        n_img = self.n_images
        frame = pd.DataFrame(
            {
                "image_id": np.repeat(np.asarray(self.image_ids, dtype=object), N_LEADS),
                "lead": np.tile(np.asarray(LEADS, dtype=object), n_img),
                "n_samples": self.lead_n_samples.ravel(),
                "signal": self.lead_signal.ravel(),
                "noise": self.lead_noise.ravel(),
                "snr_db": self.lead_db.ravel(),
                "lag_samples": self.lead_lag.ravel(),
                "lag_ms": (self.lead_lag / self.fs_hz[:, None] * 1000.0).ravel(),
                "offset_mv": self.lead_offset_mv.ravel(),
            }
        )
        return frame[frame["n_samples"] > 0].reset_index(drop=True)

    def lead_db_dict(self, image: int | str = 0) -> dict[str, float]:
        """``{lead: dB}`` of one image (by index or id), e.g. for :func:`ecgdl.viz.plot_leads` titles."""
        index = self.image_ids.index(image) if isinstance(image, str) else int(image)
        return {lead: float(v) for lead, v in zip(LEADS, self.lead_db[index], strict=True)}


def _as_array(item: Any, what: str) -> np.ndarray:
    if isinstance(item, EcgRecord):
        return item.signal_mv
    try:
        arr = np.asarray(item, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: cannot convert to a float array ({exc})") from exc
    return arr


def _normalise_inputs(
    truths: Any, preds: Any, fs_hz: Any, image_ids: Sequence[str] | None
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, list[str]]:
    """Turn the accepted input forms into lists of (T, 12) arrays, per-image fs and ids."""
    ids: list[str] | None = None
    if isinstance(truths, Mapping):
        if not isinstance(preds, Mapping):
            raise ValueError("truths is a mapping {image_id: signal}, so preds must be a mapping too")
        missing = [k for k in truths if k not in preds]
        if missing:
            raise ValueError(f"preds has no entry for {len(missing)} image(s): {missing[:5]}")
        ids = [str(k) for k in truths]
        truth_items = list(truths.values())
        pred_items = [preds[k] for k in truths]
    else:
        if isinstance(truths, EcgRecord) or (isinstance(truths, np.ndarray) and truths.ndim == 2):
            truths, preds = [truths], [preds]
        elif isinstance(truths, np.ndarray) and truths.ndim != 3:
            raise ValueError(f"truths array must be (T, 12) or (B, T, 12), got shape {truths.shape}")
        if isinstance(preds, (EcgRecord, Mapping)) or (isinstance(preds, np.ndarray) and preds.ndim == 2):
            raise ValueError(
                "preds must be given in the same form as truths (a sequence or (B, T, 12) array)"
            )
        truth_items, pred_items = list(truths), list(preds)
    if len(truth_items) != len(pred_items):
        raise ValueError(f"got {len(truth_items)} truths but {len(pred_items)} predictions")
    if image_ids is not None:
        if len(image_ids) != len(truth_items):
            raise ValueError(f"image_ids has {len(image_ids)} entries for {len(truth_items)} images")
        ids = [str(i) for i in image_ids]
    if ids is None:
        ids = [
            item.record_id if isinstance(item, EcgRecord) and item.record_id else str(k)
            for k, item in enumerate(truth_items)
        ]

    # Sampling rates: explicit scalar / per-image sequence, else from the truth records.
    n_img = len(truth_items)
    if fs_hz is None:
        if not all(isinstance(item, EcgRecord) for item in truth_items):
            raise ValueError("fs_hz is required unless every truth is an EcgRecord")
        fs = np.array([item.fs_hz for item in truth_items], dtype=np.float64)
    elif np.ndim(fs_hz) == 0:
        fs = np.full(n_img, float(fs_hz))
    else:
        fs = np.asarray(fs_hz, dtype=np.float64).ravel()
        if fs.shape[0] != n_img:
            raise ValueError(f"fs_hz has {fs.shape[0]} values for {n_img} images")
    bad_fs = ~np.isfinite(fs) | (fs <= 0)
    if bad_fs.any():
        k = int(np.flatnonzero(bad_fs)[0])
        raise ValueError(f"image {ids[k]!r}: fs_hz must be positive and finite, got {fs[k]}")

    truth_arrays, pred_arrays = [], []
    for image_id, t_item, p_item in zip(ids, truth_items, pred_items, strict=True):
        t = _as_array(t_item, f"truth of image {image_id!r}")
        p = _as_array(p_item, f"prediction of image {image_id!r}")
        if t.ndim != 2 or t.shape[1] != N_LEADS:
            raise ValueError(f"image {image_id!r}: truth must have shape (T, {N_LEADS}), got {t.shape}")
        if p.shape != t.shape:
            raise ValueError(f"image {image_id!r}: prediction shape {p.shape} != truth shape {t.shape}")
        truth_arrays.append(t)
        pred_arrays.append(p)
    return truth_arrays, pred_arrays, fs, ids


def _score_chunk(
    truths: list[np.ndarray], preds: list[np.ndarray], fs: np.ndarray, ids: list[str], max_lag_s: float
) -> tuple[np.ndarray, ...]:
    """Per-(image, lead) lag, offset, S, N and n for a chunk of images."""
    n_img = len(truths)
    lag = np.zeros((n_img, N_LEADS), dtype=np.int64)
    offset = np.zeros((n_img, N_LEADS))
    signal = np.zeros((n_img, N_LEADS))
    noise = np.zeros((n_img, N_LEADS))
    counts = np.zeros((n_img, N_LEADS), dtype=np.int64)
    # Group (image, lead) segments by (length, lag window) so each group is one vectorised block.
    groups: dict[tuple[int, int], list[tuple[int, int, np.ndarray, np.ndarray]]] = {}
    for i, (t, p) in enumerate(zip(truths, preds, strict=True)):
        if np.isinf(t).any():
            lead = LEADS[int(np.flatnonzero(np.isinf(t).any(axis=0))[0])]
            raise ValueError(f"image {ids[i]!r}, lead {lead}: truth contains inf")
        defined = ~np.isnan(t)
        bad = defined & ~np.isfinite(p)
        if bad.any():
            col = int(np.flatnonzero(bad.any(axis=0))[0])
            raise ValueError(
                f"image {ids[i]!r}, lead {LEADS[col]}: prediction has {int(bad[:, col].sum())} NaN/inf "
                "value(s) where the truth is defined"
            )
        n_per_lead = defined.sum(axis=0)
        if not n_per_lead.any():
            raise ValueError(f"image {ids[i]!r}: the truth is NaN everywhere (nothing to score)")
        counts[i] = n_per_lead
        max_lag = max_lag_samples(fs[i], max_lag_s)
        for col in range(N_LEADS):
            n = int(n_per_lead[col])
            if n == 0:
                continue
            if n == t.shape[0]:
                t_seg, p_seg = t[:, col], p[:, col]
            else:
                rows = defined[:, col]
                t_seg, p_seg = t[rows, col], p[rows, col]
            groups.setdefault((n, min(max_lag, n - 1)), []).append((i, col, t_seg, p_seg))
    for (n, max_lag), items in groups.items():
        step = max(1, _BLOCK_ELEMENTS // max(n, 1))
        for start in range(0, len(items), step):
            block = items[start : start + step]
            t_block = [item[2] for item in block]
            p_block = [item[3] for item in block]
            b_lag, b_off, b_sig, b_noise = align_equal_length(t_block, p_block, max_lag)
            rows_i = np.array([item[0] for item in block])
            cols = np.array([item[1] for item in block])
            lag[rows_i, cols] = b_lag
            offset[rows_i, cols] = b_off
            signal[rows_i, cols] = b_sig
            noise[rows_i, cols] = b_noise
    return lag, offset, signal, noise, counts


def snr_kaggle(
    truths: Any,
    preds: Any,
    fs_hz: float | Sequence[float] | np.ndarray | None = None,
    *,
    image_ids: Sequence[str] | None = None,
    cap: float = SNR_CAP_LINEAR,
    max_lag_s: float = MAX_LAG_S,
) -> SnrResult:
    """Score predictions with the Kaggle SNR metric (see the module docstring for the exact definition).

    Args:
        truths: one image as a (T, 12) array or :class:`EcgRecord`; several as a (B, T, 12) array, a sequence
            of arrays/records, or a mapping ``{image_id: array-or-record}``. NaN marks rows without truth.
        preds: predictions in the same form (a mapping with the same keys when ``truths`` is a mapping); each
            must have the truth's shape. Values where the truth is NaN are ignored.
        fs_hz: sampling rate, one for all images or one per image; ``None`` takes it from the truth records.
        image_ids: names used in the result and in error messages (default: mapping keys, record ids, indices).
        cap: the linear ratio cap (1e6, i.e. 60 dB).
        max_lag_s: the lag window in seconds (0.2).

    Returns:
        :class:`SnrResult` with the dataset score in dB and per-image / per-(image, lead) details.
    """
    t_list, p_list, fs, ids = _normalise_inputs(truths, preds, fs_hz, image_ids)
    if not t_list:
        raise ValueError("no images to score")
    parts = [
        _score_chunk(
            t_list[s : s + _IMAGES_PER_CHUNK],
            p_list[s : s + _IMAGES_PER_CHUNK],
            fs[s : s + _IMAGES_PER_CHUNK],
            ids[s : s + _IMAGES_PER_CHUNK],
            max_lag_s,
        )
        for s in range(0, len(t_list), _IMAGES_PER_CHUNK)
    ]
    lag, offset, signal, noise, counts = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    image_ratio = _ratio(signal.sum(axis=1), noise.sum(axis=1), cap)
    mean_ratio = float(image_ratio.mean())
    snr_db = max(float(_db(np.float64(mean_ratio))), -float(cap))
    return SnrResult(
        snr_db=snr_db,
        image_ids=tuple(ids),
        fs_hz=fs,
        image_ratio=image_ratio,
        lead_signal=signal,
        lead_noise=noise,
        lead_lag=lag,
        lead_offset_mv=offset,
        lead_n_samples=counts,
        cap=float(cap),
    )


def snr_challenge2024(
    truths: Any,
    preds: Any,
    fs_hz: float | Sequence[float] | np.ndarray | None = None,
    *,
    cap: float = SNR_CAP_LINEAR,
    max_lag_s: float = MAX_LAG_S,
) -> float:
    """CinC/PhysioNet Challenge 2024 style SNR: mean over all (record, lead) pairs of the per-lead dB.

    Uses the same alignment as :func:`snr_kaggle`; each lead's dB is ``10*log10(S/N)`` clipped to
    ``[-10*log10(cap), 10*log10(cap)]`` (a perfect lead is +60 dB, not +inf); leads without truth are skipped.
    NOT comparable with the Kaggle score (mean of dB vs dB of the mean ratio, per lead vs pooled per image).
    """
    result = snr_kaggle(truths, preds, fs_hz, cap=cap, max_lag_s=max_lag_s)
    limit = 10.0 * np.log10(cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        lead_db = 10.0 * np.log10(result.lead_signal / result.lead_noise)
    lead_db = np.where(result.lead_noise == 0, limit, lead_db)
    lead_db = np.clip(lead_db, -limit, limit)[result.lead_n_samples > 0]
    return float(lead_db.mean())
