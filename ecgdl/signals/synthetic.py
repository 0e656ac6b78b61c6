"""Synthetic 12-lead ECGs from a moving-dipole (vectorcardiogram) model, physiologically consistent by construction.

Each beat is a sum of Gaussian-shaped bumps in time (P, Q, R, S, ST, T, U and a few helpers), each bump carrying a
3-D direction in a heart frame (x: patient's left, y: inferior, z: anterior). The 3-D heart vector is projected
on the frontal lead vectors of I (0 deg) and II (+60 deg) and on six horizontal-plane directions for V1..V6.
III, aVR, aVL and aVF are then *derived* from I and II, so Einthoven and Goldberger hold to floating point; all
noise (baseline wander, mains hum, EMG) is added on electrode potentials before the limb leads are derived.

Wave times and widths are in seconds, so morphology does not depend on the sampling rate. Everything random
comes from the ``np.random.Generator`` passed to :func:`generate_ecg`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import signal as sps

from ecgdl.constants import LEAD_INDEX, N_LEADS
from ecgdl.signals.record import EcgRecord

#: Bump slots of one beat, in the order used by the per-beat arrays.
WAVES: tuple[str, ...] = ("P_ra", "P_la", "Q", "R1", "R", "S", "R2", "ST", "T", "U")
_W = {name: i for i, name in enumerate(WAVES)}
_QRS_SLOTS = [_W["Q"], _W["R1"], _W["R"], _W["S"], _W["R2"]]
_P_SLOTS = [_W["P_ra"], _W["P_la"]]
#: Beat types: sinus/conducted (N), premature ventricular (V), premature atrial (A).
BEAT_TYPES: tuple[str, ...] = ("N", "V", "A")

#: Nominal horizontal-plane angles (deg, from the patient's left towards anterior) of V1..V6 and their
#: inferior component (the chest electrodes sit somewhat below the heart's electrical centre).
_PRECORDIAL_ANGLE_DEG = np.array([115.0, 90.0, 70.0, 50.0, 25.0, 0.0])
_PRECORDIAL_INFERIOR = np.array([0.0, 0.0, 0.1, 0.2, 0.25, 0.25])
#: Relative gains of V1..V6 (V2-V4 lie closest to the heart).
_PRECORDIAL_GAIN = np.array([1.2, 2.2, 2.4, 2.4, 1.75, 1.25])

#: Electrodes that carry independent noise: RA, LA, LL, V1..V6.
_N_ELECTRODES = 9

Range = tuple[float, float]


def _as_range(name: str, value: Any) -> Range:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"SyntheticECGConfig.{name} must be a (low, high) pair, got {value!r}") from err
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(
            f"SyntheticECGConfig.{name} must be a finite (low, high) pair with low <= high, got {value!r}"
        )
    return (lo, hi)


@dataclass
class SyntheticECGConfig:
    """Ranges (``(low, high)``, drawn uniformly unless noted) and probabilities of the synthetic generator.

    Amplitudes are magnitudes of the 3-D heart vector in mV (a lead sees their projection). Probabilities with
    the prefix ``p_`` are per record; ``*_rate_range`` are per-beat probabilities drawn once per record.
    """

    # Rhythm and rate.
    hr_bpm_range: Range = (40.0, 180.0)
    hr_typical_bpm_range: Range = (55.0, 100.0)
    p_hr_typical: float = 0.6
    rr_jitter_range: Range = (0.0, 0.03)
    rsa_range: Range = (0.0, 0.06)
    resp_rate_hz_range: Range = (0.15, 0.4)
    p_afib: float = 0.08
    afib_rr_cv_range: Range = (0.12, 0.3)
    afib_wave_mv_range: Range = (0.02, 0.1)
    afib_wave_hz_range: Range = (4.0, 9.0)
    # Ectopy.
    p_pvc: float = 0.12
    pvc_rate_range: Range = (0.05, 0.25)
    pvc_coupling_range: Range = (0.5, 0.75)
    pvc_qrs_duration_s_range: Range = (0.13, 0.19)
    p_pac: float = 0.08
    pac_rate_range: Range = (0.05, 0.2)
    pac_coupling_range: Range = (0.6, 0.85)
    # Morphology.
    qrs_axis_deg_range: Range = (-30.0, 90.0)
    p_axis_outlier: float = 0.08
    axis_outlier_deg_range: Range = (-90.0, 180.0)
    r_amplitude_mv_range: Range = (0.6, 1.9)
    r_posterior_range: Range = (-0.9, -0.15)
    p_amplitude_mv_range: Range = (0.06, 0.25)
    p_duration_s_range: Range = (0.08, 0.11)
    pr_interval_s_range: Range = (0.12, 0.2)
    qrs_duration_s_range: Range = (0.075, 0.105)
    # Per-record scale of the sinus QRS waves' widths (Q, R, S and the extra R waves; duration unchanged), None:
    # the template's (and no draw, so records stay as they were). The template's R is a wide Gaussian: its
    # records' steepest 0.1 % of samples reach ~95 mV/s, real PTB-XL records' ~145 (see signals/synthetic.yaml).
    qrs_width_scale_range: Range | None = None
    p_wide_qrs: float = 0.06
    wide_qrs_duration_s_range: Range = (0.12, 0.16)
    qtc_s_range: Range = (0.37, 0.45)
    t_amplitude_mv_range: Range = (0.12, 0.55)
    p_t_inverted: float = 0.05
    p_st_deviation: float = 0.1
    st_amplitude_mv_range: Range = (0.05, 0.2)
    p_u_wave: float = 0.25
    u_amplitude_mv_range: Range = (0.02, 0.08)
    p_low_voltage: float = 0.08
    low_voltage_scale_range: Range = (0.25, 0.5)
    limb_gain_range: Range = (0.8, 1.2)
    precordial_gain_range: Range = (0.8, 1.2)
    precordial_angle_jitter_deg: float = 8.0
    beat_amplitude_jitter: float = 0.03
    resp_amplitude_modulation_range: Range = (0.0, 0.08)
    resp_rotation_deg_range: Range = (0.0, 4.0)
    # Noise (all on electrode potentials, so Einthoven stays exact).
    p_baseline_wander: float = 0.7
    baseline_wander_mv_range: Range = (0.02, 0.35)
    baseline_wander_hz_range: Range = (0.05, 0.5)
    p_mains: float = 0.25
    mains_mv_range: Range = (0.003, 0.04)
    mains_hz_choices: tuple[float, ...] = (50.0, 60.0)
    p_emg: float = 0.3
    emg_mv_range: Range = (0.003, 0.04)
    emg_band_hz: Range = (20.0, 150.0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "qrs_width_scale_range" and value is None:
                continue
            if f.name.endswith("_range") or f.name == "emg_band_hz":
                setattr(self, f.name, _as_range(f.name, value))
            elif f.name.startswith("p_"):
                p = float(value)
                if not 0.0 <= p <= 1.0:
                    raise ValueError(
                        f"SyntheticECGConfig.{f.name} must be a probability in [0, 1], got {value!r}"
                    )
                setattr(self, f.name, p)
        if self.qrs_width_scale_range is not None and self.qrs_width_scale_range[0] <= 0.0:
            raise ValueError(
                f"SyntheticECGConfig.qrs_width_scale_range must be positive, got {self.qrs_width_scale_range}"
            )
        self.mains_hz_choices = tuple(float(v) for v in self.mains_hz_choices)
        if not self.mains_hz_choices:
            raise ValueError("SyntheticECGConfig.mains_hz_choices must not be empty")
        lo_hr, hi_hr = self.hr_bpm_range
        if lo_hr < 10.0 or hi_hr > 300.0:
            raise ValueError(
                f"SyntheticECGConfig.hr_bpm_range must lie within 10..300 bpm, got {self.hr_bpm_range}"
            )
        for name in ("pvc_rate_range", "pac_rate_range"):
            lo, hi = getattr(self, name)
            if lo < 0.0 or hi > 0.5:
                raise ValueError(f"SyntheticECGConfig.{name} must lie within [0, 0.5], got {(lo, hi)}")

    def noise_free(self) -> SyntheticECGConfig:
        """A copy without baseline wander, mains hum or EMG noise."""
        return dataclasses.replace(self, p_baseline_wander=0.0, p_mains=0.0, p_emg=0.0)

    def sinus_only(self) -> SyntheticECGConfig:
        """A copy without atrial fibrillation and ectopic beats."""
        return dataclasses.replace(self, p_afib=0.0, p_pvc=0.0, p_pac=0.0)


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def _loguniform(rng: np.random.Generator, r: Range) -> float:
    if r[0] <= 0.0 or r[1] <= r[0]:
        return _u(rng, r)
    return float(np.exp(rng.uniform(np.log(r[0]), np.log(r[1]))))


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
class _Templates:
    """Per-record wave parameters of each beat type: arrays (K, W) and directions (K, W, 3)."""

    amp: np.ndarray
    direction: np.ndarray
    sigma_l: np.ndarray
    sigma_r: np.ndarray
    offset: np.ndarray  # fixed part of the offset from the beat time (s)
    qrs_duration: np.ndarray  # (K,)
    info: dict[str, Any]


def _draw_templates(rng: np.random.Generator, cfg: SyntheticECGConfig, afib: bool) -> _Templates:
    k, w = len(BEAT_TYPES), len(WAVES)
    amp = np.zeros((k, w))
    direction = np.zeros((k, w, 3))
    direction[..., 0] = 1.0
    sigma_l = np.full((k, w), 0.01)
    sigma_r = np.full((k, w), 0.01)
    offset = np.zeros((k, w))

    # Sinus beat.
    outlier = rng.random() < cfg.p_axis_outlier
    axis = _u(rng, cfg.axis_outlier_deg_range if outlier else cfg.qrs_axis_deg_range)
    a_r = _loguniform(rng, cfg.r_amplitude_mv_range)
    r_dir = _frontal(axis, _u(rng, cfg.r_posterior_range))
    wide = rng.random() < cfg.p_wide_qrs
    conduction = "normal"
    if wide:
        conduction = "rbbb" if rng.random() < 0.5 else "lbbb"
        d = _u(rng, cfg.wide_qrs_duration_s_range)
    else:
        d = _u(rng, cfg.qrs_duration_s_range)
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
    amp[n, _W["T"]] = _u(rng, cfg.t_amplitude_mv_range)
    direction[n, _W["T"]] = t_dir
    if rng.random() < cfg.p_st_deviation:
        amp[n, _W["ST"]] = _u(rng, cfg.st_amplitude_mv_range)
        direction[n, _W["ST"]] = _random_unit(rng)
    if rng.random() < cfg.p_u_wave:
        amp[n, _W["U"]] = _u(rng, cfg.u_amplitude_mv_range)
        direction[n, _W["U"]] = t_dir
        sigma_l[n, _W["U"]] = sigma_r[n, _W["U"]] = rng.uniform(0.025, 0.04)
    # P wave: right-atrial (inferior-anterior) then left-atrial (leftward-posterior) component.
    a_p = 0.0 if afib else _u(rng, cfg.p_amplitude_mv_range)
    p_rot = rng.uniform(-25.0, 20.0)
    p_d = _u(rng, cfg.p_duration_s_range)
    amp[n, _W["P_ra"]] = a_p * rng.uniform(0.7, 1.0)
    amp[n, _W["P_la"]] = a_p * rng.uniform(0.6, 1.0)
    direction[n, _W["P_ra"]] = _rot_z(_unit(np.array([0.2, 1.0, rng.uniform(0.2, 0.7)])), p_rot)
    direction[n, _W["P_la"]] = _rot_z(_unit(np.array([1.0, 0.4, -rng.uniform(0.2, 0.7)])), p_rot)
    offset[n, _P_SLOTS] = [-0.15 * p_d, 0.15 * p_d]
    sigma_l[n, _P_SLOTS] = sigma_r[n, _P_SLOTS] = 0.17 * p_d
    sigma_l[n, _W["ST"]] = sigma_r[n, _W["ST"]] = 0.04
    width_scale = 1.0
    if cfg.qrs_width_scale_range is not None:
        width_scale = _u(rng, cfg.qrs_width_scale_range)
        sigma_l[n, _QRS_SLOTS] *= width_scale
        sigma_r[n, _QRS_SLOTS] *= width_scale

    # Premature atrial beat: same QRS-T, P from an ectopic focus.
    a = BEAT_TYPES.index("A")
    for arr in (amp, direction, sigma_l, sigma_r, offset):
        arr[a] = arr[n]
    direction[a, _P_SLOTS] = _rot_z(direction[n, _P_SLOTS], rng.uniform(-140.0, 140.0))

    # Premature ventricular beat: wide, bizarre QRS, no P, discordant T.
    v = BEAT_TYPES.index("V")
    d_v = _u(rng, cfg.pvc_qrs_duration_s_range)
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
        amp *= _u(rng, cfg.low_voltage_scale_range)
    qrs_duration = np.array([d, d_v, d])
    info = {
        "qrs_axis_deg": float(axis),
        "qrs_duration_s": float(d),
        "qrs_width_scale": float(width_scale),
        "conduction": conduction,
        "p_duration_s": float(p_d),
    }
    return _Templates(amp, direction, sigma_l, sigma_r, offset, qrs_duration, info)


def _beat_times(
    rng: np.random.Generator, cfg: SyntheticECGConfig, duration_s: float, hr_bpm: float, afib: bool
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Beat (QRS-centre) times in seconds covering ``[-1, duration + 0.6]`` and their beat-type indices."""
    rr_mean = 60.0 / hr_bpm
    t_start, t_stop = -1.0, duration_s + 0.6
    n = math.ceil((t_stop - t_start) / (0.5 * rr_mean)) + 3
    resp_hz = _u(rng, cfg.resp_rate_hz_range)
    resp_phase = rng.uniform(0.0, 2.0 * math.pi)
    info: dict[str, Any] = {"resp_rate_hz": resp_hz}
    if afib:
        cv = _u(rng, cfg.afib_rr_cv_range)
        sigma = math.sqrt(math.log1p(cv * cv))
        rr = rr_mean * rng.lognormal(-0.5 * sigma * sigma, sigma, n)
        rr = np.maximum(rr, 0.25)
        info["rr_cv"] = cv
    else:
        rsa = _u(rng, cfg.rsa_range)
        jitter = _u(rng, cfg.rr_jitter_range)
        nominal = np.arange(n) * rr_mean
        rr = rr_mean * (1.0 + rsa * np.sin(2.0 * math.pi * resp_hz * nominal + resp_phase))
        rr *= 1.0 + jitter * rng.standard_normal(n)
        rr = np.maximum(rr, 0.5 * rr_mean)
        info.update(rsa=rsa, rr_jitter=jitter)
    t = t_start - rng.uniform(0.0, rr_mean) + np.concatenate([[0.0], np.cumsum(rr[:-1])])

    types = np.zeros(n, dtype=np.int64)
    pvc_rate = _u(rng, cfg.pvc_rate_range) if rng.random() < cfg.p_pvc else 0.0
    pac_rate = 0.0 if afib else (_u(rng, cfg.pac_rate_range) if rng.random() < cfg.p_pac else 0.0)
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


