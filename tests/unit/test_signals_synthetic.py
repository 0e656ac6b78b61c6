"""Tests of the synthetic 12-lead generator and the synthetic signal source."""

from __future__ import annotations

import time
from dataclasses import replace

import neurokit2 as nk
import numpy as np
import pytest

from ecgdl.constants import KAGGLE_FS_HZ, LEAD_INDEX, LEADS
from ecgdl.signals import SignalSource, SyntheticECGConfig, SyntheticSource, build_source, generate_ecg

NOISY = SyntheticECGConfig(p_baseline_wander=1.0, p_mains=1.0, p_emg=1.0, p_afib=0.3, p_pvc=0.5, p_pac=0.5)
CLEAN = SyntheticECGConfig().noise_free()


def _lead(sig: np.ndarray, name: str) -> np.ndarray:
    return sig[:, LEAD_INDEX[name]]


def _clean_sinus(hr_bpm: float) -> SyntheticECGConfig:
    return SyntheticECGConfig(
        hr_bpm_range=(hr_bpm, hr_bpm),
        qrs_axis_deg_range=(30.0, 75.0),
        p_axis_outlier=0.0,
        p_wide_qrs=0.0,
        p_low_voltage=0.0,
        p_t_inverted=0.0,
    ).noise_free()


@pytest.mark.parametrize("fs_hz", KAGGLE_FS_HZ)
def test_einthoven_and_goldberger_exact_with_noise(fs_hz: int) -> None:
    for seed in range(8):
        rec = generate_ecg(np.random.default_rng(seed), fs_hz, config=NOISY)
        s = rec.signal_mv
        i, ii = _lead(s, "I"), _lead(s, "II")
        np.testing.assert_allclose(_lead(s, "III"), ii - i, rtol=0, atol=1e-9)
        np.testing.assert_allclose(_lead(s, "aVR"), -(i + ii) / 2, rtol=0, atol=1e-9)
        np.testing.assert_allclose(_lead(s, "aVL"), i - ii / 2, rtol=0, atol=1e-9)
        np.testing.assert_allclose(_lead(s, "aVF"), ii - i / 2, rtol=0, atol=1e-9)
        np.testing.assert_allclose(_lead(s, "I") + _lead(s, "III"), ii, rtol=0, atol=1e-9)
        np.testing.assert_allclose(s[:, 3:6].sum(axis=1), 0.0, rtol=0, atol=1e-9)
        assert np.all(np.isfinite(s))
        assert rec.meta["baseline_wander_mv"] > 0 and rec.meta["emg_mv"] > 0


@pytest.mark.parametrize("hr_bpm", [40.0, 75.0, 170.0])
def test_heart_rate_matches_neurokit(hr_bpm: float) -> None:
    for seed in range(3):
        rec = generate_ecg(np.random.default_rng(seed), 500, config=_clean_sinus(hr_bpm).sinus_only())
        assert rec.meta["rhythm"] == "sinus"
        assert rec.meta["hr_bpm"] == pytest.approx(hr_bpm, rel=0.08)
        _, info = nk.ecg_peaks(rec.lead("II"), sampling_rate=500)
        peaks = np.asarray(info["ECG_R_Peaks"])
        measured = 60.0 * 500 / np.median(np.diff(peaks))
        assert measured == pytest.approx(rec.meta["hr_bpm"], rel=0.1), (seed, measured)
        # The detected peaks are the generated beats.
        beats = np.asarray(rec.meta["beat_times_s"]) * 500
        assert abs(len(peaks) - len(beats)) <= 1


def test_same_seed_same_record_different_seed_different() -> None:
    a = generate_ecg(np.random.default_rng(7), 500, config=NOISY)
    b = generate_ecg(np.random.default_rng(7), 500, config=NOISY)
    c = generate_ecg(np.random.default_rng(8), 500, config=NOISY)
    assert np.array_equal(a.signal_mv, b.signal_mv)
    assert a.meta == b.meta
    assert not np.allclose(a.signal_mv, c.signal_mv)


def test_shapes_any_rate_and_duration() -> None:
    rng = np.random.default_rng(0)
    rec = generate_ecg(rng, 1025, 10.0, record_id="x1")
    assert rec.signal_mv.shape == (10250, len(LEADS))
    assert rec.signal_mv.dtype == np.float64
    assert rec.fs_hz == 1025.0 and rec.record_id == "x1"
    assert generate_ecg(rng, 1025, 2.5).n_samples == round(2.5 * 1025)
    assert generate_ecg(rng, 256, 3.3).n_samples == round(3.3 * 256)
    beats = np.asarray(rec.meta["beat_times_s"])
    assert np.all((beats >= 0) & (beats < 10.0)) and np.all(np.diff(beats) > 0)
    assert len(rec.meta["beat_types"]) == len(beats)


