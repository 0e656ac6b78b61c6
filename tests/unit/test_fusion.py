"""ecgdl.fusion: the fusion rule, the error models, their features and their calibration, checked against
hand-computed cases and data drawn from known error laws."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from ecgdl.constants import LEADS
from ecgdl.fusion import (
    FEATURES,
    ErrorModel,
    FusionConfig,
    agreement,
    centred_residuals,
    context_masks,
    fit_error_model,
    fit_fusion,
    fuse_readings,
    lead_joins,
    page_noise,
    sample_features,
)
from ecgdl.models.networks import heatmap_off_peak


def test_readings_are_averaged_by_inverse_variance() -> None:
    out, w = fuse_readings(np.array([1.0]), np.array([1.0]), np.array([2.0]), np.array([3.0]))
    # weight of a = vb / (va + vb) = 0.75; fused = 0.75 * 1 + 0.25 * 2
    assert w[0] == pytest.approx(0.75) and out[0] == pytest.approx(1.25)


def test_a_reader_far_surer_than_the_other_decides_alone() -> None:
    """Variances many orders of magnitude apart (the fitted models give these near pulses or where the network's
    height distribution has no peak): the weight is computed from the log-ratio and stays exact."""
    out, w = fuse_readings(np.array([0.0, 0.0]), np.array([1e-300, 1e300]), np.array([10.0, 10.0]), 1.0)
    np.testing.assert_allclose(w, [1.0, 0.0], atol=1e-200)
    np.testing.assert_allclose(out, [0.0, 10.0], atol=1e-12)


def test_a_missing_reading_leaves_the_other() -> None:
    a = np.array([np.nan, 1.0, np.nan])
    b = np.array([2.0, np.nan, np.nan])
    out, w = fuse_readings(a, np.ones(3), b, np.full(3, 2.0))
    np.testing.assert_array_equal(out[:2], [2.0, 1.0])
    np.testing.assert_array_equal(w[:2], [0.0, 1.0])
    assert np.isnan(out[2]) and np.isnan(w[2])


def test_readings_that_agree_are_averaged_whatever_the_error_models_say() -> None:
    """a is far surer than b (weight 1 without agreement); 0.01 mV apart with agree_mv 0.01 the agreement is
    exp(-1/2) = 0.6065, a's weight (1 - 0.6065) * 1 + 0.6065 * 0.5 = 0.6967; 1 mV apart it stays a's."""
    assert agreement(np.array([0.0, 0.01, -0.01, np.nan]), 0.01) == pytest.approx(
        [1.0, math.exp(-0.5), math.exp(-0.5), 0.0]
    )
    assert (agreement(np.array([0.0, 1.0]), 0.0) == 0).all()  # off
    a, b = np.zeros(2), np.array([0.01, 1.0])
    out, w = fuse_readings(a, 1e-12, b, 1.0, agree_mv=0.01, agree_weight=0.5)
    p = math.exp(-0.5)
    assert w == pytest.approx([(1 - p) + p * 0.5, 1.0], abs=1e-9)
    assert out == pytest.approx([(1 - w[0]) * 0.01, 0.0], abs=1e-9)
    cfg = FusionConfig(network={"bias": -20}, agree_mv=0.01, agree_weight=0.5)
    fused, w_cfg = cfg.fuse(a, b, {"bias": np.ones(2)})
    assert w_cfg == pytest.approx(w, abs=1e-8) and fused == pytest.approx(out, abs=1e-8)
    with pytest.raises(ValueError, match="agree_weight"):
        FusionConfig(agree_weight=1.5)


def test_fusion_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="one shape"):
        fuse_readings(np.zeros(2), 1.0, np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="positive"):
        fuse_readings(np.zeros(2), 0.0, np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="min_var_mv2"):
        FusionConfig(min_var_mv2=0.0)
    with pytest.raises(ValueError, match=r"unknown error-model features.*valid: bias"):
        ErrorModel({"sharpness": 1.0})
    with pytest.raises(ValueError, match="finite"):
        ErrorModel({"bias": float("nan")})


def test_error_model_is_log_linear_in_its_features() -> None:
    model = ErrorModel({"bias": -4.0, "page_noise": 2.0, "near_pulse": 1.0})
    feats = {
        "bias": np.ones(3),
        "page_noise": np.array([0.0, 0.5, 0.5]),
        "near_pulse": np.array([0.0, 0.0, 1.0]),
    }
    np.testing.assert_allclose(model.variance(feats), np.exp([-4.0, -3.0, -2.0]))
    assert ErrorModel().variance(feats).tolist() == [1.0, 1.0, 1.0]  # empty model: 1 mV^2


def test_fusion_config_takes_the_nested_yaml_form() -> None:
    cfg = FusionConfig(network={"bias": -9, "log_doubt": 1}, classical={"coef": {"bias": -7}}, context_s=0)
    assert cfg.network.coef == {"bias": -9.0, "log_doubt": 1.0} and cfg.classical.coef == {"bias": -7.0}
    assert isinstance(cfg.context_s, float)
    assert FusionConfig(**dataclasses.asdict(cfg)) == cfg  # the form checkpoints store


def test_page_noise_is_the_split_stroke_figure_and_unknown_counts_as_noisy() -> None:
    assert page_noise({"split_stroke_noise": 0.003}) == 0.003
    assert page_noise({"split_stroke_noise": float("nan")}) == 1.0
    assert page_noise({}) == 1.0
    assert page_noise({"split_stroke_noise": 3.0}) == 1.0


def _seg(lead: str, n0: int, n1: int, y: float, sides: tuple[str, ...] = ()) -> dict:
    return {
        "lead": lead,
        "start_sample": n0,
        "end_sample": n1,
        "baseline_y_px": y,
        "px_per_mv": 80.0,
        "pulse_sides": list(sides),
    }


def test_lead_joins_and_context_masks_mark_pulses_and_joins_in_a_row() -> None:
    segs = [
        _seg("I", 0, 1250, 300.0, ("start",)),
        _seg("aVR", 1250, 2500, 301.0),  # same row (1 px = 0.0125 mV apart)
        _seg("II", 0, 1250, 600.0),  # another row: no join with aVR
        _seg("V1", 2500, 3750, 300.0, ("end",)),
    ]
    assert lead_joins(segs) == [(False, True), (True, True), (False, False), (True, False)]
    near_pulse, near_join = context_masks(segs, 5000, 500.0, context_s=0.04)  # 20 samples
    i, avr, v1 = LEADS.index("I"), LEADS.index("aVR"), LEADS.index("V1")
    assert near_pulse[:20, i].all() and not near_pulse[20:, i].any()
    assert near_pulse[3730:3750, v1].all() and near_pulse.sum() == 40
    assert (
        near_join[1230:1250, i].all() and near_join[1250:1270, avr].all() and near_join[2480:2500, avr].all()
    )
    assert near_join[2500:2520, v1].all() and near_join.sum() == 80
    assert not context_masks(segs, 5000, 500.0, context_s=0.0)[0].any()


def test_sample_features_have_every_name_and_the_networks_doubt_on_a_log_scale() -> None:
    shape = (4, 12)
    off_peak = np.zeros(shape)
    off_peak[0] = 0.99
    off_peak[1] = np.nan
    feats = sample_features(0.2, np.zeros(shape, bool), np.ones(shape, bool), off_peak)
    assert set(feats) == set(FEATURES) and all(v.shape == shape for v in feats.values())
    assert feats["log_doubt"][0, 0] == pytest.approx(0.0) and feats["log_doubt"][2, 0] == pytest.approx(
        math.log(0.01)
    )
    assert feats["log_doubt"][1, 0] == pytest.approx(math.log(0.01))  # NaN: no doubt known
    assert (feats["page_noise"] == 0.2).all() and (feats["near_join"] == 1.0).all()
    assert (sample_features(0.2, np.zeros(shape, bool), np.zeros(shape, bool))["log_doubt"] == 0).all()


def test_centred_residuals_remove_each_leads_mean_error() -> None:
    truth = np.zeros((4, 12))
    reading = np.zeros((4, 12))
    reading[:, 0] = [1.0, 1.0, 1.0, 2.0]  # offset 1.25, residual around it
    reading[1, 1] = np.nan
    res = centred_residuals(reading, truth)
    np.testing.assert_allclose(res[:, 0], [-0.25, -0.25, -0.25, 0.75])
    assert np.isnan(res[1, 1]) and (res[[0, 2, 3], 1] == 0).all()


def test_the_fit_recovers_a_known_error_law() -> None:
    """Residuals drawn from a Student-t law (4 degrees of freedom) whose log-variance is linear in two features:
    the fit gives back the law's coefficients."""
    rng = np.random.default_rng(0)
    true = {"bias": -6.0, "page_noise": 3.0, "near_join": 2.0}
    feats, res = [], []
    for _ in range(20):
        noise = float(rng.uniform(0, 1))
        join = (rng.random((500, 12)) < 0.2).astype(float)
        f = {"bias": np.ones((500, 12)), "page_noise": np.full((500, 12), noise), "near_join": join}
        scale = np.sqrt(ErrorModel(true).variance(f))
        res.append(scale * rng.standard_t(4.0, size=(500, 12)))
        feats.append(f)
    fitted = fit_error_model(feats, res, names=list(true))
    for name, value in true.items():
        assert fitted.coef[name] == pytest.approx(value, abs=0.1)
    with pytest.raises(ValueError, match="no finite"):
        fit_error_model([feats[0]], [np.full((500, 12), np.nan)], names=list(true))


