"""Per-column crop predictions -> page-level 12-lead signals in mV (Kaggle semantics: NaN where nothing was read).

A crop's column ``u`` shows recording time ``t0_s + u * s_per_col``; its trace row ``y`` (crop pixels) reads as
``(baseline_y - y) / px_per_mv`` millivolts. A crop covers the samples whose time lies in
``[t0_s, t0_s + W * s_per_col)``: consecutive windows of one strip therefore partition its samples, and samples
after the last column centre take the last column's value. Where several crops cover the same (lead, sample), for
example lead II in its short strip and in the rhythm strip, their values are averaged.
"""

from __future__ import annotations

import numpy as np
import torch

from ecgdl.constants import N_LEADS

__all__ = ["crops_to_signal", "fill_nan_columns"]

#: Tolerance (in samples) on the window edges, so that float rounding never drops or doubles a boundary sample.
_EDGE_TOL: float = 1e-6


def _np(value, dtype=np.float64) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = (value.float() if value.dtype == torch.bfloat16 else value).numpy()  # numpy has no bfloat16
    return np.asarray(value, dtype=dtype)


def fill_nan_columns(y_px: np.ndarray, fallback: np.ndarray | float | None = None) -> np.ndarray:
    """Fill NaN columns of ``y_px`` (N, W) by linear interpolation along the row (edges hold the nearest value).

    Rows with no finite value take ``fallback`` (scalar or (N,)), or stay NaN when ``fallback`` is None.
    """
    y = np.array(y_px, dtype=np.float64, copy=True)
    if y.ndim != 2:
        raise ValueError(f"y_px must be (N, W), got shape {y.shape}")
    finite = np.isfinite(y)
    fb = None if fallback is None else np.broadcast_to(np.asarray(fallback, np.float64), (y.shape[0],))
    cols = np.arange(y.shape[1])
    for i in np.flatnonzero(~finite.all(axis=1)):
        ok = finite[i]
        if ok.any():
            y[i] = np.interp(cols, cols[ok], y[i, ok])
        elif fb is not None:
            y[i] = fb[i]
        else:
            y[i] = np.nan
    return y


def crops_to_signal(
    y_px,
    px_per_mv,
    baseline_y,
    lead_index,
    t0_s,
    s_per_col,
    page,
    fs_hz,
    n_samples,
    max_n: int | None = None,
) -> np.ndarray:
    """Assemble per-column trace rows of N crops into (B, max_n, 12) signals in mV.

    Args:
        y_px: (N, W) trace row per crop column in crop pixels (tensor or array); NaN columns are filled from
            their neighbours (a crop with no finite column contributes nothing).
        px_per_mv: (N,) crop pixels per mV.
        baseline_y: scalar or (N,) row of the zero-mV baseline in crop pixels.
        lead_index: (N,) index into :data:`ecgdl.constants.LEADS`.
        t0_s: (N,) recording time of column 0; s_per_col: (N,) seconds per column.
        page: (N,) page (0..B-1) each crop belongs to.
        fs_hz: (B,) sampling rate per page; n_samples: (B,) samples per page.
        max_n: length of the time axis (default ``max(n_samples)``); pass the truth's padded length to compare.

    Returns:
        float64 array (B, max_n, 12): the averaged value where at least one crop covers a sample, NaN elsewhere
        (and NaN beyond each page's ``n_samples``).
    """
    y = _np(y_px)
    if y.ndim != 2:
        raise ValueError(f"y_px must be (N, W), got shape {y.shape}")
    n_crops, width = y.shape
    fs = np.atleast_1d(_np(fs_hz))
    counts = np.atleast_1d(_np(n_samples, np.int64))
    if fs.shape != counts.shape:
        raise ValueError(f"fs_hz and n_samples must both be (B,), got {fs.shape} and {counts.shape}")
    n_pages = fs.shape[0]
    length = int(counts.max(initial=0)) if max_n is None else int(max_n)
    out_sum = np.zeros(n_pages * length * N_LEADS)
    out_cnt = np.zeros(n_pages * length * N_LEADS)
    if n_crops == 0 or width == 0:
        return np.full((n_pages, length, N_LEADS), np.nan)

    def per_crop(value, name: str, dtype=np.float64) -> np.ndarray:
        arr = np.broadcast_to(np.atleast_1d(_np(value, dtype)), (n_crops,))
        if arr.shape != (n_crops,):
            raise ValueError(f"{name} must be scalar or ({n_crops},), got {arr.shape}")
        return arr

    scale = per_crop(px_per_mv, "px_per_mv")
    base = per_crop(baseline_y, "baseline_y")
    lead = per_crop(lead_index, "lead_index", np.int64)
    t0 = per_crop(t0_s, "t0_s")
    dt = per_crop(s_per_col, "s_per_col")
    pg = per_crop(page, "page", np.int64)
    if (pg < 0).any() or (pg >= n_pages).any():
        raise ValueError(f"page indices must lie in 0..{n_pages - 1}, got {np.unique(pg).tolist()}")
    if (lead < 0).any() or (lead >= N_LEADS).any():
        raise ValueError(f"lead_index must lie in 0..{N_LEADS - 1}")

    y = fill_nan_columns(y)
    usable = np.isfinite(y).all(axis=1)
    value_mv = (base[:, None] - y) / scale[:, None]  # (N, W)

    # Sample range [k0, k1) of every crop, clipped to its page.
    f = fs[pg]
    k0 = np.ceil(t0 * f - _EDGE_TOL).astype(np.int64)
    k1 = np.ceil((t0 + width * dt) * f - _EDGE_TOL).astype(np.int64)
    k0 = np.clip(k0, 0, None)
    k1 = np.minimum(k1, np.minimum(counts[pg], length))
    n_per = np.where(usable, np.clip(k1 - k0, 0, None), 0)
    total = int(n_per.sum())
    if total:
        crop_of = np.repeat(np.arange(n_crops), n_per)
        starts = np.cumsum(n_per) - n_per
        k = k0[crop_of] + (np.arange(total) - starts[crop_of])
        pos = (k / f[crop_of] - t0[crop_of]) / dt[crop_of]  # fractional column
        pos = np.clip(pos, 0.0, width - 1.0)
        left = np.minimum(np.floor(pos).astype(np.int64), max(width - 2, 0))
        right = np.minimum(left + 1, width - 1)
        frac = pos - left
        vals = value_mv[crop_of, left] * (1.0 - frac) + value_mv[crop_of, right] * frac
        flat = (pg[crop_of] * length + k) * N_LEADS + lead[crop_of]
        out_sum += np.bincount(flat, weights=vals, minlength=out_sum.size)
        out_cnt += np.bincount(flat, minlength=out_cnt.size)
    out = np.where(out_cnt > 0, out_sum / np.maximum(out_cnt, 1), np.nan)
    return out.reshape(n_pages, length, N_LEADS)
