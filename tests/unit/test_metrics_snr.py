"""Kaggle SNR metric: hand-computed toy cases, lag search, pooling, capping, errors, torchmetrics wrapper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecgdl.constants import LEADS, SNR_CAP_LINEAR
from ecgdl.metrics.snr import (
    align_prediction,
    find_lags,
    max_lag_samples,
    snr_challenge2024,
    snr_kaggle,
)
from ecgdl.signals.record import EcgRecord

CAP_DB = 10 * math.log10(SNR_CAP_LINEAR)  # 60 dB
I, II, III = LEADS.index("I"), LEADS.index("II"), LEADS.index("III")  # noqa: E741


def _image(n: int, **leads: list[float]) -> np.ndarray:
    """(n, 12) array, NaN everywhere except the given leads (filled from row 0)."""
    x = np.full((n, 12), np.nan)
    for name, values in leads.items():
        x[: len(values), LEADS.index(name)] = values
    return x


def _smooth(rng: np.random.Generator, n: int) -> np.ndarray:
    """Non-periodic smooth signal (filtered random walk) in mV."""
    x = np.cumsum(rng.normal(0.0, 0.05, n))
    return np.convolve(x, np.ones(9) / 9, mode="same")


def _sharp(rng: np.random.Generator, n: int) -> np.ndarray:
    """Non-periodic signal with a sharp autocorrelation (white noise plus irregular spikes), so the
    un-normalised cross-correlation peaks exactly at the true lag (a smooth random walk would favour the
    neighbouring lag with one more overlapping sample)."""
    x = rng.normal(0.0, 0.2, n)
    x[rng.choice(n, size=max(1, n // 200), replace=False)] += 2.0
    return x


def _brute_force_lag(t: np.ndarray, p: np.ndarray, max_lag: int) -> int:
    """Direct definition: argmax_m sum_j tc[j] pc[j - m]; ties -> smallest |m|, then negative m."""
    n = len(t)
    tc, pc = t - t.mean(), p - p.mean()
    max_lag = min(max_lag, n - 1)
    best, best_val = 0, -np.inf
    for m in sorted(range(-max_lag, max_lag + 1), key=lambda k: (abs(k), k > 0)):
        lo, hi = max(0, m), min(n, n + m)
        val = float(np.dot(tc[lo:hi], pc[lo - m : hi - m]))
        if val > best_val + 1e-9 * np.sqrt(np.dot(tc, tc) * np.dot(pc, pc)):
            best, best_val = m, val
    return best


# --------------------------------------------------------------------------------------------- basics


def test_max_lag_rounding() -> None:
    # int(fs * 0.2): truncation of the float product.
    assert max_lag_samples(1025) == 205
    assert max_lag_samples(256) == 51
    assert max_lag_samples(512) == 102
    assert max_lag_samples(500) == 100
    assert max_lag_samples(10) == 2
    with pytest.raises(ValueError, match="fs_hz"):
        max_lag_samples(0)


def test_perfect_prediction_is_capped(rng: np.random.Generator) -> None:
    truth = np.stack([_smooth(rng, 1000) for _ in range(12)], axis=1)
    res = snr_kaggle(truth, truth.copy(), 500)
    assert res.image_ratio[0] == SNR_CAP_LINEAR
    assert res.snr_db == pytest.approx(CAP_DB)


def test_constant_offset_is_forgiven(rng: np.random.Generator) -> None:
    truth = np.stack([_smooth(rng, 1000) for _ in range(12)], axis=1)
    res = snr_kaggle(truth, truth + 3.7, 500)
    assert res.snr_db == pytest.approx(CAP_DB)
    np.testing.assert_allclose(res.lead_offset_mv[0], 3.7)
    assert (res.lead_lag == 0).all()


def test_two_lead_toy_hand_computed() -> None:
    """fs = 10 Hz -> L = int(10 * 0.2) = 2 samples. Only leads I and II have truth.

    Lead I: t = [2, 1, 3, 1, 0, 1], p = [2, 4, 2, 1, 2, 6] (= t advanced by one sample, +1 offset, last junk).
      6*tc = [4, -2, 10, -2, -8, -2], 6*(p - mean p) = [-5, 7, -5, -11, -5, 19]; 36*c[m] for m = -2..2:
      -86, -214, -60, 188, -2  ->  lag m = +1 (prediction moved one sample later): aligned[j] = p[j - 1].
      Overlap rows 1..5: aligned - t = [1, 1, 1, 1, 1] -> offset 1 -> no error there.
      Row 0 is shifted out: prediction 0 (the offset is not applied to it) -> error (2 - 0)^2 = 4.
      S_I = 4 + 1 + 9 + 1 + 0 + 1 = 16, N_I = 4.
    Lead II: t = [1, -1, 2, 0], p = [1.5, -0.5, 2.5, 1.5] (p - t = [.5, .5, .5, 1.5]).
      tc = [.5, -1.5, 1.5, -.5], pc = [.25, -1.75, 1.25, .25]; c[m], m = -2..2: .25, -2.375, 4.5, -3.625, 1.25
      -> lag 0; offset = mean(p - t) = 0.75; residuals [-.25, -.25, -.25, .75] -> N_II = 0.75; S_II = 6.
    Image (pooled): S = 22, N = 4.75, ratio = 22 / 4.75 (not the mean of the lead ratios 4 and 8).
    """
    truth = _image(6, I=[2, 1, 3, 1, 0, 1], II=[1, -1, 2, 0])
    pred = np.zeros((6, 12))
    pred[:, I] = [2, 4, 2, 1, 2, 6]
    pred[:4, II] = [1.5, -0.5, 2.5, 1.5]
    pred[4:, II] = np.nan  # ignored: truth of II is NaN there
    res = snr_kaggle(truth, pred, 10)
    assert res.lead_lag[0, I] == 1
    assert res.lead_lag[0, II] == 0
    assert res.lead_offset_mv[0, I] == pytest.approx(1.0)
    assert res.lead_offset_mv[0, II] == pytest.approx(0.75)
    assert res.lead_signal[0, I] == pytest.approx(16.0)
    assert res.lead_noise[0, I] == pytest.approx(4.0)
    assert res.lead_signal[0, II] == pytest.approx(6.0)
    assert res.lead_noise[0, II] == pytest.approx(0.75)
    assert res.image_ratio[0] == pytest.approx(22 / 4.75)
    assert res.snr_db == pytest.approx(10 * math.log10(22 / 4.75))
    assert res.lead_n_samples[0, I] == 6 and res.lead_n_samples[0, II] == 4
    assert np.isnan(res.lead_db[0, III])  # absent lead


def test_pooled_over_leads_not_averaged() -> None:
    """fs = 1 Hz -> L = 0 (no lag search).
    Lead I: t = [1, -1, 1, -1], error [1, -1, 0, 0] (mean 0, so no offset) -> S = 4, N = 2 (ratio 2).
    Lead II: t = [2, 0, 2, 0], error [2, -2, 0, 0] -> S = 8, N = 8 (ratio 1).
    Pooled: (4 + 8) / (2 + 8) = 1.2, not the mean of the lead ratios (1.5)."""
    truth = _image(4, I=[1, -1, 1, -1], II=[2, 0, 2, 0])
    pred = np.nan_to_num(truth)
    pred[:, I] += [1, -1, 0, 0]
    pred[:, II] += [2, -2, 0, 0]
    res = snr_kaggle(truth, pred, 1)
    np.testing.assert_allclose(res.lead_signal[0, [I, II]], [4.0, 8.0])
    np.testing.assert_allclose(res.lead_noise[0, [I, II]], [2.0, 8.0])
    assert res.image_ratio[0] == pytest.approx(1.2)


def test_dataset_score_is_db_of_mean_linear_ratio() -> None:
    """Two images, fs = 1 Hz (L = 0). A: t = [1, -1, 1, -1], error [1, -1, 0, 0] -> 4 / 2 = 2.
    B: same truth, error [.5, -.5, 0, 0] -> 4 / 0.5 = 8. Score = 10 log10((2 + 8) / 2) = 6.9897 dB
    (the mean of the dBs would be 6.02 dB)."""
    truth = _image(4, I=[1, -1, 1, -1])
    pred_a = np.nan_to_num(truth)
    pred_a[:, I] += [1, -1, 0, 0]
    pred_b = np.nan_to_num(truth)
    pred_b[:, I] += [0.5, -0.5, 0, 0]
    res = snr_kaggle([truth, truth], [pred_a, pred_b], 1)
    np.testing.assert_allclose(res.image_ratio, [2.0, 8.0])
    assert res.snr_db == pytest.approx(10 * math.log10(5.0))
    np.testing.assert_allclose(res.image_db, 10 * np.log10([2.0, 8.0]))


def test_official_docstring_examples() -> None:
    """The three numbers of the public metric's docstring (fs = 1 Hz, older cap 384)."""
    values = [
        0.1,
        0.3,
        0.4,
        0.6,
        0.6,
        0.4,
        0.2,
        0.3,
        0.4,
        0.5,
        0.2,
        0.7,
        0.2,
        0.3,
        0.4,
        0.8,
        0.6,
        0.7,
        0.2,
        0.3,
    ]
    values += [-0.1, 0.5, 0.6, 0.7, 0.2, 0.9, 0.4, 0.5, 0.6, 0.7, 0.1, 0.3, 0.4]
    values += [0.6, 0.6, 0.4, 0.2, 0.3, 0.4, 0.5, 0.2, 0.7, 0.2, 0.3, 0.4]
    short = ["I", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

    def build(v: list[float]) -> np.ndarray:
        x = np.full((12, 12), np.nan)
        for k, lead in enumerate(short):
            x[:3, LEADS.index(lead)] = v[3 * k : 3 * k + 3]
        x[:, II] = v[33:45]
        return x

    truth = build(values)
    assert snr_kaggle(truth, truth, 1, cap=384).snr_db == pytest.approx(25.8433, abs=1e-4)
    noisy = list(values)
    noisy[0] = 0.9
    assert snr_kaggle(truth, build(noisy), 1, cap=384).snr_db == pytest.approx(13.6291, abs=1e-4)
    noisy[4] = 0.3
    assert snr_kaggle(truth, build(noisy), 1, cap=384).snr_db == pytest.approx(13.0576, abs=1e-4)


# --------------------------------------------------------------------------------------------- lags


@pytest.mark.parametrize("k", [37, -23, 100])
def test_known_lag_found_and_only_shifted_out_samples_count(rng: np.random.Generator, k: int) -> None:
    """fs = 500 -> L = 100. pred[j] = truth[j - k] + 0.4 (truth moved k samples later, plus offset).
    The metric moves it back (lag -k); the overlap is exact after removing the 0.4 offset; the |k| rows
    with no source become prediction 0, so N = sum of the truth over those rows squared."""
    n = 1500
    x = _sharp(rng, n + abs(k))
    truth = x[abs(k) :] if k > 0 else x[:n]
    pred_lead = (x[:n] if k > 0 else x[abs(k) :]) + 0.4
    t = np.full((n, 12), np.nan)
    p = np.zeros((n, 12))
    t[:, II], p[:, II] = truth, pred_lead
    res = snr_kaggle(t, p, 500)
    assert res.lead_lag[0, II] == -k
    shifted_out = truth[n - k :] if k > 0 else truth[:-k]
    expected_noise = float(np.sum(shifted_out**2))
    assert res.lead_noise[0, II] == pytest.approx(expected_noise, rel=1e-9)
    assert res.lead_offset_mv[0, II] == pytest.approx(0.4)
    assert res.image_ratio[0] == pytest.approx(min(np.sum(truth**2) / expected_noise, SNR_CAP_LINEAR))


def test_lag_beyond_window_not_found(rng: np.random.Generator) -> None:
    n, k = 1500, 150  # 0.3 s at 500 Hz > 0.2 s
    x = _sharp(rng, n + k)
    t = np.full((n, 12), np.nan)
    p = np.zeros((n, 12))
    t[:, II], p[:, II] = x[k:], x[:n]
    res = snr_kaggle(t, p, 500)
    assert abs(res.lead_lag[0, II]) <= 100
    assert res.lead_lag[0, II] != -k
    # Aligned it would be > 10 dB (150 of 1500 rows shifted out); unaligned it is about 0 dB.
    assert res.snr_db < 1


def test_1025_hz_window_edges(rng: np.random.Generator) -> None:
    fs, n = 1025, 10250
    for k, found in ((205, True), (206, False)):
        x = _sharp(rng, n + k)
        t = np.full((n, 12), np.nan)
        p = np.zeros((n, 12))
        t[:, II], p[:, II] = x[k:], x[:n]
        lag = snr_kaggle(t, p, fs).lead_lag[0, II]
        assert bool(lag == -k) is found
        assert abs(lag) <= 205


def test_fft_lag_search_equals_brute_force(rng: np.random.Generator) -> None:
    for _ in range(40):
        n = int(rng.integers(2, 60))
        max_lag = int(rng.integers(0, 25))
        t = rng.normal(size=n)
        p = np.roll(t, int(rng.integers(-5, 6))) + rng.normal(0, rng.uniform(0, 2), size=n)
        assert find_lags(t, p, max_lag) == _brute_force_lag(t, p, max_lag)
    t = rng.normal(size=(16, 300))
    p = rng.normal(size=(16, 300)) + np.roll(t, 7, axis=1)
    np.testing.assert_array_equal(
        find_lags(t, p, 40), [_brute_force_lag(a, b, 40) for a, b in zip(t, p, strict=True)]
    )


def test_ties_smallest_abs_lag_then_negative() -> None:
    t = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
    # c[-1] = c[+1] = 0.52 is the maximum -> the negative lag wins.
    assert find_lags(t, np.array([0.0, 1.0, 0.0, 1.0, 0.0]), 2) == -1
    # c[-2] = c[+2] = 0.64 -> -2.
    assert find_lags(t, np.array([1.0, 0.0, 0.0, 0.0, 1.0]), 2) == -2
    # A constant prediction correlates 0 at every lag -> lag 0.
    assert find_lags(t, np.full(5, 3.0), 2) == 0


def test_align_prediction_examples() -> None:
    # Public metric examples; shifted-out rows are 0 here (the official code has NaN, scored as 0).
    np.testing.assert_allclose(
        align_prediction(np.array([0, 0, 1, 2, 1, 0, 0.0]), np.array([1, 2, 1, 0, 0, 0, 0.0]), 10),
        [0, 0, 1, 2, 1, 0, 0],
    )
    np.testing.assert_allclose(
        align_prediction(np.array([0, 1, 2, 1, 0.0]), np.array([10, 11, 12, 11, 10.0]), 10), [0, 1, 2, 1, 0]
    )
    two = align_prediction(np.array([[1.0, np.nan], [2.0, 1.0]]), np.zeros((2, 2)), 1)
    assert np.isnan(two[0, 1])


# --------------------------------------------------------------------------------------------- outputs, errors


def test_per_lead_output_identifies_bad_lead(rng: np.random.Generator) -> None:
    truth = np.stack([_smooth(rng, 1000) for _ in range(12)], axis=1)
    pred = truth + rng.normal(0, 0.002, truth.shape)
    bad = LEADS.index("V4")
    pred[:, bad] = rng.normal(0, 1, 1000)
    res = snr_kaggle({"rec1": truth}, {"rec1": pred}, 500)
    assert int(np.nanargmin(res.lead_db[0])) == bad
    assert res.per_image().loc[0, "worst_lead"] == "V4"
    table = res.per_lead()
    assert len(table) == 12
    assert table.sort_values("snr_db").iloc[0]["lead"] == "V4"
    assert res.lead_db_dict("rec1")["V4"] < 0 < res.lead_db_dict(0)["I"]


def test_nan_in_prediction_rejected_with_image_and_lead() -> None:
    truth = _image(4, I=[1, 2, 3, 4], V3=[1, 0, 1, 0])
    pred = np.nan_to_num(truth)
    pred[2, LEADS.index("V3")] = np.nan
    with pytest.raises(ValueError, match=r"image 'img7', lead V3"):
        snr_kaggle([truth], [pred], 10, image_ids=["img7"])
    pred[2, LEADS.index("V3")] = np.inf
    with pytest.raises(ValueError, match="lead V3"):
        snr_kaggle([truth], [pred], 10)
    # NaN where the truth is NaN is fine.
    ok = np.nan_to_num(truth)
    ok[3:, LEADS.index("aVR")] = np.nan
    assert snr_kaggle(truth, ok, 10).snr_db == pytest.approx(CAP_DB)


def test_bad_inputs_raise() -> None:
    truth = _image(4, I=[1, 2, 3, 4])
    with pytest.raises(ValueError, match="shape"):
        snr_kaggle(truth, np.zeros((5, 12)), 10)
    with pytest.raises(ValueError, match="fs_hz"):
        snr_kaggle(truth, np.zeros((4, 12)), None)
    with pytest.raises(ValueError, match="NaN everywhere"):
        snr_kaggle(np.full((4, 12), np.nan), np.zeros((4, 12)), 10)
    with pytest.raises(ValueError, match="fs_hz"):
        snr_kaggle([truth, truth], [truth, truth], [10.0])


def test_records_and_kaggle_layout_1025(rng: np.random.Generator) -> None:
    """EcgRecord input with fs from the record; 3x4 NaN layout at 1025 Hz (2562-row windows)."""
    fs, n, win = 1025, 10250, 2562
    full = np.stack([_smooth(rng, n) for _ in range(12)], axis=1)
    truth = full.copy()
    for k, lead in enumerate(LEADS):
        if lead != "II":
            col = [0, None, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3][k]
            mask = np.ones(n, bool)
            mask[col * win : (col + 1) * win] = False
            truth[mask, k] = np.nan
    pred = full + 0.1  # full-length prediction: compared only where the truth is defined
    res = snr_kaggle([EcgRecord(truth, fs, "a")], [EcgRecord(pred, fs, "a")])
    assert res.image_ids == ("a",)
    assert res.snr_db == pytest.approx(CAP_DB)
    assert res.lead_n_samples[0, II] == n and res.lead_n_samples[0, LEADS.index("aVR")] == win


def test_challenge2024_differs_from_kaggle() -> None:
    # Lead ratios 2 (I) and 8 (II) in one image: CinC = mean of dB; Kaggle = pooled.
    truth = _image(4, I=[1, -1, 1, -1], II=[1, -1, 1, -1])
    pred = np.nan_to_num(truth)
    pred[:, I] += [1, -1, 0, 0]
    pred[:, II] += [0.5, -0.5, 0, 0]
    cinc = snr_challenge2024(truth, pred, 1)
    assert cinc == pytest.approx((10 * math.log10(2) + 10 * math.log10(8)) / 2)
    assert snr_kaggle(truth, pred, 1).snr_db == pytest.approx(10 * math.log10(8 / 2.5))
    assert snr_challenge2024(truth, np.nan_to_num(truth), 1) == pytest.approx(CAP_DB)


# --------------------------------------------------------------------------------------------- torchmetrics


def test_torchmetrics_wrapper_matches_numpy(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    from ecgdl.metrics.torchmetrics import KaggleSNR

    truth = np.stack([np.stack([_smooth(rng, 400) for _ in range(12)], axis=1) for _ in range(5)])
    truth[:, 200:, 0] = np.nan
    pred = truth + rng.normal(0, 0.02, truth.shape)
    expected = snr_kaggle(list(truth), list(np.nan_to_num(pred)), 100).snr_db

    metric = KaggleSNR(fs_hz=100)
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert torch.isnan(metric.compute())
    metric.update(torch.tensor(np.nan_to_num(pred[:2])), torch.tensor(truth[:2]))
    metric.update(torch.tensor(np.nan_to_num(pred[2:])), torch.tensor(truth[2:]), torch.full((3,), 100.0))
    assert float(metric.compute()) == pytest.approx(expected)

    # DDP-style gather: states of two processes concatenated ('cat').
    a, b = KaggleSNR(fs_hz=100), KaggleSNR(fs_hz=100)
    a.update(torch.tensor(np.nan_to_num(pred[:3])), torch.tensor(truth[:3]))
    b.update(torch.tensor(np.nan_to_num(pred[3:])), torch.tensor(truth[3:]))
    a.merge_state(b)
    assert float(a.compute()) == pytest.approx(expected)
    assert a._reductions["ratios"] is not None
    with pytest.raises(ValueError, match=r"\(B, T, 12\)"):
        a.update(torch.zeros(10, 12), torch.zeros(10, 12))