def test_off_peak_mass_is_zero_for_one_sharp_peak_and_half_for_two() -> None:
    h, w = 64, 3
    logits = torch.full((1, h, w), -50.0)
    logits[0, 20, 0] = 0.0  # one peak
    logits[0, 10, 1] = logits[0, 50, 1] = 0.0  # two equal peaks, 40 rows apart
    logits[0, 30:34, 2] = 0.0  # a peak 4 rows wide
    y = torch.tensor([[20.0, 10.0, 31.5]])
    doubt = heatmap_off_peak(logits, y, half_width_px=8.0)
    assert doubt[0, 0].item() == pytest.approx(0.0, abs=1e-6)
    assert doubt[0, 1].item() == pytest.approx(0.5, abs=1e-6)
    assert doubt[0, 2].item() == pytest.approx(0.0, abs=1e-6)


def test_fit_fusion_weighs_each_reader_where_it_errs_less() -> None:
    """Reader a errs 0.01 mV except near pulses (0.5 mV), reader b 0.05 mV everywhere: the fitted models give a
    nearly all the weight away from pulses and b nearly all of it next to them."""
    rng = np.random.default_rng(1)
    feats, ra, rb, truths = [], [], [], []
    for _ in range(12):
        pulse = np.zeros((400, 12))
        pulse[:40] = 1.0
        feats.append({"bias": np.ones((400, 12)), "near_pulse": pulse})
        ra.append(rng.normal(0, 1, (400, 12)) * np.where(pulse > 0, 0.5, 0.01))
        rb.append(rng.normal(0, 0.05, (400, 12)))
        truths.append(rng.normal(0, 1.0, (400, 12)))
    model_a, model_b, agree_mv, _ = fit_fusion(feats, ra, rb, truths, names=["bias", "near_pulse"])
    assert agree_mv == 0.0  # fit_agreement off: no agreement fitted
    w_a = {}
    for key, pulse in (("off", 0.0), ("on", 1.0)):
        f = {"bias": np.ones(1), "near_pulse": np.full(1, pulse)}
        _, w = fuse_readings(np.zeros(1), model_a.variance(f), np.ones(1), model_b.variance(f))
        w_a[key] = float(w[0])
    assert w_a["off"] > 0.9 and w_a["on"] < 0.1
    # only the difference of the two models is fitted: it is split evenly
    assert model_a.coef["near_pulse"] == pytest.approx(-model_b.coef["near_pulse"])


