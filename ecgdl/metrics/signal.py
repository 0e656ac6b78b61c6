"""Waveform metrics beside the Kaggle SNR: RMSE, Pearson r, DTW distance and R-peak agreement.

All functions compare only rows where the truth is defined (not NaN); a non-finite prediction there is a
:class:`ValueError`. ``align=True`` first applies the Kaggle alignment (lag within 0.2 s + offset removal,
see :mod:`ecgdl.metrics.snr`) column by column.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ecgdl.constants import LEAD_INDEX, MAX_LAG_S, N_LEADS
from ecgdl.metrics.snr import align_prediction

__all__ = ["RPeakMetrics", "dtw_distance", "pearson_r", "rmse_mv", "rpeak_metrics"]


def _prepare(
    truth: np.ndarray, pred: np.ndarray, fs_hz: float | None, align: bool, max_lag_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(T, C) float copies, checked; the prediction aligned when asked."""
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if t.shape != p.shape or t.ndim not in (1, 2):
        raise ValueError(
            f"truth and pred must have the same (T,) or (T, C) shape, got {t.shape} and {p.shape}"
        )
    t2 = t[:, None] if t.ndim == 1 else t
    p2 = p[:, None] if p.ndim == 1 else p
    bad = ~np.isnan(t2) & ~np.isfinite(p2)
    if bad.any():
        col = int(np.flatnonzero(bad.any(axis=0))[0])
        raise ValueError(f"column {col}: prediction has NaN/inf where the truth is defined")
    if align:
        if fs_hz is None:
            raise ValueError("align=True needs fs_hz")
        p2 = align_prediction(t2, p2, fs_hz, max_lag_s=max_lag_s)
    return t2, p2


def rmse_mv(
    truth: np.ndarray,
    pred: np.ndarray,
    *,
    fs_hz: float | None = None,
    align: bool = False,
    per_lead: bool = False,
    max_lag_s: float = MAX_LAG_S,
) -> float | np.ndarray:
    """Root-mean-square error in mV over the truth-defined rows of (T,) or (T, C) signals.

    Pooled over all defined samples, or one value per column with ``per_lead=True`` (NaN for empty columns).
    """
    t, p = _prepare(truth, pred, fs_hz, align, max_lag_s)
    defined = ~np.isnan(t)
    sq = np.where(defined, (t - np.where(defined, p, 0.0)) ** 2, 0.0)
    if per_lead:
        counts = defined.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(sq.sum(axis=0) / counts)
    total = int(defined.sum())
    if total == 0:
        raise ValueError("the truth is NaN everywhere (nothing to compare)")
    return float(np.sqrt(sq.sum() / total))


def pearson_r(
    truth: np.ndarray,
    pred: np.ndarray,
    *,
    fs_hz: float | None = None,
    align: bool = False,
    per_lead: bool = False,
    max_lag_s: float = MAX_LAG_S,
) -> float | np.ndarray:
    """Pearson correlation over the truth-defined rows, per column; returns their mean (NaN-skipping).

    A column with fewer than 2 samples or zero variance has r = NaN. ``per_lead=True`` returns the (C,) array.
    """
    t, p = _prepare(truth, pred, fs_hz, align, max_lag_s)
    r = np.full(t.shape[1], np.nan)
    for col in range(t.shape[1]):
        rows = ~np.isnan(t[:, col])
        if rows.sum() < 2:
            continue
        tc = t[rows, col] - t[rows, col].mean()
        pc = p[rows, col] - p[rows, col].mean()
        denom = np.sqrt(np.dot(tc, tc) * np.dot(pc, pc))
        if denom > 0:
            r[col] = float(np.dot(tc, pc) / denom)
    if per_lead:
        return r
    if np.isnan(r).all():
        return float("nan")
    return float(np.nanmean(r))


def dtw_distance(
    a: np.ndarray, b: np.ndarray, window: int | None = None, *, use_c: bool | None = None
) -> float:
    """Dynamic-time-warping distance (dtaidistance: sqrt of the summed squared differences on the best path).

    ``window`` is the Sakoe-Chiba band half-width in samples (None: unconstrained). The C implementation is used
    when dtaidistance's compiled library is available (``use_c=None``), else the pure-Python one.
    """
    from dtaidistance import dtw

    s1 = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    s2 = np.ascontiguousarray(np.asarray(b, dtype=np.float64))
    if s1.ndim != 1 or s2.ndim != 1:
        raise ValueError(f"dtw_distance needs 1-D signals, got shapes {s1.shape} and {s2.shape}")
    if s1.size == 0 or s2.size == 0:
        raise ValueError("dtw_distance needs non-empty signals")
    if not (np.isfinite(s1).all() and np.isfinite(s2).all()):
        raise ValueError("dtw_distance needs finite signals (drop NaN rows first)")
    if window is not None and window < 1:
        raise ValueError(f"window must be >= 1 sample or None, got {window}")
    if use_c is None:
        use_c = bool(dtw.try_import_c(verbose=False))
    kwargs = {} if window is None else {"window": int(window)}
    if use_c:
        return float(dtw.distance_fast(s1, s2, **kwargs))
    return float(dtw.distance(s1, s2, use_c=False, **kwargs))


