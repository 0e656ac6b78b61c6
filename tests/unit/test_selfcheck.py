"""Reading confidence (ecgdl.metrics.confidence) and self-checked reading of turned pages (ecgdl.models.selfcheck)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.constants import LEADS
from ecgdl.digitizer import DigitizationError, Digitizer
from ecgdl.metrics.confidence import FEATURES, ConfidenceModel, confidence_features, fit_confidence
from ecgdl.models.selfcheck import SelfCheckedDigitizer, turn_image
from ecgdl.signals.record import EcgRecord

FS, N = 500.0, 5000


def _limb_record(rng: np.random.Generator, consistent: bool) -> np.ndarray:
    """12 leads; I, II, III and the augmented leads obey Einthoven / Goldberger when ``consistent``."""
    t = np.arange(N) / FS
    lead_i = 0.6 * np.sin(2 * np.pi * 1.2 * t) + 0.05 * rng.normal(size=N)
    lead_ii = 0.9 * np.sin(2 * np.pi * 1.2 * t + 0.4) + 0.05 * rng.normal(size=N)
    lead_iii = lead_ii - lead_i if consistent else rng.normal(0.0, 0.5, N)
    sig = np.zeros((N, 12))
    sig[:, LEADS.index("I")], sig[:, LEADS.index("II")], sig[:, LEADS.index("III")] = (
        lead_i,
        lead_ii,
        lead_iii,
    )
    sig[:, LEADS.index("aVR")] = -(lead_i + lead_ii) / 2
    sig[:, LEADS.index("aVL")] = lead_i - lead_ii / 2
    sig[:, LEADS.index("aVF")] = lead_ii - lead_i / 2
    if not consistent:
        sig[:, LEADS.index("aVL")] = rng.normal(0.0, 0.5, N)
    sig[:, 6:] = rng.normal(0.0, 0.3, (N, 6))
    return sig


def test_confidence_features_use_the_raw_figures_and_clip_them() -> None:
    feats = confidence_features(
        np.zeros((N, 12)),
        FS,
        {
            "raw_einthoven_db": 75.0,
            "raw_goldberger_db": float("nan"),
            "grid_found": False,
            "missing_leads": ["V1"],
        },
    )
    assert feats == {
        "einthoven_db": 40.0,
        "goldberger_db": -10.0,
        "weaker_db": -10.0,
        "grid_found": 0.0,
        "missing_leads": 1.0,
    }
    assert set(feats) == set(FEATURES)


def test_confidence_features_measure_the_signal_without_raw_figures() -> None:
    rng = np.random.default_rng(0)
    good = confidence_features(_limb_record(rng, True), FS, None)
    bad = confidence_features(_limb_record(rng, False), FS, None)
    assert good["einthoven_db"] == 40.0 and good["goldberger_db"] == 40.0  # exact identities
    assert bad["einthoven_db"] < 5.0 and bad["goldberger_db"] < 5.0
    assert good["grid_found"] == 1.0 and good["missing_leads"] == 0.0


def test_a_relation_no_samples_test_takes_the_consistency_of_the_limb_leads_printed_together() -> None:
    """A Cabrera 3x4 column prints aVL, I, -aVR at 0-2.5 s and II, aVF, III at 2.5-5 s: neither Einthoven's nor
    Goldberger's relation has a sample with all its leads, the three leads of each column still must fit."""
    rng = np.random.default_rng(2)
    sig = np.full((N, 12), np.nan)
    full = _limb_record(rng, True)
    col = {"aVL": 0, "I": 0, "aVR": 0, "II": 1, "aVF": 1, "III": 1}
    for lead, c in col.items():
        k = LEADS.index(lead)
        sig[c * 1250 : (c + 1) * 1250, k] = full[c * 1250 : (c + 1) * 1250, k]
    good = confidence_features(sig, FS, None)
    assert good["einthoven_db"] == good["goldberger_db"] == 40.0
    sig[:1250, LEADS.index("aVR")] *= -1  # -aVR taken as aVR
    bad = confidence_features(sig, FS, {"raw_einthoven_db": np.nan, "raw_goldberger_db": np.nan})
    assert bad["einthoven_db"] == -10.0  # no figure in the meta for the limb leads: the floor
    measured = confidence_features(sig, FS, None)
    assert measured["einthoven_db"] == measured["goldberger_db"] < 10.0


def test_consistency_on_less_than_a_beat_of_limb_leads_counts_as_the_worst() -> None:
    """A page read sideways left 50 samples of every lead (0.1 s): they agreed (Einthoven 31 dB) and the
    reading passed as confident. Three limb leads read together for under a second test nothing."""
    rng = np.random.default_rng(3)
    full = _limb_record(rng, True)
    meta = {"raw_einthoven_db": 30.8, "raw_goldberger_db": 16.3}
    for seconds, tested in ((0.1, False), (0.9, False), (1.0, True), (2.5, True)):
        sig = np.full((N, 12), np.nan)
        n = round(seconds * FS)
        sig[1000 : 1000 + n] = full[1000 : 1000 + n]
        feats = confidence_features(sig, FS, meta)
        expected = (30.8, 16.3) if tested else (-10.0, -10.0)
        assert (feats["einthoven_db"], feats["goldberger_db"]) == pytest.approx(expected), seconds
    # two limb leads for the whole record are not three together
    sig = np.full((N, 12), np.nan)
    sig[:, :2] = full[:, :2]
    assert confidence_features(sig, FS, meta)["einthoven_db"] == -10.0