def test_morphology_independent_of_sampling_rate() -> None:
    cfg = CLEAN.sinus_only()
    lo = generate_ecg(np.random.default_rng(3), 250, config=cfg)
    hi = generate_ecg(np.random.default_rng(3), 1000, config=cfg)
    np.testing.assert_allclose(hi.signal_mv[::4], lo.signal_mv, rtol=0, atol=1e-6)


def test_qrs_amplitude_range() -> None:
    pp_max, pp_limb = [], []
    for seed in range(120):
        s = generate_ecg(np.random.default_rng(seed), 250, config=CLEAN).signal_mv
        pp = s.max(axis=0) - s.min(axis=0)
        pp_max.append(pp.max())
        pp_limb.append(pp[:6].max())
    pp_max, pp_limb = np.array(pp_max), np.array(pp_limb)
    assert np.sum(pp_max > 2.0) >= 10  # tall QRS in some leads of some records
    assert np.sum(pp_max > 3.0) >= 2
    assert np.sum(pp_limb < 0.5) >= 2  # low-voltage records
    assert pp_max.max() < 8.0
    assert 0.5 < np.median(pp_limb) < 2.0


def test_precordial_progression() -> None:
    r_amp = []
    s_amp = []
    for seed in range(60):
        s = generate_ecg(np.random.default_rng(seed), 250, config=CLEAN.sinus_only()).signal_mv[:, 6:]
        base = np.median(s, axis=0)
        r_amp.append(s.max(axis=0) - base)
        s_amp.append(base - s.min(axis=0))
    r_mean, s_mean = np.mean(r_amp, axis=0), np.mean(s_amp, axis=0)
    assert r_mean[0] < r_mean[2] < r_mean[4]  # R grows V1 -> V3 -> V5
    assert s_mean[0] > s_mean[5] and s_mean[1] > s_mean[4]  # S shrinks towards V6
    assert r_mean[0] < s_mean[0] and r_mean[5] > s_mean[5]  # rS in V1, Rs in V6


def _qrs_width_s(sig: np.ndarray, fs: float, t_beat: float) -> float:
    """Full width at half maximum of the spatial QRS magnitude within 0.1 s of a beat."""
    c = round(t_beat * fs)
    half = round(0.1 * fs)
    if c - half < 0 or c + half >= sig.shape[0]:
        return np.nan
    seg = sig[c - half : c + half + 1]
    mag = np.sqrt(np.sum((seg - np.median(sig, axis=0)) ** 2, axis=1))
    return np.count_nonzero(mag > 0.5 * mag.max()) / fs


def test_pvc_is_wide_early_with_compensatory_pause() -> None:
    cfg = SyntheticECGConfig(
        p_pvc=1.0, pvc_rate_range=(0.25, 0.25), p_pac=0.0, p_afib=0.0, p_wide_qrs=0.0
    ).noise_free()
    widths = {"N": [], "V": []}
    n_pvc = 0
    for seed in range(10):
        rec = generate_ecg(np.random.default_rng(seed), 500, config=cfg)
        times, types = np.asarray(rec.meta["beat_times_s"]), rec.meta["beat_types"]
        for k, (t, b) in enumerate(zip(times, types, strict=True)):
            widths[b].append(_qrs_width_s(rec.signal_mv, 500, t))
            if b == "V" and 0 < k < len(times) - 1 and types[k - 1] == types[k + 1] == "N":
                n_pvc += 1
                before, after = t - times[k - 1], times[k + 1] - t
                assert before < after  # premature, then a pause
                # Compensatory: the PVC leaves the sinus rhythm alone.
                rr = 60.0 / rec.meta["hr_target_bpm"]
                assert times[k + 1] - times[k - 1] == pytest.approx(2 * rr, rel=0.25)
    assert n_pvc >= 5
    assert np.nanmean(widths["V"]) > 1.6 * np.nanmean(widths["N"])


def test_pac_resets_sinus_node() -> None:
    cfg = SyntheticECGConfig(p_pac=1.0, pac_rate_range=(0.25, 0.25), p_pvc=0.0, p_afib=0.0).noise_free()
    seen = 0
    for seed in range(10):
        rec = generate_ecg(np.random.default_rng(seed), 500, config=cfg)
        times, types = np.asarray(rec.meta["beat_times_s"]), rec.meta["beat_types"]
        for k in range(1, len(types) - 1):
            if types[k] == "A" and types[k - 1] == types[k + 1] == "N":
                seen += 1
                assert times[k] - times[k - 1] < times[k + 1] - times[k]
                assert times[k + 1] - times[k - 1] < 2 * 60.0 / rec.meta["hr_target_bpm"]
    assert seen >= 5


