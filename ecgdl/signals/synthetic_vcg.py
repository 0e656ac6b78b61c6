"""Beat morphology of the synthetic ECG generator: the moving-dipole (vectorcardiogram) model.

Each beat type (sinus N, premature ventricular V, premature atrial A) gets per-record wave templates
(:func:`draw_templates`): Gaussian-shaped bumps in time (P, Q, R, S, ST, T, U and a few helpers), each
carrying a 3-D direction in a heart frame (x: patient's left, y: inferior, z: anterior).
:func:`bumps_to_vector` sums the bumps into the 3-D heart vector on the sample grid and :func:`lead_matrix`
projects it on I, II and V1..V6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgdl.signals.synthetic_config import SyntheticECGConfig, loguniform_in, uniform_in

#: Bump slots of one beat, in the order used by the per-beat arrays.
WAVES: tuple[str, ...] = ("P_ra", "P_la", "Q", "R1", "R", "S", "R2", "ST", "T", "U")
#: Index of each bump slot in :data:`WAVES`.
WAVE_INDEX: dict[str, int] = {name: i for i, name in enumerate(WAVES)}
_W = WAVE_INDEX  # short alias for the template tables below
QRS_SLOTS = [_W["Q"], _W["R1"], _W["R"], _W["S"], _W["R2"]]
P_SLOTS = [_W["P_ra"], _W["P_la"]]
#: Beat types: sinus/conducted (N), premature ventricular (V), premature atrial (A).
BEAT_TYPES: tuple[str, ...] = ("N", "V", "A")

#: Nominal horizontal-plane angles (deg, from the patient's left towards anterior) of V1..V6 and their
#: inferior component (the chest electrodes sit somewhat below the heart's electrical centre).
_PRECORDIAL_ANGLE_DEG = np.array([115.0, 90.0, 70.0, 50.0, 25.0, 0.0])
_PRECORDIAL_INFERIOR = np.array([0.0, 0.0, 0.1, 0.2, 0.25, 0.25])
#: Relative gains of V1..V6 (V2-V4 lie closest to the heart).
_PRECORDIAL_GAIN = np.array([1.2, 2.2, 2.4, 2.4, 1.75, 1.25])


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _frontal(angle_deg: float, z: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return _unit(np.array([math.cos(a), math.sin(a), z]))


def _rot_z(v: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate vectors (..., 3) in the frontal plane (about the anterior axis)."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    out = v.copy()
    out[..., 0] = c * v[..., 0] - s * v[..., 1]
    out[..., 1] = s * v[..., 0] + c * v[..., 1]
    return out


def _random_unit(rng: np.random.Generator) -> np.ndarray:
    return _unit(rng.standard_normal(3))


@dataclass
class BeatTemplates:
    """Per-record wave parameters of each beat type: arrays (K, W) and directions (K, W, 3)."""

    amp: np.ndarray
    direction: np.ndarray
    sigma_l: np.ndarray
    sigma_r: np.ndarray
    offset: np.ndarray  # fixed part of the offset from the beat time (s)
    qrs_duration: np.ndarray  # (K,)
    info: dict[str, Any]


def draw_templates(rng: np.random.Generator, cfg: SyntheticECGConfig, afib: bool) -> BeatTemplates:
    k, w = len(BEAT_TYPES), len(WAVES)
    amp = np.zeros((k, w))
    direction = np.zeros((k, w, 3))
    direction[..., 0] = 1.0
    sigma_l = np.full((k, w), 0.01)
    sigma_r = np.full((k, w), 0.01)
    offset = np.zeros((k, w))

    # Sinus beat.
    outlier = rng.random() < cfg.p_axis_outlier
    axis = uniform_in(rng, cfg.axis_outlier_deg_range if outlier else cfg.qrs_axis_deg_range)
    a_r = loguniform_in(rng, cfg.r_amplitude_mv_range)
    r_dir = _frontal(axis, uniform_in(rng, cfg.r_posterior_range))
    wide = rng.random() < cfg.p_wide_qrs
    conduction = "normal"
    if wide:
        conduction = "rbbb" if rng.random() < 0.5 else "lbbb"
        d = uniform_in(rng, cfg.wide_qrs_duration_s_range)
    else:
        d = uniform_in(rng, cfg.qrs_duration_s_range)
    q_dir = _unit(np.array([-rng.uniform(0.2, 0.6), rng.uniform(-0.3, 0.3), rng.uniform(0.6, 1.0)]))
    s_dir = _unit(np.array([-rng.uniform(0.05, 0.5), -rng.uniform(0.1, 0.8), -rng.uniform(0.2, 0.8)]))
    n = 0
    amp[n, _W["Q"]] = a_r * rng.uniform(0.05, 0.2)
    amp[n, _W["R"]] = a_r
    amp[n, _W["S"]] = a_r * rng.uniform(0.1, 0.45)
    direction[n, _W["Q"]], direction[n, _W["R"]], direction[n, _W["S"]] = q_dir, r_dir, s_dir
    offset[n, [_W["Q"], _W["R"], _W["S"]]] = [-0.32 * d, 0.03 * d, 0.3 * d]
    sigma_l[n, [_W["Q"], _W["R"], _W["S"]]] = [0.09 * d, 0.12 * d, 0.1 * d]
    sigma_r[n, [_W["Q"], _W["R"], _W["S"]]] = [0.09 * d, 0.12 * d, 0.1 * d]
    # Apical (anterior-left) activation between the septal and the free-wall forces: R in V2-V4.
    amp[n, _W["R1"]] = a_r * rng.uniform(0.4, 0.8)
    direction[n, _W["R1"]] = _frontal(axis + rng.uniform(-20.0, 20.0), rng.uniform(0.3, 0.9))
    offset[n, _W["R1"]] = -0.12 * d
    sigma_l[n, _W["R1"]] = sigma_r[n, _W["R1"]] = 0.1 * d
    t_dir = _frontal(axis + rng.uniform(-40.0, 40.0), rng.uniform(0.1, 0.8))
    if conduction == "rbbb":
        amp[n, _W["R2"]] = a_r * rng.uniform(0.3, 0.6)
        direction[n, _W["R2"]] = _unit(np.array([-0.6, rng.uniform(-0.2, 0.3), 0.9]))
        offset[n, _W["R2"]] = 0.33 * d
        sigma_l[n, _W["R2"]] = sigma_r[n, _W["R2"]] = 0.11 * d
        offset[n, _W["S"]] = 0.22 * d
    elif conduction == "lbbb":
        amp[n, _W["Q"]] = 0.0
        amp[n, _W["R1"]] *= 0.3
        sigma_l[n, _W["R"]] = sigma_r[n, _W["R"]] = 0.14 * d
        offset[n, _W["R"]] = -0.12 * d
        amp[n, _W["R2"]] = a_r * rng.uniform(0.5, 0.9)
        direction[n, _W["R2"]] = _rot_z(r_dir, rng.uniform(-20.0, 20.0))
        offset[n, _W["R2"]] = 0.18 * d
        sigma_l[n, _W["R2"]] = sigma_r[n, _W["R2"]] = 0.12 * d
        amp[n, _W["S"]] *= 0.3
        t_dir = _unit(-r_dir + 0.3 * _random_unit(rng))  # secondary (discordant) repolarisation change
    if rng.random() < cfg.p_t_inverted:
        t_dir = -t_dir
    amp[n, _W["T"]] = uniform_in(rng, cfg.t_amplitude_mv_range)
    direction[n, _W["T"]] = t_dir
    if rng.random() < cfg.p_st_deviation:
        amp[n, _W["ST"]] = uniform_in(rng, cfg.st_amplitude_mv_range)
        direction[n, _W["ST"]] = _random_unit(rng)
    if rng.random() < cfg.p_u_wave:
        amp[n, _W["U"]] = uniform_in(rng, cfg.u_amplitude_mv_range)
        direction[n, _W["U"]] = t_dir
        sigma_l[n, _W["U"]] = sigma_r[n, _W["U"]] = rng.uniform(0.025, 0.04)
    # P wave: right-atrial (inferior-anterior) then left-atrial (leftward-posterior) component.
    a_p = 0.0 if afib else uniform_in(rng, cfg.p_amplitude_mv_range)
    p_rot = rng.uniform(-25.0, 20.0)
    p_d = uniform_in(rng, cfg.p_duration_s_range)
    amp[n, _W["P_ra"]] = a_p * rng.uniform(0.7, 1.0)
    amp[n, _W["P_la"]] = a_p * rng.uniform(0.6, 1.0)
    direction[n, _W["P_ra"]] = _rot_z(_unit(np.array([0.2, 1.0, rng.uniform(0.2, 0.7)])), p_rot)
    direction[n, _W["P_la"]] = _rot_z(_unit(np.array([1.0, 0.4, -rng.uniform(0.2, 0.7)])), p_rot)
    offset[n, P_SLOTS] = [-0.15 * p_d, 0.15 * p_d]
    sigma_l[n, P_SLOTS] = sigma_r[n, P_SLOTS] = 0.17 * p_d
    sigma_l[n, _W["ST"]] = sigma_r[n, _W["ST"]] = 0.04
    width_scale = 1.0
    if cfg.qrs_width_scale_range is not None:
        width_scale = uniform_in(rng, cfg.qrs_width_scale_range)
        sigma_l[n, QRS_SLOTS] *= width_scale
        sigma_r[n, QRS_SLOTS] *= width_scale

    # Premature atrial beat: same QRS-T, P from an ectopic focus.
    a = BEAT_TYPES.index("A")
    for arr in (amp, direction, sigma_l, sigma_r, offset):
        arr[a] = arr[n]
    direction[a, P_SLOTS] = _rot_z(direction[n, P_SLOTS], rng.uniform(-140.0, 140.0))

    # Premature ventricular beat: wide, bizarre QRS, no P, discordant T.
    v = BEAT_TYPES.index("V")
    d_v = uniform_in(rng, cfg.pvc_qrs_duration_s_range)
    v1 = _random_unit(rng)
    v2 = _unit(v1 + 0.9 * _random_unit(rng))
    amp[v, _W["R"]] = float(np.clip(a_r * rng.uniform(0.9, 1.5), 0.6, 2.0))
    amp[v, _W["S"]] = amp[v, _W["R"]] * rng.uniform(0.3, 0.8)
    direction[v, _W["R"]], direction[v, _W["S"]] = v1, v2
    offset[v, _W["R"]], offset[v, _W["S"]] = -0.12 * d_v, 0.17 * d_v
    sigma_l[v, _W["R"]] = sigma_r[v, _W["R"]] = 0.17 * d_v
    sigma_l[v, _W["S"]] = sigma_r[v, _W["S"]] = 0.15 * d_v
    main = amp[v, _W["R"]] * v1 + amp[v, _W["S"]] * v2
    amp[v, _W["T"]] = rng.uniform(0.25, 0.6)
    direction[v, _W["T"]] = _unit(-_unit(main) + 0.3 * _random_unit(rng))

    if rng.random() < cfg.p_low_voltage:
        amp *= uniform_in(rng, cfg.low_voltage_scale_range)
    qrs_duration = np.array([d, d_v, d])
    info = {
        "qrs_axis_deg": float(axis),
        "qrs_duration_s": float(d),
        "qrs_width_scale": float(width_scale),
        "conduction": conduction,
        "p_duration_s": float(p_d),
    }
    return BeatTemplates(amp, direction, sigma_l, sigma_r, offset, qrs_duration, info)


def bumps_to_vector(
    n_samples: int,
    fs_hz: float,
    centers: np.ndarray,
    sigma_l: np.ndarray,
    sigma_r: np.ndarray,
    amp_vec: np.ndarray,
) -> np.ndarray:
    """Sum of asymmetric Gaussian bumps (N,) with 3-D amplitudes (N, 3), evaluated on the sample grid -> (T, 3)."""
    heart = np.zeros((n_samples, 3))
    live = (np.abs(amp_vec).sum(axis=1) > 0.0) & (centers > -1.0) & (centers < n_samples / fs_hz + 1.0)
    if not np.any(live):
        return heart
    centers, sigma_l, sigma_r, amp_vec = centers[live], sigma_l[live], sigma_r[live], amp_vec[live]
    half = math.ceil(6.0 * float(np.max(np.maximum(sigma_l, sigma_r))) * fs_hz) + 1
    offs = np.arange(-half, half + 1)
    idx = np.rint(centers * fs_hz).astype(np.int64)[:, None] + offs[None, :]
    dt = idx / fs_hz - centers[:, None]
    sig = np.where(dt < 0.0, sigma_l[:, None], sigma_r[:, None])
    g = np.exp(-0.5 * (dt / sig) ** 2)
    valid = (idx >= 0) & (idx < n_samples)
    rows = np.broadcast_to(np.arange(len(centers))[:, None], idx.shape)[valid]
    idx_v, g_v = idx[valid], g[valid]
    for k in range(3):
        heart[:, k] = np.bincount(idx_v, weights=g_v * amp_vec[rows, k], minlength=n_samples)
    return heart


def lead_matrix(rng: np.random.Generator, cfg: SyntheticECGConfig) -> np.ndarray:
    """(3, 8) projection of the heart vector on I, II and V1..V6."""
    m = np.zeros((3, 8))
    limb_gain = uniform_in(rng, cfg.limb_gain_range)
    m[:, 0] = limb_gain * np.array([1.0, 0.0, 0.0])
    m[:, 1] = limb_gain * np.array([0.5, math.sqrt(3.0) / 2.0, 0.0])
    ang = np.radians(_PRECORDIAL_ANGLE_DEG + rng.uniform(-1.0, 1.0, 6) * cfg.precordial_angle_jitter_deg)
    dirs = np.stack([np.cos(ang), _PRECORDIAL_INFERIOR, np.sin(ang)], axis=0)
    gain = _PRECORDIAL_GAIN * uniform_in(rng, cfg.precordial_gain_range) * rng.uniform(0.9, 1.1, 6)
    m[:, 2:] = dirs * gain[None, :]
    return m
