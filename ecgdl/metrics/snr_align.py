"""Lag search and alignment of the Kaggle SNR metric (definition: :mod:`ecgdl.metrics.snr`).

:func:`find_lags` is the metric's lag search (FFT cross-correlation of the mean-removed signals, with its tie
rules), :func:`align_equal_length` the per-row lag, offset, S and N that :func:`ecgdl.metrics.snr.snr_kaggle`
pools, and :func:`align_prediction` the prediction as the metric sees it after alignment.
:func:`fill_undefined` fills the non-finite prediction samples a submission may not contain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import fft as sp_fft

from ecgdl.constants import MAX_LAG_S

#: Relative tolerance under which two cross-correlation values count as tied.
TIE_RTOL: float = 1e-9


def max_lag_samples(fs_hz: float, max_lag_s: float = MAX_LAG_S) -> int:
    """Largest lag searched, in samples: ``int(fs_hz * max_lag_s)`` (truncation; 1025 Hz -> 205)."""
    if not np.isfinite(fs_hz) or fs_hz <= 0:
        raise ValueError(f"fs_hz must be a positive finite number, got {fs_hz!r}")
    if max_lag_s < 0:
        raise ValueError(f"max_lag_s must be >= 0, got {max_lag_s!r}")
    return int(float(fs_hz) * float(max_lag_s))


def find_lags(truth: np.ndarray, pred: np.ndarray, max_lag: int) -> np.ndarray:
    """Kaggle lag search for a batch of equal-length finite signals.

    ``truth`` and ``pred`` are (B, n) (or (n,)); returns the int64 lags (B,) (or a scalar array) in
    ``[-min(max_lag, n - 1), +min(max_lag, n - 1)]``, with the sign and tie conventions of
    :mod:`ecgdl.metrics.snr`.
    """
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if t.shape != p.shape or t.ndim not in (1, 2):
        raise ValueError(f"truth and pred must have the same 1-D or 2-D shape, got {t.shape} and {p.shape}")
    if max_lag < 0:
        raise ValueError(f"max_lag must be >= 0, got {max_lag}")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError("find_lags needs finite truth and pred")
    squeeze = t.ndim == 1
    t2, p2 = np.atleast_2d(t), np.atleast_2d(p)
    if t2.shape[1] == 0:
        raise ValueError("find_lags needs at least one sample")
    lags = _lags_equal_length(t2, p2, min(int(max_lag), t2.shape[1] - 1))
    return lags[0] if squeeze else lags


def _centred_padded(rows: Sequence[np.ndarray] | np.ndarray, n: int, nfft: int) -> np.ndarray:
    """(B, nfft) buffer: each row minus its own mean, zero-padded after ``n`` samples."""
    buf = np.zeros((len(rows), nfft))
    if isinstance(rows, np.ndarray):
        buf[:, :n] = rows
    else:
        for i, row in enumerate(rows):
            buf[i, :n] = row
    buf[:, :n] -= buf[:, :n].mean(axis=1, keepdims=True)
    return buf


def _lags_equal_length(
    t: Sequence[np.ndarray] | np.ndarray, p: Sequence[np.ndarray] | np.ndarray, max_lag: int
) -> np.ndarray:
    """FFT cross-correlation restricted to ``[-max_lag, max_lag]`` (``max_lag <= n - 1``), batched over rows.

    ``t`` and ``p`` are (B, n) arrays or B-long sequences of equal-length 1-D arrays.
    """
    b, n = len(t), len(t[0])
    if max_lag == 0:
        return np.zeros(b, dtype=np.int64)
    # Linear correlation for |m| <= max_lag needs no wrap-around: nfft >= n + max_lag.
    nfft = sp_fft.next_fast_len(n + max_lag, real=True)
    tc = _centred_padded(t, n, nfft)
    pc = _centred_padded(p, n, nfft)
    scale = np.sqrt(np.einsum("ij,ij->i", tc, tc) * np.einsum("ij,ij->i", pc, pc))
    spec = sp_fft.rfft(tc, axis=1)
    spec *= np.conj(sp_fft.rfft(pc, axis=1))
    corr = sp_fft.irfft(spec, nfft, axis=1)  # corr[:, m % nfft] = sum_j tc[j + m] * pc[j]
    lags = np.arange(-max_lag, max_lag + 1, dtype=np.int64)
    values = corr[:, lags % nfft]
    tied = values >= values.max(axis=1, keepdims=True) - TIE_RTOL * scale[:, None]
    # Preference order: smaller |lag| first, then the negative lag of a +-k pair.
    preference = 2 * np.abs(lags) + (lags > 0)
    best = np.argmin(np.where(tied, preference[None, :], np.iinfo(np.int64).max), axis=1)
    return lags[best]


def align_equal_length(
    t: Sequence[np.ndarray] | np.ndarray, p: Sequence[np.ndarray] | np.ndarray, max_lag: int
) -> tuple[np.ndarray, ...]:
    """Lag, offset, S and N for B equal-length finite truth/prediction rows (one lag window for the batch)."""
    b, n = len(t), len(t[0])
    lags = _lags_equal_length(t, p, max_lag)
    offsets = np.empty(b)
    signal = np.empty(b)
    noise = np.empty(b)
    # Per-row slicing beats a vectorised gather here (no (B, n) index arrays).
    for i, m in enumerate(lags.tolist()):
        t_row, p_row = t[i], p[i]
        if m >= 0:  # aligned[j] = pred[j - m]: rows [0, m) shifted out
            diff = p_row[: n - m] - t_row[m:]
            out = t_row[:m]
        else:  # rows [n + m, n) shifted out
            diff = p_row[-m:] - t_row[: n + m]
            out = t_row[n + m :]
        offsets[i] = diff.mean()
        diff -= offsets[i]
        # Overlap rows: (pred - offset) - truth; shifted-out rows: prediction 0, so the error is the truth.
        noise[i] = float(diff @ diff) + float(out @ out)
        signal[i] = float(t_row @ t_row)
    return lags, offsets, signal, noise


def align_prediction(
    truth: np.ndarray,
    pred: np.ndarray,
    fs_hz: float,
    *,
    max_lag_s: float = MAX_LAG_S,
) -> np.ndarray:
    """The prediction as the Kaggle metric sees it after alignment, column by column.

    ``truth``/``pred`` are (T,) or (T, C). Returns an array of the truth's shape: NaN where the truth is NaN,
    elsewhere the shifted prediction minus the overlap offset, and 0 at shifted-out rows.
    """
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if t.shape != p.shape or t.ndim not in (1, 2):
        raise ValueError(
            f"truth and pred must have the same (T,) or (T, C) shape, got {t.shape} and {p.shape}"
        )
    squeeze = t.ndim == 1
    t2 = t[:, None] if squeeze else t
    p2 = p[:, None] if squeeze else p
    if np.isinf(t2).any():
        raise ValueError("truth contains inf")
    max_lag = max_lag_samples(fs_hz, max_lag_s)
    out = np.full(t2.shape, np.nan)
    for col in range(t2.shape[1]):
        rows = ~np.isnan(t2[:, col])
        n = int(rows.sum())
        if n == 0:
            continue
        t_seg, p_seg = t2[rows, col], p2[rows, col]
        if not np.isfinite(p_seg).all():
            raise ValueError(f"column {col}: prediction has NaN/inf where the truth is defined")
        lags, offsets, _, _ = align_equal_length([t_seg], [p_seg], min(max_lag, n - 1))
        src = np.arange(n) - lags[0]
        overlap = (src >= 0) & (src < n)
        aligned = np.zeros(n)
        aligned[overlap] = p_seg[src[overlap]] - offsets[0]
        out[rows, col] = aligned
    return out[:, 0] if squeeze else out


def fill_undefined(pred_mv: np.ndarray, truth_mv: np.ndarray) -> tuple[np.ndarray, int]:
    """Where the truth is defined but the prediction is not finite, interpolate the lead in time (0 when the
    lead has no finite value at all), as a submission must; returns (filled copy, number of values filled)."""
    out = np.array(pred_mv, dtype=np.float64, copy=True)
    filled = 0
    idx = np.arange(len(out))
    for k in range(out.shape[1]):
        need = np.isfinite(truth_mv[:, k]) & ~np.isfinite(out[:, k])
        if not need.any():
            continue
        have = np.isfinite(out[:, k])
        out[need, k] = np.interp(idx[need], idx[have], out[have, k]) if have.any() else 0.0
        filled += int(need.sum())
    return out, filled
