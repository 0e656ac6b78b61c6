"""Einthoven (I + III = II) and Goldberger (aVR + aVL + aVF = 0) consistency of a 12-lead signal, as an SNR-like
dB: limb-lead physics, so it lives with the signals; :mod:`ecgdl.signals.limb` reports it for every reading and
:mod:`ecgdl.metrics` re-exports it as the truth-free plausibility check of a digitized record.

Only samples where *all* leads of a relation are defined (not NaN) take part, so one function handles both a
3x4 page (I/II/III simultaneous at 0-2.5 s, aVR/aVL/aVF simultaneous at 2.5-5 s, but I and aVR never together)
and a full record (all six limb leads at every sample). Digitizers estimate each lead's baseline separately, so
by default the residual's mean inside each window is removed (a constant offset is forgiven, as in the Kaggle
metric).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ecgdl.constants import LEAD_INDEX, N_LEADS, SNR_CAP_LINEAR

__all__ = ["COLUMNS_3X4_S", "EinthovenResult", "einthoven_consistency_db"]

#: The two limb-lead columns of a standard 3x4 page, in seconds: (I, II, III) then (aVR, aVL, aVF).
COLUMNS_3X4_S: tuple[tuple[float, float], ...] = ((0.0, 2.5), (2.5, 5.0))


@dataclass(frozen=True)
class EinthovenResult:
    """Energies and dB of both relations; ``*_db`` is NaN when no sample had all the needed leads."""

    einthoven_db: float
    goldberger_db: float
    combined_db: float
    einthoven_signal: float
    einthoven_residual: float
    goldberger_signal: float
    goldberger_residual: float
    n_einthoven_samples: int
    n_goldberger_samples: int


def _db(signal: float, residual: float, n: int, cap: float) -> float:
    if n == 0:
        return float("nan")
    if residual == 0:
        return float(10.0 * np.log10(cap))
    if signal == 0:
        return float("-inf")
    return float(10.0 * np.log10(min(signal / residual, cap)))


def _relation(
    x: np.ndarray,
    spans: list[tuple[int, int]],
    leads: tuple[str, ...],
    weights: tuple[float, ...],
    signal_leads: tuple[str, ...],
    remove_offset: bool,
) -> tuple[float, float, int]:
    """Pooled signal energy, residual energy and sample count of ``sum(w * lead) = 0`` over the windows."""
    cols = [LEAD_INDEX[k] for k in leads]
    sig_cols = [LEAD_INDEX[k] for k in signal_leads]
    signal = residual = 0.0
    count = 0
    for a, b in spans:
        block = x[a:b]
        rows = ~np.isnan(block[:, cols]).any(axis=1)
        if not rows.any():
            continue
        r = block[rows][:, cols] @ np.asarray(weights)
        if remove_offset:
            r = r - r.mean()
        signal += float(np.sum(block[rows][:, sig_cols] ** 2))
        residual += float(np.sum(r**2))
        count += int(rows.sum())
    return signal, residual, count


def einthoven_consistency_db(
    signal_mv: np.ndarray,
    fs_hz: float,
    windows: Sequence[tuple[float, float]] | None = None,
    *,
    remove_offset: bool = True,
    cap: float = SNR_CAP_LINEAR,
) -> EinthovenResult:
    """Einthoven/Goldberger consistency of a (T, 12) signal in ``LEADS`` order.

    Args:
        signal_mv: (T, 12) millivolts, NaN where a lead is absent.
        fs_hz: sampling rate.
        windows: ``(start_s, end_s)`` time windows evaluated separately and pooled (e.g. :data:`COLUMNS_3X4_S`);
            ``None`` evaluates the whole record as one window. Within a window only samples where all leads of
            a relation are defined count.
        remove_offset: subtract the residual's mean per window and relation.
        cap: linear ratio cap (60 dB), also the value for a zero residual.

    Returns:
        :class:`EinthovenResult`: ``einthoven_db = 10 log10(sum II^2 / sum (I + III - II)^2)``,
        ``goldberger_db = 10 log10(sum (aVR^2 + aVL^2 + aVF^2) / sum (aVR + aVL + aVF)^2)`` and their pooled
        ``combined_db``.
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != N_LEADS:
        raise ValueError(f"signal_mv must have shape (T, {N_LEADS}), got {x.shape}")
    if not np.isfinite(fs_hz) or fs_hz <= 0:
        raise ValueError(f"fs_hz must be positive, got {fs_hz}")
    if np.isinf(x).any():
        raise ValueError("signal_mv contains inf")
    n_samples = x.shape[0]
    if windows is None:
        spans = [(0, n_samples)]
    else:
        spans = []
        for start_s, end_s in windows:
            if end_s <= start_s:
                raise ValueError(f"window ({start_s}, {end_s}) must have end_s > start_s")
            a = max(0, round(float(start_s) * float(fs_hz)))
            b = min(n_samples, round(float(end_s) * float(fs_hz)))
            spans.append((a, b))
    # Einthoven: residual I - II + III, signal energy of II. Goldberger: residual aVR + aVL + aVF, signal
    # energy of all three augmented leads.
    e_sig, e_res, e_n = _relation(x, spans, ("I", "II", "III"), (1.0, -1.0, 1.0), ("II",), remove_offset)
    g_sig, g_res, g_n = _relation(
        x, spans, ("aVR", "aVL", "aVF"), (1.0, 1.0, 1.0), ("aVR", "aVL", "aVF"), remove_offset
    )
    return EinthovenResult(
        einthoven_db=_db(e_sig, e_res, e_n, cap),
        goldberger_db=_db(g_sig, g_res, g_n, cap),
        combined_db=_db(e_sig + g_sig, e_res + g_res, e_n + g_n, cap),
        einthoven_signal=e_sig,
        einthoven_residual=e_res,
        goldberger_signal=g_sig,
        goldberger_residual=g_res,
        n_einthoven_samples=e_n,
        n_goldberger_samples=g_n,
    )
