"""Cabrera or standard order decided by the limb leads' identities (ecgdl.classical.layoutcheck, ecgdl.signals.limb)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.layoutcheck import (
    better_layout,
    cabrera_relabelled,
    lead_polarity,
    upright,
    with_polarity,
)
from ecgdl.classical.page import LeadSegment, PageGeometry
from ecgdl.classical.resample import SegmentSignal
from ecgdl.constants import LEAD_INDEX, LEADS
from ecgdl.layouts import CABRERA_TWINS, LAYOUTS
from ecgdl.metrics.snr import snr_kaggle
from ecgdl.render.renderer import RenderConfig, render_ecg
from ecgdl.signals.limb import LIMB_FROM_I_II, limb_consistency_db
from ecgdl.signals.synthetic import generate_ecg
from ecgdl.viz.segments import segments_from_meta


def _limb_signal(n: int, seed: int) -> np.ndarray:
    sig = np.full((n, 12), np.nan)
    sig[:, :6] = np.random.default_rng(seed).standard_normal((n, 2)) @ LIMB_FROM_I_II.T
    return sig


def test_limb_consistency_of_three_leads_against_a_hand_computed_residual() -> None:
    sig = _limb_signal(400, 0)
    sig[:, 3:] = np.nan  # I, II, III printed together
    assert limb_consistency_db(sig) == 60.0
    err = np.where(np.arange(400) % 2 == 0, 0.1, -0.1)  # zero-mean error on III
    sig[:, 2] += err
    # the error leaves the plane I - II + III = 0 along n = (1, -1, 1) / sqrt(3): residual energy e^2 / 3
    y = sig[:, :3] - sig[:, :3].mean(axis=0)
    want = 10 * np.log10((y**2).sum() / ((err**2).sum() / 3))
    assert limb_consistency_db(sig) == pytest.approx(want, abs=1e-9)


def test_limb_consistency_counts_any_three_limb_leads_printed_together() -> None:
    sig = _limb_signal(300, 1)
    keep = [LEAD_INDEX[k] for k in ("aVL", "I", "aVR")]  # a Cabrera column
    sig[:, [i for i in range(6) if i not in keep]] = np.nan
    assert limb_consistency_db(sig) == 60.0
    sig[:, LEAD_INDEX["aVR"]] *= -1  # printed -aVR taken as aVR
    assert limb_consistency_db(sig) < 10.0
    two = _limb_signal(300, 2)
    two[:, 2:6] = np.nan  # only I and II: nothing to check
    assert np.isnan(limb_consistency_db(two))


def test_polarity_turns_only_cabreras_avr() -> None:
    assert (lead_polarity("3x4+II") == 1).all()
    pol = lead_polarity("6x2-cabrera")
    assert pol[LEAD_INDEX["aVR"]] == -1 and (np.delete(pol, LEAD_INDEX["aVR"]) == 1).all()
    sig = np.arange(24.0).reshape(2, 12)
    assert with_polarity(sig, "3x4+II") is sig
    turned = with_polarity(sig, "12x1-cabrera")
    assert turned[1, LEAD_INDEX["aVR"]] == -sig[1, LEAD_INDEX["aVR"]]
    np.testing.assert_array_equal(with_polarity(turned, "12x1-cabrera"), sig)


def test_another_naming_must_be_clearly_better_and_consistent_itself() -> None:
    assert better_layout(25.0, 20.0)
    assert not better_layout(12.0, 10.0)  # under the 3-dB gain
    assert not better_layout(9.0, 2.0)  # a wrong reading named otherwise is still wrong
    assert better_layout(10.0, -np.inf)


def test_upright_turns_the_record_and_marks_the_segments() -> None:
    sig = np.ones((4, 12))
    segments = [{"lead": "aVR"}, {"lead": "I"}]
    out = upright(sig, segments, "3x4+II-cabrera")
    assert out[0, LEAD_INDEX["aVR"]] == -1.0 and out[0, LEAD_INDEX["I"]] == 1.0
    assert [s["polarity"] for s in segments] == [-1.0, 1.0]


def test_cabrera_twins_print_the_same_grid_with_every_lead_once() -> None:
    for std, cab in CABRERA_TWINS.items():
        a, b = LAYOUTS[std], LAYOUTS[cab]
        assert (len(a.grid), a.n_cols, a.rhythm) == (len(b.grid), b.n_cols, b.rhythm)
        assert sorted(lead for row in b.grid for lead in row) == sorted(LEADS)
        assert b.inverted == ("aVR",)


def _geometry(layout: str, segs: list[LeadSegment]) -> PageGeometry:
    return PageGeometry(
        np.eye(3), (100, 100), 1.0, False, 4.0, 4.0, layout, (), (), tuple(segs), 25.0, 10.0, 100.0, 40.0
    )


def test_relabelling_renames_by_row_and_column() -> None:
    spec = LAYOUTS["3x4+II"]
    segs, sigs = [], []
    for r, row in enumerate((*spec.grid, spec.rhythm)):
        for c, lead in enumerate(row):
            t0, dur = (2.5 * c, 2.5) if r < 3 else (0.0, 10.0)
            segs.append(LeadSegment(lead, r, c, t0, dur, 0.0, 1.0, 10.0 * r, 0, 1))
            sigs.append(
                SegmentSignal(lead, t0, dur, 0.0, 10.0 * r, 1.0, 1.0, np.zeros(2), np.zeros(2), row=r, col=c)
            )
    new_geometry, new_segs, new_sigs = cabrera_relabelled(_geometry("3x4+II", segs), segs, sigs)
    assert new_geometry.layout == "3x4+II-cabrera"
    got = {(s.row, s.col): s.lead for s in new_segs}
    assert [got[(r, 0)] for r in range(4)] == ["aVL", "I", "aVR", "II"]  # the strip stays II
    assert [got[(r, 1)] for r in range(3)] == ["II", "aVF", "III"]
    assert [g.lead for g in new_sigs] == [s.lead for s in new_segs]
    assert new_geometry.segments == tuple(new_segs)
    assert cabrera_relabelled(_geometry("3x4", []), [], []) is None  # no Cabrera twin


def _read(layout: str, seed: int, check: bool) -> tuple[str, float, dict]:
    rng = np.random.default_rng(seed)
    record = generate_ecg(rng, 500.0)
    image, truth = render_ecg(record, RenderConfig(layout=layout, dpi=100, pulse="start"), rng)
    rec = ClassicalDigitizer(limb_fit=True, layout_check=check).digitize(image, 500.0, record.n_samples)
    snr = snr_kaggle([truth.record.signal_mv], [np.nan_to_num(rec.signal_mv)], 500.0).snr_db
    return rec.meta["layout"], snr, rec.meta


@pytest.mark.parametrize(("layout", "seed"), [("3x4+II-cabrera", 101), ("6x2-cabrera", 103)])
def test_a_cabrera_page_reads_as_well_as_the_same_record_in_standard_order(layout: str, seed: int) -> None:
    got, snr, meta = _read(layout, seed, check=True)
    scores = meta["layout_check_db"]
    assert got == layout
    assert all(scores[layout] > v + 10 for k, v in scores.items() if k != layout)
    standard = layout.removesuffix("-cabrera")
    standard_page, snr_standard_page, _ = _read(standard, seed, check=True)
    assert standard_page == standard
    assert snr > min(18.0, snr_standard_page - 1.0)
    avr = [s for s in segments_from_meta(meta) if s.lead == "aVR"]
    assert avr and all(s.polarity == -1.0 for s in avr)  # overlays draw -aVR as printed
    unchecked, snr_unchecked, _ = _read(layout, seed, check=False)
    assert unchecked != layout and snr_unchecked < snr - 3.0


@pytest.mark.parametrize("layout", ["3x4+II", "6x2", "3x4+3"])
def test_a_standard_page_keeps_its_layout(layout: str) -> None:
    got, snr, meta = _read(layout, 100, check=True)
    scores = meta["layout_check_db"]
    assert got == layout and snr > 15.0
    assert len(scores) >= 2 and all(scores[layout] > v + 10 for k, v in scores.items() if k != layout)
