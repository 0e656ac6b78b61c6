"""Waveform metrics (RMSE, Pearson, DTW, R peaks) and the truth-free Einthoven/Goldberger check."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecgdl.constants import LEADS
from ecgdl.metrics.einthoven import COLUMNS_3X4_S, einthoven_consistency_db
from ecgdl.metrics.signal import dtw_distance, pearson_r, rmse_mv, rpeak_metrics


def _beats(fs: float, n: int, shift_s: float = 0.0) -> np.ndarray:
    """ECG-like lead: narrow Gaussian R spikes (sigma 8 ms) with a small S dip and a T wave, irregular RR."""
    t = np.arange(n) / fs
    x = np.zeros(n)
    r = 0.6
    while r < n / fs - 0.6:
        c = r + shift_s
        x += 1.2 * np.exp(-0.5 * ((t - c) / 0.008) ** 2)
        x -= 0.2 * np.exp(-0.5 * ((t - c - 0.03) / 0.01) ** 2)
        x += 0.25 * np.exp(-0.5 * ((t - c - 0.28) / 0.04) ** 2)
        r += 0.75 + 0.1 * math.sin(3 * r)
    return x


def _limb_record(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 12) record whose limb leads obey Einthoven and Goldberger exactly."""
    lead_i = np.convolve(rng.normal(0, 0.3, n), np.ones(15) / 15, mode="same")
    lead_ii = np.convolve(rng.normal(0, 0.3, n), np.ones(15) / 15, mode="same")
    x = rng.normal(0, 0.1, (n, 12))
    x[:, LEADS.index("I")] = lead_i
    x[:, LEADS.index("II")] = lead_ii
    x[:, LEADS.index("III")] = lead_ii - lead_i
    x[:, LEADS.index("aVR")] = -(lead_i + lead_ii) / 2
    x[:, LEADS.index("aVL")] = lead_i - lead_ii / 2
    x[:, LEADS.index("aVF")] = lead_ii - lead_i / 2
    return x


# --------------------------------------------------------------------------------------------- RMSE / Pearson


def test_rmse_hand_computed() -> None:
    # Errors [0, 0, 2] over 3 defined samples -> sqrt(4 / 3); the NaN-truth row is ignored.
    truth = np.array([0.0, 1.0, 2.0, np.nan])
    pred = np.array([0.0, 1.0, 4.0, 99.0])
    assert rmse_mv(truth, pred) == pytest.approx(math.sqrt(4 / 3))
    two = np.stack([truth, truth], axis=1)
    np.testing.assert_allclose(
        rmse_mv(two, np.stack([pred, pred], axis=1), per_lead=True), [math.sqrt(4 / 3)] * 2
    )
    with pytest.raises(ValueError, match="NaN/inf"):
        rmse_mv(truth, np.array([0.0, np.nan, 1.0, 0.0]))


def test_pearson_with_alignment(rng: np.random.Generator) -> None:
    x = rng.normal(size=600)
    truth, pred = x[20:520], x[:500] + 5.0  # prediction 20 samples late, offset 5
    assert pearson_r(truth, pred) < 0.3
    assert pearson_r(truth, pred, fs_hz=500, align=True) > 0.95
    assert rmse_mv(truth, pred, fs_hz=500, align=True) < rmse_mv(truth, pred)
    with pytest.raises(ValueError, match="fs_hz"):
        pearson_r(truth, pred, align=True)
    assert np.isnan(pearson_r(np.ones(5), np.arange(5.0)))


# --------------------------------------------------------------------------------------------- DTW


