"""Classical digitizer, traced segments to the 12-lead record (:mod:`ecgdl.classical.resample`,
:mod:`~ecgdl.classical.assembly`): sample placement, interpolation, levels of a lead printed twice, missing
leads."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.layout import build_segments
from ecgdl.classical.page import RowBand
from ecgdl.classical.resample import SegmentSignal, assemble_record, interpolate_trace, sample_range
from ecgdl.constants import LEADS
from ecgdl.signals.record import EcgRecord
from tests.unit.classical.pages import plain_record


def test_resample_places_samples_and_nans() -> None:
    fs, n = 500.0, 5000
    x = np.arange(100.0, 593.0)
    seg = SegmentSignal("aVR", 2.5, 2.5, 100.0, 300.0, 196.85, 78.74, x, 300.0 - 78.74 * np.sin(x / 30))
    sig, geom = assemble_record([seg], fs, n)
    assert sample_range(2.5, 2.5, fs, n) == (1250, 2500)
    j = LEADS.index("aVR")
    k = np.arange(1250, 2500)
    expect = np.sin((100.0 + (k / fs - 2.5) * 196.85) / 30)
    assert np.allclose(sig[1250:2500, j], expect, atol=1e-3)
    assert np.isnan(sig[:1250, j]).all() and np.isnan(sig[2500:, j]).all()
    assert np.isnan(np.delete(sig, j, axis=1)).all()
    assert geom[0]["start_sample"] == 1250 and geom[0]["end_sample"] == 2500


def _piece(
    lead: str, t0_s: float, dur_s: float, wave, offset_mv: float, zero_y_px: float | None
) -> SegmentSignal:
    """A segment drawing ``wave(t)`` on a zero line at y = 300 px (200 dpi, 25 mm/s, 10 mm/mV), read from the
    level ``offset_mv`` above that line (as an isoelectric level would be)."""
    px_per_s, px_per_mv, x0 = 196.85, 78.74, 100.0
    x = np.arange(x0, x0 + dur_s * px_per_s + 1)
    y = 300.0 - px_per_mv * wave(t0_s + (x - x0) / px_per_s)
    return SegmentSignal(
        lead, t0_s, dur_s, x0, 300.0 - px_per_mv * offset_mv, px_per_s, px_per_mv, x, y, (), zero_y_px
    )


def test_a_lead_printed_twice_is_read_from_one_level() -> None:
    # V5 in a 5-s rhythm strip and in a column 7.5 s in (3x4+3 at 50 mm/s), each read from its own isoelectric
    # level: 0.2 mV and -0.1 mV above the true zero line
    fs, n, j = 500.0, 5000, LEADS.index("V5")
    wave = lambda t: 0.3 * np.sin(2 * np.pi * t) + 0.05 * t  # noqa: E731
    t = np.arange(n) / fs
    rhythm = _piece("V5", 0.0, 5.0, wave, 0.2, 300.0)
    column = _piece("V5", 7.5, 1.25, wave, -0.1, 300.0)
    sig, geom = assemble_record([rhythm, column], fs, n)
    assert np.allclose(sig[:2500, j], wave(t[:2500]) - 0.2, atol=1e-3)  # the longest piece is kept as read
    # ... and the other one put on its level
    assert np.allclose(sig[3750:4375, j], wave(t[3750:4375]) - 0.2, atol=1e-3)
    assert sorted(g["offset_mv"] for g in geom) == pytest.approx([-0.3, 0.0])
    # without the rows' zero lines nothing tells the levels apart: each piece stays as read
    sig, _ = assemble_record(
        [_piece("V5", 0.0, 5.0, wave, 0.2, None), _piece("V5", 7.5, 1.25, wave, -0.1, 300.0)], fs, n
    )
    assert np.allclose(sig[3750:4375, j], wave(t[3750:4375]) + 0.1, atol=1e-3)
    # overlapping windows (V1 of the same page: column 5.0-6.25 s, rhythm 0-5.44 s): the overlap sets the shift,
    # whatever the zero lines say, and the longer piece keeps the shared samples
    rhythm = _piece("V1", 0.0, 5.44, wave, 0.2, 300.0)
    column = _piece("V1", 5.0, 1.25, wave, -0.1, 250.0)
    sig, geom = assemble_record([column, rhythm], fs, n)
    k = LEADS.index("V1")
    assert np.allclose(sig[:3125, k], wave(t[:3125]) - 0.2, atol=1e-3)
    assert [g["offset_mv"] for g in geom] == pytest.approx([-0.3, 0.0])


def test_cubic_interpolation_keeps_a_qrs_that_straight_lines_cut() -> None:
    # a 1.5 mV, 10-ms-wide (sigma) spike read once per column of a 200-dpi page at 25 mm/s (196.85 columns/s),
    # interpolated at 500 Hz: straight lines between the readings lose the tip, the spline follows it
    px_per_s, fs = 196.85, 500.0
    cols = np.arange(0.0, 197.0)
    wave = lambda t: 1.5 * np.exp(-0.5 * ((t - 0.5013) / 0.010) ** 2)  # noqa: E731
    t = np.arange(0, 500) / fs
    x = t * px_per_s
    lin = interpolate_trace(x, cols, wave(cols / px_per_s), "linear")
    cub = interpolate_trace(x, cols, wave(cols / px_per_s), "cubic")
    err_lin, err_cub = np.abs(lin - wave(t)).max(), np.abs(cub - wave(t)).max()
    assert err_lin > 0.03 and err_cub < 0.1 * err_lin  # mV: 0.046 vs 0.001
    assert np.isclose(
        interpolate_trace(np.array([-5.0, 500.0]), cols, cols**2, "cubic"), [0.0, 196.0**2]
    ).all()


def test_cubic_interpolation_is_exact_on_cubics_and_bridges_long_gaps_straight() -> None:
    xp = np.array([0.0, 1, 2, 3, 4, 20, 21, 22, 23])
    fp = xp**3 - 2 * xp
    x = np.array([0.5, 2.5, 12.0, 21.5])
    got = interpolate_trace(x, xp, fp, "cubic", max_gap=10.0)
    assert np.allclose(got[[0, 1, 3]], x[[0, 1, 3]] ** 3 - 2 * x[[0, 1, 3]])  # not-a-knot: exact on a cubic
    assert np.isclose(got[2], fp[4] + (12 - 4) / 16 * (fp[5] - fp[4]))  # the 16-px gap: a straight line
    # a column read twice counts once, at the mean of its readings; under four distinct points: straight lines
    dup = interpolate_trace(
        np.array([1.5]), np.array([0.0, 1, 1, 2, 3]), np.array([0.0, 1, 3, 4, 9]), "cubic"
    )
    ref = interpolate_trace(np.array([1.5]), np.array([0.0, 1, 2, 3]), np.array([0.0, 2, 4, 9]), "cubic")
    assert np.isclose(dup, ref).all()
    assert interpolate_trace(np.array([0.5]), np.array([0.0, 1, 2]), np.array([0.0, 1, 8]), "cubic")[0] == 0.5


def test_unknown_interpolation_is_named() -> None:
    with pytest.raises(ValueError, match="valid: cubic, linear"):
        interpolate_trace(np.zeros(2), np.arange(4.0), np.zeros(4), "quadratic")
    with pytest.raises(ValueError, match="quadratic"):
        ClassicalDigitizer(interpolation="quadratic")


def test_missing_limb_lead_is_rebuilt_from_einthoven() -> None:
    from ecgdl.classical.assembly import repair_missing_leads

    rows = [RowBand(200.0 + 280 * k, 78.74, 78.74 + 1968.5, 1.0) for k in range(4)]
    segs = build_segments("3x4+II", rows, 196.85, 10.0, 1700)
    rng = np.random.default_rng(0)
    sig = np.full((5000, 12), np.nan)
    lead_i, lead_ii = rng.normal(size=5000), rng.normal(size=5000)
    sig[:1250, LEADS.index("I")] = lead_i[:1250]
    sig[:1250, LEADS.index("III")] = (lead_ii - lead_i)[:1250]
    sig[1250:2500, LEADS.index("aVR")] = 0.1
    rebuilt = repair_missing_leads(sig, segs, ["II", "aVL"], 500.0)
    assert rebuilt == ["II"]
    assert np.allclose(sig[:1250, LEADS.index("II")], lead_ii[:1250])  # known where I and III are
    assert (sig[1250:, LEADS.index("II")] == 0).all()  # rest of the rhythm strip: zeros
    assert (sig[1250:2500, LEADS.index("aVL")] == 0).all()  # aVF is missing too: no identity, zeros


@pytest.mark.parametrize("pulse", ["end", "none"])
def test_a_lead_printed_twice_keeps_its_step_between_the_prints(pulse: str) -> None:
    # 3x4+3 at 50 mm/s: V5 shows in a 5-s rhythm strip and in a column 7.5 s in; the signal steps up 0.3 mV
    # between the two. Read from their own isoelectric levels the two prints would lose the step.
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    sig = rec.signal_mv.copy()
    j = LEADS.index("V5")
    sig[:, j] += 0.3 * (np.arange(rec.n_samples) / rec.fs_hz > 6.0)
    rec = EcgRecord(sig, rec.fs_hz, "step")
    img, truth = render_ecg(
        rec, RenderConfig(layout="3x4+3", speed_mm_per_s=50.0, pulse=pulse), np.random.default_rng(0)
    )
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    shown = np.flatnonzero(np.isfinite(truth.record.signal_mv[:, j]))
    rhythm, column = np.split(shown, np.flatnonzero(np.diff(shown) > 1) + 1)
    assert rhythm[0] == 0 and 3700 < column[0] < 3800  # the two prints, 2.5 s apart
    err = [np.nanmedian(out.signal_mv[p, j] - truth.record.signal_mv[p, j]) for p in (rhythm, column)]
    assert abs(err[1] - err[0]) < 0.03  # mV (measured 0.005-0.013; 0.3 from isoelectric levels)