def test_fitted_confidence_separates_consistent_from_inconsistent_readings() -> None:
    rng = np.random.default_rng(1)
    e_db = np.r_[rng.normal(20, 4, 60), rng.normal(2, 3, 60)]
    feats = [
        {"einthoven_db": e, "goldberger_db": e + rng.normal(0, 3), "grid_found": 1.0, "missing_leads": 0.0}
        for e in e_db
    ]
    snr = np.r_[rng.normal(18, 3, 60), rng.normal(0, 3, 60)]
    model = fit_confidence(feats, snr, good_db=10.0)
    conf = np.array([model(f) for f in feats])
    assert conf[:60].mean() > 0.85 and conf[60:].mean() < 0.15
    assert model.weights["einthoven_db"] > 0  # more consistent -> more confident
    assert model({**feats[0], "einthoven_db": 30.0}) > model({**feats[0], "einthoven_db": 0.0})


def test_one_relation_that_holds_very_well_does_not_hide_one_that_fails() -> None:
    """A page whose first column (I, II, III) was misread and whose second (aVR, aVL, aVF) was read flat obeys
    Goldberger at 30 dB and Einthoven not at all; it is a bad page. A sum of the two figures would call it as
    confident as a page read right in both; the weaker of the two tells them apart."""
    rng = np.random.default_rng(4)
    good = [(rng.normal(18, 3), rng.normal(18, 3)) for _ in range(60)]
    one_fails = [(rng.normal(0, 2), rng.normal(30, 3)) for _ in range(30)]
    one_fails += [(g, e) for e, g in one_fails]  # and the other way round
    both_fail = [(rng.normal(2, 3), rng.normal(2, 3)) for _ in range(30)]
    pairs = good + one_fails + both_fail
    snr = np.r_[rng.normal(18, 3, 60), rng.normal(2, 3, 90)]
    feats = [
        {"einthoven_db": e, "goldberger_db": g, "grid_found": 1.0, "missing_leads": 0.0} for e, g in pairs
    ]
    model = fit_confidence(feats, snr, good_db=10.0)
    assert model.weights["weaker_db"] > 0
    assert model(feats[0] | {"einthoven_db": 18.0, "goldberger_db": 18.0}) > 0.8
    assert model(feats[0] | {"einthoven_db": -1.0, "goldberger_db": 30.0}) < 0.2
    assert confidence_features(np.zeros((N, 12)), FS, {"raw_einthoven_db": -1.0, "raw_goldberger_db": 30.0})[
        "weaker_db"
    ] == pytest.approx(-1.0)


def test_confidence_model_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="unknown confidence feature"):
        ConfidenceModel(weights={"snr": 1.0})
    with pytest.raises(ValueError, match="threshold"):
        ConfidenceModel(threshold=1.5)
    assert ConfidenceModel()({f: 3.0 for f in FEATURES}) == 0.5
    with pytest.raises(ValueError, match="at least 4"):
        fit_confidence([{f: 0.0 for f in FEATURES}] * 2, [1.0, 20.0])


class _UprightOnly:
    """Reads a consistent record when the picture's marked corner is at its top left, garbage otherwise;
    counts its readings."""

    def __init__(self) -> None:
        self.calls = 0
        self.rng = np.random.default_rng(2)

    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int) -> EcgRecord:
        self.calls += 1
        upright = bool(image_rgb[0, 0, 0] == 255)
        return EcgRecord(_limb_record(self.rng, upright), fs_hz, "page", {"layout": "3x4+II"})


def _marked(h: int = 60, w: int = 90) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[0, 0] = 255
    return img


CONF = ConfidenceModel(intercept=-3.0, weights={"einthoven_db": 0.3}, threshold=0.5)


def test_turn_image_turns_counter_clockwise() -> None:
    img = _marked()
    assert turn_image(img, 0) is img
    turned = turn_image(img, 90)
    assert turned.shape == (90, 60, 3) and turned[-1, 0, 0] == 255  # the top-left corner goes to bottom left
    assert np.array_equal(turn_image(turn_image(img, 90), 270), img)
    with pytest.raises(ValueError, match="multiples of 90"):
        turn_image(img, 45)


def test_an_upright_page_is_read_once() -> None:
    reader = _UprightOnly()
    checked = SelfCheckedDigitizer(reader, CONF)
    assert isinstance(checked, Digitizer)
    rec = checked.digitize(_marked(), FS, N)
    assert reader.calls == 1
    assert rec.meta["turned_deg"] == 0 and rec.meta["confidence"] > 0.9
    assert rec.meta["layout"] == "3x4+II"  # the reader's meta is kept


