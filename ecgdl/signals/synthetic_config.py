"""Configuration of the synthetic ECG generator: the ``SyntheticECGConfig`` ranges and probabilities, their
validation, keyword overrides (:func:`config_from_kwargs`) and the uniform draws from a ``(low, high)`` range.

Used by :mod:`ecgdl.signals.synthetic` (the record generator) and its helper modules
:mod:`ecgdl.signals.synthetic_vcg` (beat morphology) and :mod:`ecgdl.signals.synthetic_rhythm` (rhythm and
noise).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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


def uniform_in(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def loguniform_in(rng: np.random.Generator, r: Range) -> float:
    if r[0] <= 0.0 or r[1] <= r[0]:
        return uniform_in(rng, r)
    return float(np.exp(rng.uniform(np.log(r[0]), np.log(r[1]))))


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
