"""Synthetic 12-lead ECGs from a moving-dipole (vectorcardiogram) model, physiologically consistent by construction.

Each beat is a sum of Gaussian-shaped bumps in time (P, Q, R, S, ST, T, U and a few helpers), each bump carrying a
3-D direction in a heart frame (x: patient's left, y: inferior, z: anterior). The 3-D heart vector is projected
on the frontal lead vectors of I (0 deg) and II (+60 deg) and on six horizontal-plane directions for V1..V6.
III, aVR, aVL and aVF are then *derived* from I and II, so Einthoven and Goldberger hold to floating point; all
noise (baseline wander, mains hum, EMG) is added on electrode potentials before the limb leads are derived.

Wave times and widths are in seconds, so morphology does not depend on the sampling rate. Everything random
comes from the ``np.random.Generator`` passed to :func:`generate_ecg`.

This module is the record generator; its configuration is in :mod:`ecgdl.signals.synthetic_config`, the beat
morphology (vectorcardiogram model) in :mod:`ecgdl.signals.synthetic_vcg` and the rhythm and noise sources in
:mod:`ecgdl.signals.synthetic_rhythm` (the public names stay importable from here).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ecgdl.constants import LEAD_INDEX, N_LEADS
from ecgdl.signals.record import EcgRecord
from ecgdl.signals.synthetic_config import Range, SyntheticECGConfig, config_from_kwargs, uniform_in
from ecgdl.signals.synthetic_rhythm import afib_waves, beat_times, electrode_noise
from ecgdl.signals.synthetic_vcg import (
    BEAT_TYPES,
    P_SLOTS,
    QRS_SLOTS,
    WAVE_INDEX,
    WAVES,
    bumps_to_vector,
    draw_templates,
    lead_matrix,
)

__all__ = ["BEAT_TYPES", "WAVES", "Range", "SyntheticECGConfig", "config_from_kwargs", "generate_ecg"]


def generate_ecg(
    rng: np.random.Generator,
    fs_hz: float = 500,
    duration_s: float = 10.0,
    config: SyntheticECGConfig | None = None,
    record_id: str = "",
) -> EcgRecord:
    """Draw one synthetic 12-lead record of ``round(duration_s * fs_hz)`` samples.

    ``record.meta`` holds ``rhythm`` ("sinus" or "afib"), ``hr_bpm`` (mean rate over the generated beats),
    ``hr_target_bpm``, ``beat_times_s`` and ``beat_types`` (QRS centres inside the record; "N", "V" or "A"),
    the morphology parameters and the noise levels.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"generate_ecg: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    fs_hz = float(fs_hz)
    duration_s = float(duration_s)
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"generate_ecg: fs_hz must be a positive number, got {fs_hz}")
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"generate_ecg: duration_s must be a positive number, got {duration_s}")
    n_samples = round(duration_s * fs_hz)
    if n_samples < 1:
        raise ValueError(f"generate_ecg: duration_s * fs_hz = {duration_s * fs_hz} gives no samples")
    cfg = config if config is not None else SyntheticECGConfig()

    afib = rng.random() < cfg.p_afib
    if rng.random() < cfg.p_hr_typical:
        lo = max(cfg.hr_typical_bpm_range[0], cfg.hr_bpm_range[0])
        hi = min(cfg.hr_typical_bpm_range[1], cfg.hr_bpm_range[1])
        hr_target = uniform_in(rng, (lo, hi)) if lo <= hi else uniform_in(rng, cfg.hr_bpm_range)
    else:
        hr_target = uniform_in(rng, cfg.hr_bpm_range)
    tmpl = draw_templates(rng, cfg, afib)
    beat_t, beat_type, rhythm_info = beat_times(rng, cfg, duration_s, hr_target, afib)
    n_beats = beat_t.shape[0]

    # Per-beat parameters (B, W).
    amp = tmpl.amp[beat_type] * (1.0 + cfg.beat_amplitude_jitter * rng.standard_normal((n_beats, len(WAVES))))
    direction = tmpl.direction[beat_type]
    sigma_l = tmpl.sigma_l[beat_type].copy()
    sigma_r = tmpl.sigma_r[beat_type].copy()
    offset = tmpl.offset[beat_type].copy()
    resp_phase = 2.0 * math.pi * rhythm_info["resp_rate_hz"] * beat_t + rng.uniform(0.0, 2.0 * math.pi)
    resp_mod = np.sin(resp_phase)
    amp[:, QRS_SLOTS] *= 1.0 + uniform_in(rng, cfg.resp_amplitude_modulation_range) * resp_mod[:, None]
    rot = np.radians(uniform_in(rng, cfg.resp_rotation_deg_range) * resp_mod)[:, None]
    c, s = np.cos(rot), np.sin(rot)
    direction = np.stack(
        [
            c * direction[..., 0] - s * direction[..., 1],
            s * direction[..., 0] + c * direction[..., 1],
            direction[..., 2],
        ],
        axis=-1,
    )

    # Rate-dependent timing: PR and QT follow the preceding RR interval.
    rr_prev = np.empty(n_beats)
    rr_prev[0] = 60.0 / hr_target
    rr_prev[1:] = np.diff(beat_t)
    d = tmpl.qrs_duration[beat_type]
    qrs_on = -0.5 * d
    pr = uniform_in(rng, cfg.pr_interval_s_range) * np.clip((rr_prev / 0.8) ** 0.15, 0.85, 1.1)
    p_d = tmpl.info["p_duration_s"]
    offset[:, P_SLOTS] += (qrs_on - pr + 0.5 * p_d)[:, None]
    qtc = uniform_in(rng, cfg.qtc_s_range)
    qt = qtc * np.sqrt(np.clip(rr_prev, 0.25, 2.0)) + np.where(beat_type == BEAT_TYPES.index("V"), 0.04, 0.0)
    t_sl = qt * rng.uniform(0.13, 0.17)
    t_sr = qt * rng.uniform(0.08, 0.11)
    sigma_l[:, WAVE_INDEX["T"]], sigma_r[:, WAVE_INDEX["T"]] = t_sl, t_sr
    t_peak = qrs_on + qt - 2.5 * t_sr
    offset[:, WAVE_INDEX["T"]] = t_peak
    offset[:, WAVE_INDEX["ST"]] = 0.5 * (0.5 * d + t_peak - 1.5 * t_sl)
    offset[:, WAVE_INDEX["U"]] = t_peak + 2.5 * t_sr + rng.uniform(0.06, 0.1)

    centers = (beat_t[:, None] + offset).ravel()
    amp_vec = (amp[..., None] * direction).reshape(-1, 3)
    t = np.arange(n_samples) / fs_hz
    heart = bumps_to_vector(n_samples, fs_hz, centers, sigma_l.ravel(), sigma_r.ravel(), amp_vec)
    if afib:
        heart += afib_waves(rng, cfg, t)

    leads8 = heart @ lead_matrix(rng, cfg)  # I, II, V1..V6
    noise, noise_info = electrode_noise(rng, cfg, t, fs_hz)
    if noise is not None:
        ra, la, ll = noise[:, 0], noise[:, 1], noise[:, 2]
        leads8[:, 0] += la - ra
        leads8[:, 1] += ll - ra
        leads8[:, 2:] += noise[:, 3:] - ((ra + la + ll) / 3.0)[:, None]

    sig = np.empty((n_samples, N_LEADS))
    lead_i, lead_ii = leads8[:, 0], leads8[:, 1]
    sig[:, LEAD_INDEX["I"]] = lead_i
    sig[:, LEAD_INDEX["II"]] = lead_ii
    sig[:, LEAD_INDEX["III"]] = lead_ii - lead_i
    sig[:, LEAD_INDEX["aVR"]] = -(lead_i + lead_ii) / 2.0
    sig[:, LEAD_INDEX["aVL"]] = lead_i - lead_ii / 2.0
    sig[:, LEAD_INDEX["aVF"]] = lead_ii - lead_i / 2.0
    for j, name in enumerate(("V1", "V2", "V3", "V4", "V5", "V6")):
        sig[:, LEAD_INDEX[name]] = leads8[:, 2 + j]

    inside = (beat_t >= 0.0) & (beat_t < duration_s)
    rr_all = np.diff(beat_t)
    meta: dict[str, Any] = {
        "source": "synthetic",
        "rhythm": "afib" if afib else "sinus",
        "hr_bpm": float(60.0 / np.mean(rr_all)) if rr_all.size else float(hr_target),
        "hr_target_bpm": float(hr_target),
        "beat_times_s": [float(x) for x in beat_t[inside]],
        "beat_types": [BEAT_TYPES[k] for k in beat_type[inside]],
        "qt_c_s": float(qtc),
        **tmpl.info,
        **{k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in rhythm_info.items()},
        **noise_info,
    }
    return EcgRecord(signal_mv=sig, fs_hz=fs_hz, record_id=record_id, meta=meta)
