"""Rhythm and noise sources of the synthetic ECG generator.

:func:`beat_times` draws the beat (QRS-centre) times and beat types: sinus rhythm with respiratory sinus
arrhythmia, atrial fibrillation, premature atrial and ventricular beats. :func:`afib_waves` is the
fibrillatory atrial activity (a wandering 3-D dipole) and :func:`electrode_noise` the baseline wander, mains
hum and EMG noise on the electrode potentials (RA, LA, LL, V1..V6), added before the limb leads are derived.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import signal as sps

from ecgdl.signals.synthetic_config import SyntheticECGConfig, uniform_in
from ecgdl.signals.synthetic_vcg import BEAT_TYPES

#: Electrodes that carry independent noise: RA, LA, LL, V1..V6.
_N_ELECTRODES = 9


def beat_times(
    rng: np.random.Generator, cfg: SyntheticECGConfig, duration_s: float, hr_bpm: float, afib: bool
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Beat (QRS-centre) times in seconds covering ``[-1, duration + 0.6]`` and their beat-type indices."""
    rr_mean = 60.0 / hr_bpm
    t_start, t_stop = -1.0, duration_s + 0.6
    n = math.ceil((t_stop - t_start) / (0.5 * rr_mean)) + 3
    resp_hz = uniform_in(rng, cfg.resp_rate_hz_range)
    resp_phase = rng.uniform(0.0, 2.0 * math.pi)
    info: dict[str, Any] = {"resp_rate_hz": resp_hz}
    if afib:
        cv = uniform_in(rng, cfg.afib_rr_cv_range)
        sigma = math.sqrt(math.log1p(cv * cv))
        rr = rr_mean * rng.lognormal(-0.5 * sigma * sigma, sigma, n)
        rr = np.maximum(rr, 0.25)
        info["rr_cv"] = cv
    else:
        rsa = uniform_in(rng, cfg.rsa_range)
        jitter = uniform_in(rng, cfg.rr_jitter_range)
        nominal = np.arange(n) * rr_mean
        rr = rr_mean * (1.0 + rsa * np.sin(2.0 * math.pi * resp_hz * nominal + resp_phase))
        rr *= 1.0 + jitter * rng.standard_normal(n)
        rr = np.maximum(rr, 0.5 * rr_mean)
        info.update(rsa=rsa, rr_jitter=jitter)
    t = t_start - rng.uniform(0.0, rr_mean) + np.concatenate([[0.0], np.cumsum(rr[:-1])])

    types = np.zeros(n, dtype=np.int64)
    pvc_rate = uniform_in(rng, cfg.pvc_rate_range) if rng.random() < cfg.p_pvc else 0.0
    pac_rate = 0.0 if afib else (uniform_in(rng, cfg.pac_rate_range) if rng.random() < cfg.p_pac else 0.0)
    u = rng.random(n)
    types[u < pvc_rate] = BEAT_TYPES.index("V")
    types[(u >= pvc_rate) & (u < pvc_rate + pac_rate)] = BEAT_TYPES.index("A")
    types[0] = 0
    # No two ectopic beats in a row: an ectopic beat right after another one is conducted normally.
    ectopic = types > 0
    types[1:][ectopic[1:] & ectopic[:-1]] = 0
    coupling = np.where(
        types == BEAT_TYPES.index("V"),
        rng.uniform(*cfg.pvc_coupling_range, n),
        rng.uniform(*cfg.pac_coupling_range, n),
    )
    early = np.zeros(n)
    early[1:] = (1.0 - coupling[1:]) * np.diff(t)
    # A PAC resets the sinus node (non-compensatory pause): everything after it moves earlier.
    is_pac = types == BEAT_TYPES.index("A")
    t = t - np.cumsum(np.where(is_pac, early, 0.0))
    # A PVC leaves the sinus rhythm alone (full compensatory pause): only the PVC itself moves.
    is_pvc = types == BEAT_TYPES.index("V")
    t = t - np.where(is_pvc, early, 0.0)
    keep = t <= t_stop
    info.update(pvc_rate=pvc_rate, pac_rate=pac_rate)
    return t[keep], types[keep], info