@dataclass(frozen=True)
class RPeakMetrics:
    """R-peak agreement between a truth and a predicted lead (NaN where undefined, e.g. no peaks)."""

    f1: float
    precision: float
    recall: float
    timing_error_ms: float
    hr_error_bpm: float
    n_truth_peaks: int
    n_pred_peaks: int

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def _detect_rpeaks(signal: np.ndarray, fs_hz: float) -> np.ndarray:
    """neurokit2 R peaks (sample indices); empty when the signal is too short/flat or detection fails."""
    import neurokit2 as nk

    if signal.size < int(fs_hz) or np.ptp(signal) == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = nk.ecg_clean(signal, sampling_rate=fs_hz)
            _, info = nk.ecg_peaks(cleaned, sampling_rate=fs_hz)
    except Exception:  # neurokit raises assorted errors on degenerate input; "no peaks" is the honest answer
        return np.zeros(0, dtype=np.int64)
    peaks = np.asarray(info.get("ECG_R_Peaks", []), dtype=np.float64)
    return np.sort(peaks[np.isfinite(peaks)].astype(np.int64))


def _match_peaks(truth_peaks: np.ndarray, pred_peaks: np.ndarray, tol: float) -> np.ndarray:
    """One-to-one matching, closest pairs first, within ``tol`` samples; returns (k, 2) index pairs."""
    if truth_peaks.size == 0 or pred_peaks.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    dist = np.abs(truth_peaks[:, None] - pred_peaks[None, :]).astype(np.float64)
    ti, pi = np.nonzero(dist <= tol)
    order = np.argsort(dist[ti, pi], kind="stable")
    used_t: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for k in order:
        a, b = int(ti[k]), int(pi[k])
        if a not in used_t and b not in used_p:
            used_t.add(a)
            used_p.add(b)
            pairs.append((a, b))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def _heart_rate_bpm(peaks: np.ndarray, fs_hz: float) -> float:
    if peaks.size < 2:
        return float("nan")
    return float(60.0 * fs_hz / np.mean(np.diff(peaks)))


def rpeak_metrics(
    truth: np.ndarray,
    pred: np.ndarray,
    fs_hz: float,
    tol_s: float = 0.05,
    *,
    lead: str = "II",
) -> RPeakMetrics:
    """Detect R peaks (neurokit2 ``ecg_clean`` + ``ecg_peaks``) in truth and prediction and compare them.

    ``truth``/``pred`` are one lead (T,) or a (T, 12) record (then ``lead`` is used). Only truth-defined rows
    are used. F1/precision/recall count peaks matched one-to-one within ``tol_s``; the timing error is the mean
    absolute offset of matched peaks in ms; the heart-rate error is ``|HR_truth - HR_pred|`` in bpm from the
    mean RR interval. Undefined values (no peaks, < 2 peaks for HR) are NaN; nothing raises for lack of peaks.
    """
    if fs_hz <= 0:
        raise ValueError(f"fs_hz must be positive, got {fs_hz}")
    if tol_s <= 0:
        raise ValueError(f"tol_s must be positive, got {tol_s}")
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"truth and pred shapes differ: {t.shape} vs {p.shape}")
    if t.ndim == 2:
        if t.shape[1] != N_LEADS or lead not in LEAD_INDEX:
            raise ValueError(f"2-D input must be (T, {N_LEADS}) and lead one of {list(LEAD_INDEX)}")
        t, p = t[:, LEAD_INDEX[lead]], p[:, LEAD_INDEX[lead]]
    elif t.ndim != 1:
        raise ValueError(f"rpeak_metrics needs (T,) or (T, 12) signals, got shape {t.shape}")
    rows = ~np.isnan(t)
    if not np.isfinite(p[rows]).all():
        raise ValueError(f"lead {lead}: prediction has NaN/inf where the truth is defined")
    t, p = t[rows], p[rows]

    truth_peaks = _detect_rpeaks(t, fs_hz)
    pred_peaks = _detect_rpeaks(p, fs_hz)
    pairs = _match_peaks(truth_peaks, pred_peaks, tol_s * fs_hz)
    n_t, n_p, n_match = truth_peaks.size, pred_peaks.size, pairs.shape[0]
    precision = n_match / n_p if n_p else float("nan")
    recall = n_match / n_t if n_t else float("nan")
    f1 = 2.0 * n_match / (n_t + n_p) if (n_t + n_p) else float("nan")
    if n_match:
        offsets = pred_peaks[pairs[:, 1]] - truth_peaks[pairs[:, 0]]
        timing_ms = float(np.mean(np.abs(offsets)) / fs_hz * 1000.0)
    else:
        timing_ms = float("nan")
    hr_error = abs(_heart_rate_bpm(truth_peaks, fs_hz) - _heart_rate_bpm(pred_peaks, fs_hz))
    return RPeakMetrics(
        f1=float(f1),
        precision=float(precision),
        recall=float(recall),
        timing_error_ms=timing_ms,
        hr_error_bpm=float(hr_error),
        n_truth_peaks=int(n_t),
        n_pred_peaks=int(n_p),
    )