def test_atrial_fibrillation_is_irregular() -> None:
    def rr_cv(cfg: SyntheticECGConfig, seed: int) -> float:
        rr = np.diff(generate_ecg(np.random.default_rng(seed), 250, config=cfg).meta["beat_times_s"])
        return float(np.std(rr) / np.mean(rr))

    af = SyntheticECGConfig(p_afib=1.0, p_pvc=0.0).noise_free()
    sinus = CLEAN.sinus_only()
    assert generate_ecg(np.random.default_rng(0), 250, config=af).meta["rhythm"] == "afib"
    cv_af = np.mean([rr_cv(af, s) for s in range(10)])
    cv_sinus = np.mean([rr_cv(sinus, s) for s in range(10)])
    assert cv_af > 0.1 > cv_sinus


def test_narrower_qrs_waves_are_steeper_and_keep_the_record_otherwise() -> None:
    # the same draws with the QRS waves at half width: the steepest stroke 1.3-2x as steep (the waves overlap
    # less), the beats and Einthoven unchanged; no scale range draws nothing (records stay as they were)
    base = _clean_sinus(70.0).sinus_only()
    ratios = []
    for seed in range(4):
        recs = [
            generate_ecg(np.random.default_rng(seed), 500, config=replace(base, qrs_width_scale_range=(k, k)))
            for k in (1.0, 0.5)
        ]
        wide, narrow = (r.signal_mv for r in recs)
        assert recs[1].meta["qrs_width_scale"] == 0.5
        assert recs[0].meta["beat_times_s"] == recs[1].meta["beat_times_s"]
        np.testing.assert_allclose(_lead(narrow, "I") + _lead(narrow, "III"), _lead(narrow, "II"), atol=1e-9)
        slope = [np.abs(np.diff(x, axis=0)).max(axis=0) for x in (wide, narrow)]
        big = np.abs(wide).max(axis=0) > 0.5  # leads with a clear QRS
        ratios.extend((slope[1] / slope[0])[big])
        untouched = generate_ecg(np.random.default_rng(seed), 500, config=base)
        assert untouched.meta["qrs_width_scale"] == 1.0
        np.testing.assert_array_equal(
            untouched.signal_mv,
            generate_ecg(
                np.random.default_rng(seed), 500, config=replace(base, qrs_width_scale_range=None)
            ).signal_mv,
        )
    assert 1.3 < np.median(ratios) < 2.1 and min(ratios) > 1.1
    with pytest.raises(ValueError, match="qrs_width_scale_range must be positive"):
        SyntheticECGConfig(qrs_width_scale_range=(0.0, 0.8))


def test_noise_free_records_have_flat_baseline_between_beats() -> None:
    cfg = _clean_sinus(40.0).sinus_only()
    rec = generate_ecg(np.random.default_rng(1), 500, config=cfg)
    # Just before each P wave the signal is back at 0 mV in a noise-free record.
    for t in rec.meta["beat_times_s"][1:]:
        i = round((t - 0.45) * 500)
        assert np.all(np.abs(rec.signal_mv[i]) < 0.02)


def test_generation_is_fast() -> None:
    rng = np.random.default_rng(0)
    generate_ecg(rng, 500)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        generate_ecg(rng, 500)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.02 * 3  # target < 20 ms; slack for a loaded test machine


def test_bad_arguments_raise() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="fs_hz must be a positive"):
        generate_ecg(rng, 0)
    with pytest.raises(ValueError, match="duration_s must be a positive"):
        generate_ecg(rng, 500, -1.0)
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        generate_ecg(0, 500)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hr_bpm_range"):
        SyntheticECGConfig(hr_bpm_range=(120.0, 60.0))
    with pytest.raises(ValueError, match=r"p_pvc must be a probability"):
        SyntheticECGConfig(p_pvc=1.5)


def test_config_accepts_lists_for_ranges() -> None:
    cfg = SyntheticECGConfig(hr_bpm_range=[60, 70])  # type: ignore[arg-type]
    assert cfg.hr_bpm_range == (60.0, 70.0)


def test_synthetic_source() -> None:
    src = SyntheticSource(num_records=5, fs_hz=[250, 1025], duration_s=4.0, p_afib=0.0, hr_bpm_range=[60, 60])
    assert isinstance(src, SignalSource)
    assert len(src) == 5
    a = src.get(2, np.random.default_rng(11))
    b = src.get(2, np.random.default_rng(11))
    assert np.array_equal(a.signal_mv, b.signal_mv) and a.record_id == "synthetic-2"
    assert a.fs_hz in (250.0, 1025.0) and a.n_samples == round(4.0 * a.fs_hz)
    assert a.meta["hr_target_bpm"] == 60.0
    rates = {src.get(0, np.random.default_rng(s)).fs_hz for s in range(12)}
    assert rates == {250.0, 1025.0}
    with pytest.raises(IndexError, match="out of range"):
        src.get(5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown SyntheticECGConfig field"):
        SyntheticSource(num_records=2, not_a_field=1)


def test_build_source_registry() -> None:
    src = build_source("synthetic", num_records=3, fs_hz=500, config=None)
    assert len(src) == 3
    with pytest.raises(KeyError, match=r"valid:.*kaggle.*ptbxl.*synthetic"):
        build_source("nope")