def afib_waves(rng: np.random.Generator, cfg: SyntheticECGConfig, t: np.ndarray) -> np.ndarray:
    """Fibrillatory atrial activity as a wandering 3-D dipole, (T, 3)."""
    f0 = uniform_in(rng, cfg.afib_wave_hz_range)
    level = uniform_in(rng, cfg.afib_wave_mv_range)
    out = np.empty((t.shape[0], 3))
    for k in range(3):
        fm = rng.uniform(0.1, 0.5)
        dev = rng.uniform(0.3, 1.0)
        phase = (
            2.0 * math.pi * f0 * t
            + (dev * f0 / (fm * 4.0)) * np.sin(2.0 * math.pi * fm * t)
            + rng.uniform(0, 6.3)
        )
        env = 0.6 + 0.4 * np.sin(2.0 * math.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 6.3))
        out[:, k] = level * rng.uniform(0.3, 1.0) * env * np.sin(phase)
    out[:, 2] *= 1.5  # f-waves are most visible in V1 (anterior)
    return out


@lru_cache(maxsize=32)
def _emg_sos(fs_hz: float, lo_hz: float, hi_hz: float) -> np.ndarray:
    hi = min(hi_hz, 0.45 * fs_hz)
    lo = min(lo_hz, 0.5 * hi)
    return sps.butter(2, [lo, hi], btype="bandpass", fs=fs_hz, output="sos")


def electrode_noise(
    rng: np.random.Generator, cfg: SyntheticECGConfig, t: np.ndarray, fs_hz: float
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Noise potentials (T, 9) on electrodes RA, LA, LL, V1..V6, or None when the record is clean."""
    n = t.shape[0]
    noise = np.zeros((n, _N_ELECTRODES))
    info: dict[str, Any] = {"baseline_wander_mv": 0.0, "mains_mv": 0.0, "mains_hz": 0.0, "emg_mv": 0.0}
    used = False
    if rng.random() < cfg.p_baseline_wander:
        level = uniform_in(rng, cfg.baseline_wander_mv_range)
        k = 3
        freqs = rng.uniform(*cfg.baseline_wander_hz_range, (k, _N_ELECTRODES))
        phases = rng.uniform(0.0, 2.0 * math.pi, (k, _N_ELECTRODES))
        weights = rng.uniform(0.2, 1.0, (k, _N_ELECTRODES))
        weights *= level / weights.sum(axis=0, keepdims=True)
        # Evaluate on a coarse 20 Hz grid (the wander is below 0.5 Hz) and interpolate: cheap at any fs.
        tc = np.arange(math.floor(t[0] * 20.0) - 1, math.ceil(t[-1] * 20.0) + 2) / 20.0
        coarse = np.einsum("kn,tkn->tn", weights, np.sin(2.0 * math.pi * freqs * tc[:, None, None] + phases))
        for e in range(_N_ELECTRODES):
            noise[:, e] += np.interp(t, tc, coarse[:, e])
        info["baseline_wander_mv"] = level
        used = True
    if rng.random() < cfg.p_mains:
        level = uniform_in(rng, cfg.mains_mv_range)
        f = float(cfg.mains_hz_choices[int(rng.integers(len(cfg.mains_hz_choices)))])
        if f < 0.5 * fs_hz:
            amps = level * rng.uniform(0.3, 1.0, _N_ELECTRODES)
            phases = rng.uniform(0.0, 2.0 * math.pi, _N_ELECTRODES)
            s, c = np.sin(2.0 * math.pi * f * t), np.cos(2.0 * math.pi * f * t)
            noise += s[:, None] * (amps * np.cos(phases)) + c[:, None] * (amps * np.sin(phases))
            info.update(mains_mv=level, mains_hz=f)
            used = True
    if rng.random() < cfg.p_emg:
        level = uniform_in(rng, cfg.emg_mv_range)
        white = rng.standard_normal((n, _N_ELECTRODES))
        emg = sps.sosfilt(_emg_sos(float(fs_hz), *cfg.emg_band_hz), white, axis=0)
        emg *= level / max(float(np.std(emg)), 1e-12)
        # Slowly varying muscle activity, different per electrode.
        env_f = rng.uniform(0.05, 0.3, _N_ELECTRODES)
        env_p = rng.uniform(0.0, 2.0 * math.pi, _N_ELECTRODES)
        env = 0.4 + 0.6 * (0.5 + 0.5 * np.sin(2.0 * math.pi * env_f * t[:, None] + env_p)) ** 2
        noise += emg * env
        info["emg_mv"] = level
        used = True
    return (noise if used else None), info