def _bumps_to_vector(
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


@lru_cache(maxsize=32)
def _emg_sos(fs_hz: float, lo_hz: float, hi_hz: float) -> np.ndarray:
    hi = min(hi_hz, 0.45 * fs_hz)
    lo = min(lo_hz, 0.5 * hi)
    return sps.butter(2, [lo, hi], btype="bandpass", fs=fs_hz, output="sos")


def _electrode_noise(
    rng: np.random.Generator, cfg: SyntheticECGConfig, t: np.ndarray, fs_hz: float
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Noise potentials (T, 9) on electrodes RA, LA, LL, V1..V6, or None when the record is clean."""
    n = t.shape[0]
    noise = np.zeros((n, _N_ELECTRODES))
    info: dict[str, Any] = {"baseline_wander_mv": 0.0, "mains_mv": 0.0, "mains_hz": 0.0, "emg_mv": 0.0}
    used = False
    if rng.random() < cfg.p_baseline_wander:
        level = _u(rng, cfg.baseline_wander_mv_range)
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
        level = _u(rng, cfg.mains_mv_range)
        f = float(cfg.mains_hz_choices[int(rng.integers(len(cfg.mains_hz_choices)))])
        if f < 0.5 * fs_hz:
            amps = level * rng.uniform(0.3, 1.0, _N_ELECTRODES)
            phases = rng.uniform(0.0, 2.0 * math.pi, _N_ELECTRODES)
            s, c = np.sin(2.0 * math.pi * f * t), np.cos(2.0 * math.pi * f * t)
            noise += s[:, None] * (amps * np.cos(phases)) + c[:, None] * (amps * np.sin(phases))
            info.update(mains_mv=level, mains_hz=f)
            used = True
    if rng.random() < cfg.p_emg:
        level = _u(rng, cfg.emg_mv_range)
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


def _lead_matrix(rng: np.random.Generator, cfg: SyntheticECGConfig) -> np.ndarray:
    """(3, 8) projection of the heart vector on I, II and V1..V6."""
    m = np.zeros((3, 8))
    limb_gain = _u(rng, cfg.limb_gain_range)
    m[:, 0] = limb_gain * np.array([1.0, 0.0, 0.0])
    m[:, 1] = limb_gain * np.array([0.5, math.sqrt(3.0) / 2.0, 0.0])
    ang = np.radians(_PRECORDIAL_ANGLE_DEG + rng.uniform(-1.0, 1.0, 6) * cfg.precordial_angle_jitter_deg)
    dirs = np.stack([np.cos(ang), _PRECORDIAL_INFERIOR, np.sin(ang)], axis=0)
    gain = _PRECORDIAL_GAIN * _u(rng, cfg.precordial_gain_range) * rng.uniform(0.9, 1.1, 6)
    m[:, 2:] = dirs * gain[None, :]
    return m


def _afib_waves(rng: np.random.Generator, cfg: SyntheticECGConfig, t: np.ndarray) -> np.ndarray:
    """Fibrillatory atrial activity as a wandering 3-D dipole, (T, 3)."""
    f0 = _u(rng, cfg.afib_wave_hz_range)
    level = _u(rng, cfg.afib_wave_mv_range)
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
        hr_target = _u(rng, (lo, hi)) if lo <= hi else _u(rng, cfg.hr_bpm_range)
    else:
        hr_target = _u(rng, cfg.hr_bpm_range)
    tmpl = _draw_templates(rng, cfg, afib)
    beat_t, beat_type, rhythm_info = _beat_times(rng, cfg, duration_s, hr_target, afib)
    n_beats = beat_t.shape[0]

    # Per-beat parameters (B, W).
    amp = tmpl.amp[beat_type] * (1.0 + cfg.beat_amplitude_jitter * rng.standard_normal((n_beats, len(WAVES))))
    direction = tmpl.direction[beat_type]
    sigma_l = tmpl.sigma_l[beat_type].copy()
    sigma_r = tmpl.sigma_r[beat_type].copy()
    offset = tmpl.offset[beat_type].copy()
    resp_phase = 2.0 * math.pi * rhythm_info["resp_rate_hz"] * beat_t + rng.uniform(0.0, 2.0 * math.pi)
    resp_mod = np.sin(resp_phase)
    amp[:, _QRS_SLOTS] *= 1.0 + _u(rng, cfg.resp_amplitude_modulation_range) * resp_mod[:, None]
    rot = np.radians(_u(rng, cfg.resp_rotation_deg_range) * resp_mod)[:, None]
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
    pr = _u(rng, cfg.pr_interval_s_range) * np.clip((rr_prev / 0.8) ** 0.15, 0.85, 1.1)
    p_d = tmpl.info["p_duration_s"]
    offset[:, _P_SLOTS] += (qrs_on - pr + 0.5 * p_d)[:, None]
    qtc = _u(rng, cfg.qtc_s_range)
    qt = qtc * np.sqrt(np.clip(rr_prev, 0.25, 2.0)) + np.where(beat_type == BEAT_TYPES.index("V"), 0.04, 0.0)
    t_sl = qt * rng.uniform(0.13, 0.17)
    t_sr = qt * rng.uniform(0.08, 0.11)
    sigma_l[:, _W["T"]], sigma_r[:, _W["T"]] = t_sl, t_sr
    t_peak = qrs_on + qt - 2.5 * t_sr
    offset[:, _W["T"]] = t_peak
    offset[:, _W["ST"]] = 0.5 * (0.5 * d + t_peak - 1.5 * t_sl)
    offset[:, _W["U"]] = t_peak + 2.5 * t_sr + rng.uniform(0.06, 0.1)

    centers = (beat_t[:, None] + offset).ravel()
    amp_vec = (amp[..., None] * direction).reshape(-1, 3)
    t = np.arange(n_samples) / fs_hz
    heart = _bumps_to_vector(n_samples, fs_hz, centers, sigma_l.ravel(), sigma_r.ravel(), amp_vec)
    if afib:
        heart += _afib_waves(rng, cfg, t)

    leads8 = heart @ _lead_matrix(rng, cfg)  # I, II, V1..V6
    noise, noise_info = _electrode_noise(rng, cfg, t, fs_hz)
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


def config_from_kwargs(config: SyntheticECGConfig | None = None, **overrides: Any) -> SyntheticECGConfig:
    """``config`` (or the defaults) with some fields replaced; unknown names raise ValueError listing valid ones."""
    base = config if config is not None else SyntheticECGConfig()
    valid = {f.name for f in dataclasses.fields(SyntheticECGConfig) if f.init}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(f"unknown SyntheticECGConfig field(s) {unknown}; valid: {sorted(valid)}")
    clean = {
        k: (tuple(v) if isinstance(v, Sequence) and not isinstance(v, str) else v)
        for k, v in overrides.items()
    }
    return dataclasses.replace(base, **clean)
