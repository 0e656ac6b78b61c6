"""Limb-lead fit (ecgdl.signals.limb): exact on consistent signals, error energy of 3 equal readings to 2/3,
offsets kept per lead, a hand-computed case, weights, and the digitizers' use of it."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.constants import LEAD_INDEX, LEADS
from ecgdl.metrics.einthoven import einthoven_consistency_db
from ecgdl.signals.limb import LIMB_FROM_I_II, LIMB_LEADS, fit_limb_leads, fit_limb_leads_with_check
from ecgdl.signals.synthetic import generate_ecg

FS = 500


def _printed_3x4_ii(sig: np.ndarray) -> np.ndarray:
    """NaN everywhere a standard 3x4 + II page does not print a lead (1250 samples per column at 500 Hz)."""
    out = np.full_like(sig, np.nan)
    cols = [("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"), ("V4", "V5", "V6")]
    for c, leads in enumerate(cols):
        for lead in leads:
            j = LEAD_INDEX[lead]
            out[c * 1250 : (c + 1) * 1250, j] = sig[c * 1250 : (c + 1) * 1250, j]
    out[:, LEAD_INDEX["II"]] = sig[:, LEAD_INDEX["II"]]  # the rhythm strip
    return out


def test_matrix_is_einthoven_and_goldberger() -> None:
    i_ii = np.array([0.7, -0.3])
    lead = dict(zip(LIMB_LEADS, LIMB_FROM_I_II @ i_ii, strict=True))
    assert lead["III"] == pytest.approx(lead["II"] - lead["I"])
    assert lead["aVR"] + lead["aVL"] + lead["aVF"] == pytest.approx(0.0)
    assert lead["aVR"] == pytest.approx(-(lead["I"] + lead["II"]) / 2)


def test_consistent_page_is_left_unchanged_and_nan_kept() -> None:
    rec = generate_ecg(np.random.default_rng(3), fs_hz=FS)
    page = _printed_3x4_ii(rec.signal_mv)
    out = fit_limb_leads(page, {"II": 2.0})
    assert np.array_equal(np.isnan(out), np.isnan(page))
    np.testing.assert_allclose(out[np.isfinite(page)], page[np.isfinite(page)], atol=1e-12)


def test_hand_computed_two_samples() -> None:
    # only I is off (+1, -1); III = II - I is violated by r = I - II + III = (1, -1); the equal-weight projection
    # removes r/3 along (1, -1, 1): I -> 2/3, II -> 1/3, III -> -1/3 (and the negatives)
    sig = np.full((2, 12), np.nan)
    sig[:, LEAD_INDEX["I"]] = [1.0, -1.0]
    sig[:, LEAD_INDEX["II"]] = 0.0
    sig[:, LEAD_INDEX["III"]] = 0.0
    out = fit_limb_leads(sig)
    np.testing.assert_allclose(out[:, LEAD_INDEX["I"]], [2 / 3, -2 / 3])
    np.testing.assert_allclose(out[:, LEAD_INDEX["II"]], [1 / 3, -1 / 3])
    np.testing.assert_allclose(out[:, LEAD_INDEX["III"]], [-1 / 3, 1 / 3])
    # a lead weighted far above the others keeps its reading; the others absorb the residual
    heavy = fit_limb_leads(sig, {"II": 1e9})
    np.testing.assert_allclose(heavy[:, LEAD_INDEX["II"]], [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(heavy[:, LEAD_INDEX["I"]], [0.5, -0.5], atol=1e-6)


def test_three_equal_readings_lose_a_third_of_their_error_energy() -> None:
    rng = np.random.default_rng(0)
    rec = generate_ecg(rng, fs_hz=FS)
    truth = rec.signal_mv[:1250].copy()
    truth[:, 3:] = np.nan  # only I, II, III printed (a 3x4 column without the rhythm strip)
    noisy = truth.copy()
    noisy[:, :3] += rng.normal(0.0, 0.05, (1250, 3))
    out = fit_limb_leads(noisy)
    err_before = np.sum((noisy[:, :3] - truth[:, :3]) ** 2)
    err_after = np.sum((out[:, :3] - truth[:, :3]) ** 2)
    assert err_after / err_before == pytest.approx(2 / 3, abs=0.05)
    assert einthoven_consistency_db(out, FS).einthoven_db > 50


def test_offsets_stay_with_their_lead() -> None:
    rec = generate_ecg(np.random.default_rng(5), fs_hz=FS)
    page = _printed_3x4_ii(rec.signal_mv)
    page[:1250, LEAD_INDEX["III"]] += 0.3  # III's zero line found 3 mm off
    out = fit_limb_leads(page)
    np.testing.assert_allclose(out[np.isfinite(page)], page[np.isfinite(page)], atol=1e-12)


def test_too_few_leads_and_chest_leads_untouched() -> None:
    rng = np.random.default_rng(1)
    sig = rng.normal(size=(100, 12))
    sig[:, LEAD_INDEX["III"] : LEAD_INDEX["aVF"] + 1] = np.nan  # I and II only: nothing to fit
    np.testing.assert_array_equal(fit_limb_leads(sig), sig)
    full = rng.normal(size=(100, 12))
    out = fit_limb_leads(full)
    np.testing.assert_array_equal(out[:, 6:], full[:, 6:])
    assert not np.allclose(out[:, :6], full[:, :6])


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match=r"not a limb lead.*I, II, III, aVR, aVL, aVF"):
        fit_limb_leads(np.zeros((4, 12)), {"V1": 2.0})
    with pytest.raises(ValueError, match="must be > 0"):
        fit_limb_leads(np.zeros((4, 12)), {"II": 0.0})
    with pytest.raises(ValueError, match=r"\(T, 12\)"):
        fit_limb_leads(np.zeros((4, 11)))
    # the digitizers check their weights when built, not on every page
    from ecgdl.classical import ClassicalDigitizer
    from ecgdl.models import build_network
    from ecgdl.models.module import DigitizerModule

    with pytest.raises(ValueError, match="not a limb lead"):
        ClassicalDigitizer(limb_fit=True, limb_fit_weights={"V5": 2.0})
    with pytest.raises(ValueError, match="not a limb lead"):
        DigitizerModule(
            build_network("cnn", base_channels=8, depth=2), limb_fit=True, limb_fit_weights={"V5": 2}
        )


def test_leads_rebuilt_from_the_others_are_left_out_of_the_check() -> None:
    # a reading that traced I, II, aVR and aVL only, with III and aVF rebuilt from them (III = II - I,
    # aVF = II - I/2), obeys Einthoven and Goldberger exactly: the check must not count that
    rng = np.random.default_rng(5)
    rec = generate_ecg(rng, fs_hz=FS)
    page = _printed_3x4_ii(rec.signal_mv)
    read = page + np.where(np.isfinite(page), rng.normal(0, 0.2, page.shape), np.nan)  # a poor reading
    i, ii = read[:, LEAD_INDEX["I"]], read[:, LEAD_INDEX["II"]]
    rebuilt = read.copy()
    rebuilt[:1250, LEAD_INDEX["III"]] = ii[:1250] - i[:1250]
    rebuilt[1250:2500, LEAD_INDEX["aVF"]] = (
        -rebuilt[1250:2500, LEAD_INDEX["aVR"]] - rebuilt[1250:2500, LEAD_INDEX["aVL"]]
    )
    _, naive = fit_limb_leads_with_check(rebuilt, FS, None)
    assert naive["raw_einthoven_db"] == pytest.approx(60.0)
    assert naive["raw_goldberger_db"] == pytest.approx(60.0)
    _, checked = fit_limb_leads_with_check(rebuilt, FS, None, untested=["III", "aVF"])
    assert np.isnan(checked["raw_einthoven_db"]) and np.isnan(checked["raw_goldberger_db"])
    # what remains testable: II of the rhythm strip against I (column 1) and aVR, aVL (column 2)
    untouched = read.copy()
    untouched[:, [LEAD_INDEX["III"], LEAD_INDEX["aVF"]]] = np.nan
    _, expected = fit_limb_leads_with_check(untouched, FS, None)
    assert checked["raw_limb_db"] == pytest.approx(expected["raw_limb_db"])
    assert checked["raw_limb_db"] < 20
    # the fit itself still uses every lead
    fitted, _ = fit_limb_leads_with_check(rebuilt, FS, {"II": 2.0}, untested=["III", "aVF"])
    np.testing.assert_allclose(fitted, fit_limb_leads(rebuilt, {"II": 2.0}))


def test_a_lead_the_classical_reader_rebuilt_is_not_checked() -> None:
    from ecgdl.classical.assembly import complete_leads
    from ecgdl.classical.page import LeadSegment

    rng = np.random.default_rng(8)
    rec = generate_ecg(rng, fs_hz=FS)
    read = _printed_3x4_ii(rec.signal_mv)
    read += np.where(np.isfinite(read), rng.normal(0, 0.1, read.shape), 0.0)
    read[:, LEAD_INDEX["III"]] = np.nan  # III could not be traced
    segs = [LeadSegment("III", 2, 0, 0.0, 2.5, 0.0, 100.0, 50.0, 0, 100)]
    sig, missing, rebuilt, meta = complete_leads(
        read.copy(), segs, FS, max_missing_leads=3, limb_fit_weights={"II": 2.0}, layout="3x4+II"
    )
    assert missing == ["III"] and rebuilt == ["III"]
    # III was rebuilt as II - I, so the record obeys Einthoven exactly, but the check says untested ...
    assert einthoven_consistency_db(sig, FS).einthoven_db > 50
    assert np.isnan(meta["raw_einthoven_db"])
    # ... and measures what was read: Goldberger's leads, and the limb leads printed together without III
    _, untouched = fit_limb_leads_with_check(read, FS, None)
    assert meta["raw_goldberger_db"] == pytest.approx(untouched["raw_goldberger_db"])
    assert meta["raw_limb_db"] == pytest.approx(untouched["raw_limb_db"])
    assert meta["raw_goldberger_db"] < 40


def test_classical_digitizer_fits_and_reports_the_raw_consistency() -> None:
    from ecgdl.classical import ClassicalDigitizer
    from ecgdl.render import RenderConfig, render_ecg

    rec = generate_ecg(np.random.default_rng(11), fs_hz=FS)
    image, _ = render_ecg(rec, RenderConfig(), np.random.default_rng(11))
    fitted = ClassicalDigitizer(limb_fit=True).digitize(image, FS, rec.signal_mv.shape[0])
    raw = ClassicalDigitizer().digitize(image, FS, rec.signal_mv.shape[0])  # off by default
    assert fitted.meta["limb_fit"] and not raw.meta["limb_fit"]
    assert fitted.meta["raw_einthoven_db"] == pytest.approx(raw.meta["raw_einthoven_db"])
    assert einthoven_consistency_db(raw.signal_mv, FS).einthoven_db == pytest.approx(
        raw.meta["raw_einthoven_db"]
    )
    assert einthoven_consistency_db(fitted.signal_mv, FS).einthoven_db > 50
    np.testing.assert_array_equal(fitted.signal_mv[:, 6:], raw.signal_mv[:, 6:])
    assert list(LEADS[6:]) == ["V1", "V2", "V3", "V4", "V5", "V6"]


def test_crop_network_digitizer_fits_its_own_reading() -> None:
    from ecgdl.models import build_network
    from ecgdl.models.module import DigitizerModule
    from ecgdl.render import RenderConfig, render_ecg

    rec = generate_ecg(np.random.default_rng(12), fs_hz=FS)
    image, _ = render_ecg(rec, RenderConfig(), np.random.default_rng(12))
    n = rec.signal_mv.shape[0]

    def shipped(**kwargs) -> DigitizerModule:
        return DigitizerModule(build_network("cnn"), **kwargs).load_weights("cnn").eval()

    fitted = shipped(limb_fit=True, limb_fit_weights={"II": 2.0}).digitize(image, FS, n)
    raw = shipped().digitize(image, FS, n)  # off by default
    assert fitted.meta["limb_fit"] and not raw.meta["limb_fit"]
    raw_db = einthoven_consistency_db(raw.signal_mv, FS).einthoven_db
    assert raw_db < 40
    assert raw.meta["raw_einthoven_db"] == pytest.approx(raw_db)
    assert fitted.meta["raw_einthoven_db"] == pytest.approx(raw_db)  # the network's, not the geometry's
    assert einthoven_consistency_db(fitted.signal_mv, FS).einthoven_db > 50
    np.testing.assert_array_equal(fitted.signal_mv[:, 6:], raw.signal_mv[:, 6:])