def test_fit_fusion_learns_to_average_readings_that_agree() -> None:
    """Both readers err 0.02 mV (independently); reader b also jumps 1 mV onto another stroke on 10 % of the
    samples, and nothing in the features says where. Without the agreement the best weight is nearly all a's;
    with it, the samples where they agree are averaged (halving the error power there), the others left to a:
    the fused SNR beats reader a alone by about 2-3 dB."""
    rng = np.random.default_rng(3)
    feats, ra, rb, truths, gaps = [], [], [], [], []
    for _ in range(10):
        truth = rng.normal(0, 0.3, (500, 12))
        a = truth + rng.normal(0, 0.02, truth.shape)
        b = truth + rng.normal(0, 0.02, truth.shape) + (rng.random(truth.shape) < 0.1) * 1.0
        feats.append({"bias": np.ones(truth.shape)})
        ra.append(a - truth)
        rb.append(b - truth)
        truths.append(truth)
        gaps.append(a - b)
    fit = fit_fusion(feats, ra, rb, truths, names=["bias"], fit_agreement=True)
    assert 0.02 < fit.agree_mv < 0.3 and 0.35 < fit.agree_weight < 0.65

    def snr_db(w_a: np.ndarray | float, r_a: np.ndarray, r_b: np.ndarray, t: np.ndarray) -> float:
        err = w_a * r_a + (1 - w_a) * r_b
        return 10 * math.log10(np.sum(t**2) / np.sum(err**2))

    f = {"bias": np.ones((500, 12))}
    alone = np.mean([snr_db(1.0, r_a, r_b, t) for r_a, r_b, t in zip(ra, rb, truths, strict=True)])
    fused = []
    for r_a, r_b, t, g in zip(ra, rb, truths, gaps, strict=True):
        w = fuse_readings(
            np.zeros_like(g), fit.a.variance(f), -g, fit.b.variance(f), fit.agree_mv, fit.agree_weight
        )[1]
        fused.append(snr_db(w, r_a, r_b, t))
    assert 2.0 < np.mean(fused) - alone < 3.5