@pytest.mark.parametrize("page_turn", [90, 180, 270])
def test_a_turned_page_is_read_the_right_way_up(page_turn: int) -> None:
    reader = _UprightOnly()
    checked = SelfCheckedDigitizer(reader, CONF, turns=(180, 90, 270))
    picture = turn_image(_marked(), page_turn)  # the page as it lies in the picture
    rec = checked.digitize(picture, FS, N)
    assert (page_turn + rec.meta["turned_deg"]) % 360 == 0
    assert rec.meta["confidence"] > 0.9
    tried = [r["turned_deg"] for r in rec.meta["readings_tried"]]
    assert (
        tried == [0, 180, 90, 270][: tried.index(rec.meta["turned_deg"]) + 1]
    )  # stops at the first good one


def test_without_turns_a_turned_page_keeps_its_low_confidence() -> None:
    rec = SelfCheckedDigitizer(_UprightOnly(), CONF, turns=()).digitize(turn_image(_marked(), 180), FS, N)
    assert rec.meta["turned_deg"] == 0 and CONF.is_low(rec.meta["confidence"])


def test_a_page_no_turn_can_read_raises_every_reason() -> None:
    class Failing:
        def digitize(self, image_rgb, fs_hz, n_samples):
            raise DigitizationError(f"layout: found 1 row(s) in a {image_rgb.shape[1]} px wide picture")

    with pytest.raises(DigitizationError, match="turned 90: layout") as err:
        SelfCheckedDigitizer(Failing(), CONF).digitize(_marked(), FS, N)
    assert str(err.value).count("layout:") == 4
    with pytest.raises(ValueError, match="90, 180 or 270"):
        SelfCheckedDigitizer(Failing(), CONF, turns=(45,))


def test_a_fallback_reads_the_page_as_it_lies_when_no_turn_is_confident() -> None:
    class Garbage:
        def __init__(self) -> None:
            self.rng = np.random.default_rng(3)

        def digitize(self, image_rgb, fs_hz, n_samples):
            return EcgRecord(_limb_record(self.rng, False), fs_hz, "page", {})

    class Good(Garbage):
        def digitize(self, image_rgb, fs_hz, n_samples):
            return EcgRecord(_limb_record(self.rng, True), fs_hz, "page", {"turned_input": image_rgb.shape})

    picture = _marked(60, 90)
    rec = SelfCheckedDigitizer(Garbage(), CONF, turns=(180,), fallback=Good()).digitize(picture, FS, N)
    assert rec.meta["reader"] == "fallback" and rec.meta["turned_deg"] == 0
    assert rec.meta["turned_input"] == picture.shape  # the fallback reads the page as it lies
    assert [(r["reader"], r["turned_deg"]) for r in rec.meta["readings_tried"]] == [
        ("reader", 0),
        ("reader", 180),
        ("fallback", 0),
    ]
    # a confident first reading never calls the fallback
    rec = SelfCheckedDigitizer(Good(), CONF, fallback=Garbage()).digitize(picture, FS, N)
    assert rec.meta["reader"] == "reader" and len(rec.meta["readings_tried"]) == 1


class _SaysTurned:
    """An orientation classifier that is sure the page needs ``turn`` degrees."""

    def __init__(self, turn: int) -> None:
        self.turn = turn

    def likely_turn_deg(self, image_rgb: np.ndarray) -> int:
        return self.turn


class _Middling(_UprightOnly):
    """Upright readings obey Einthoven only roughly (confidence between the threshold and 0.9)."""

    def digitize(self, image_rgb, fs_hz, n_samples):
        rec = super().digitize(image_rgb, fs_hz, n_samples)
        e_db = 12.0 if image_rgb[0, 0, 0] == 255 else -3.0
        meta = {**rec.meta, "raw_einthoven_db": e_db, "raw_goldberger_db": e_db}
        return EcgRecord(rec.signal_mv, fs_hz, "page", meta)


@pytest.mark.parametrize("page_turn", [90, 270])
def test_the_turn_the_orientation_classifier_is_sure_of_is_read_first_at_the_plain_threshold(
    page_turn,
) -> None:
    picture = turn_image(_marked(), page_turn)
    needed = (360 - page_turn) % 360
    reader = _Middling()
    upright = reader.digitize(_marked(), FS, N)
    conf_upright = CONF.of(upright.signal_mv, FS, upright.meta)
    assert (
        CONF.threshold < conf_upright < 0.9
    )  # a turned reading this confident is not kept without the classifier
    rec = SelfCheckedDigitizer(_Middling(), CONF).digitize(picture, FS, N)
    assert rec.meta["turned_deg"] == 0 and CONF.is_low(rec.meta["confidence"])
    rec = SelfCheckedDigitizer(_Middling(), CONF, orientation=_SaysTurned(needed)).digitize(picture, FS, N)
    assert rec.meta["turned_deg"] == needed and rec.meta["orientation_turn_deg"] == needed
    assert [r["turned_deg"] for r in rec.meta["readings_tried"]] == [needed]  # one reading