def test_dtw_shifted_copy_closer_than_noise(rng: np.random.Generator) -> None:
    x = _beats(250, 1000)
    shifted = np.roll(x, 5)
    noise = rng.normal(0, x.std(), x.size)
    d_shift = dtw_distance(x, shifted, window=25)
    assert d_shift < dtw_distance(x, noise, window=25)
    assert dtw_distance(x, x) == pytest.approx(0.0)
    assert dtw_distance(x[:200], shifted[:200], window=10, use_c=False) == pytest.approx(
        dtw_distance(x[:200], shifted[:200], window=10, use_c=True)
    )
    with pytest.raises(ValueError, match="finite"):
        dtw_distance(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


# --------------------------------------------------------------------------------------------- R peaks


def test_rpeaks_small_shift_matches() -> None:
    fs, n = 500, 5000
    res = rpeak_metrics(_beats(fs, n), _beats(fs, n, shift_s=0.020), fs)
    assert res.n_truth_peaks >= 10
    assert res.f1 == pytest.approx(1.0)
    assert res.timing_error_ms == pytest.approx(20.0, abs=2.0)
    assert res.hr_error_bpm < 1.0


def test_rpeaks_large_shift_no_match() -> None:
    fs, n = 500, 5000
    res = rpeak_metrics(_beats(fs, n), _beats(fs, n, shift_s=0.080), fs)
    assert res.f1 == 0.0
    assert np.isnan(res.timing_error_ms)


def test_rpeaks_robust_without_peaks() -> None:
    fs, n = 500, 5000
    flat = rpeak_metrics(_beats(fs, n), np.zeros(n), fs)
    assert flat.n_pred_peaks == 0 and flat.f1 == 0.0 and np.isnan(flat.hr_error_bpm)
    tiny = rpeak_metrics(np.zeros(50), np.zeros(50), fs)
    assert np.isnan(tiny.f1) and tiny.n_truth_peaks == 0
    record = np.zeros((n, 12))
    record[:, LEADS.index("II")] = _beats(fs, n)
    assert rpeak_metrics(record, record, fs, lead="II").f1 == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------- Einthoven


def test_einthoven_consistent_full_record(rng: np.random.Generator) -> None:
    x = _limb_record(rng, 2000)
    res = einthoven_consistency_db(x, 500)
    assert res.einthoven_db > 50 and res.goldberger_db > 50 and res.combined_db > 50
    assert res.n_einthoven_samples == res.n_goldberger_samples == 2000
    # A per-lead baseline offset is forgiven by default, not with remove_offset=False.
    x[:, LEADS.index("III")] += 0.5
    assert einthoven_consistency_db(x, 500).einthoven_db > 50
    assert einthoven_consistency_db(x, 500, remove_offset=False).einthoven_db < 10


def test_einthoven_corrupted_is_low(rng: np.random.Generator) -> None:
    x = _limb_record(rng, 2000)
    x[:, LEADS.index("III")] *= -1  # sign flip: I + III != II
    x[:, LEADS.index("aVL")] = rng.normal(0, 0.3, 2000)
    res = einthoven_consistency_db(x, 500)
    assert res.einthoven_db < 5 and res.goldberger_db < 5


def test_einthoven_3x4_page_layout(rng: np.random.Generator) -> None:
    """I/II/III only at 0-2.5 s, aVR/aVL/aVF only at 2.5-5 s: each relation uses its own column."""
    fs, n = 100, 1000
    x = _limb_record(rng, n)
    page = np.full_like(x, np.nan)
    page[:, LEADS.index("II")] = x[:, LEADS.index("II")]
    for lead in ("I", "III"):
        page[:250, LEADS.index(lead)] = x[:250, LEADS.index(lead)]
    for lead in ("aVR", "aVL", "aVF"):
        page[250:500, LEADS.index(lead)] = x[250:500, LEADS.index(lead)]
    res = einthoven_consistency_db(page, fs)
    assert res.n_einthoven_samples == 250 and res.n_goldberger_samples == 250
    assert res.combined_db > 50
    windowed = einthoven_consistency_db(page, fs, COLUMNS_3X4_S)
    assert windowed.n_einthoven_samples == 250 and windowed.combined_db > 50
    empty = einthoven_consistency_db(np.full((10, 12), np.nan), fs)
    assert np.isnan(empty.combined_db)
    with pytest.raises(ValueError, match="shape"):
        einthoven_consistency_db(np.zeros((10, 6)), fs)
