"""Classical digitizer, rows and layout (:mod:`ecgdl.classical.layout`): rows of trace, the layout they make
and its lead segments."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.gridremoval import extract_ink
from ecgdl.classical.layout import build_segments, choose_layout, find_rows, follow_stroke, isoelectric_level
from ecgdl.classical.page import RowBand
from tests.unit.classical.pages import draw_curve, draw_spiky_rows, fast_record, snr_db


def test_rows_and_layout_from_drawn_traces() -> None:
    page = np.full((900, 1200, 3), 255, np.uint8)
    page[20:40, 50:400] = 0  # a block of header "text" is not a row
    xs = np.arange(80, 1150, 0.5)
    for k, base in enumerate((200, 400, 600, 800)):
        spikes = sum(np.exp(-0.5 * ((xs - c) / 3.0) ** 2) for c in np.arange(120 + 10 * k, 1150, 160))
        draw_curve(page, xs, base - 60 * spikes - 2 * np.sin(xs / 25))
    ink = extract_ink(page, px_per_mm=6.0)
    rows = find_rows(ink.mask, 6.0)
    assert np.allclose([r.baseline_y_px for r in rows], [200, 400, 600, 800], atol=4)
    assert all(abs(r.x_start_px - 80) < 4 and abs(r.x_end_px - 1150) < 4 for r in rows)
    name, used = choose_layout(rows, ink.mask, 6.0)
    assert name == "3x4+II" and len(used) == 4
    assert choose_layout(rows[:3], ink.mask, 6.0)[0] == "3x4"
    with pytest.raises(ValueError, match="at least 3"):
        choose_layout(rows[:2], ink.mask, 6.0)


def test_a_straight_page_edge_wider_than_the_rows_is_not_a_row_but_a_widened_trace_is() -> None:
    # a photographed screen: the page's lower edge against the dark bezel, straightened by the rectification,
    # leaves a straight line of ink that is the strongest "row" and runs wider than the rows of trace; a rhythm
    # strip whose ink runs on into something beside its end is wider too, but it is a trace (its beats leave the
    # zero line)
    ppm = 6.0
    page = np.full((1100, 1400, 3), 255, np.uint8)
    draw_spiky_rows(page, (200, 400, 600, 800))
    mask = page.min(axis=2) < 128
    edge = mask.copy()
    edge[1000:1004, 40:1370] = True  # one row pitch below the last row: the spacing alone does not drop it
    assert len(find_rows(edge, ppm, max_rel_extent=100.0)) == 5  # what the rule removes
    rows = find_rows(edge, ppm)
    assert np.allclose([r.baseline_y_px for r in rows], [200, 400, 600, 800], atol=4)
    assert choose_layout(rows, edge, ppm)[0] == "3x4+II"
    tail = np.arange(1250, 1390, 0.5)
    draw_curve(page, tail, 800 - 2 * np.sin(tail / 25))  # ink beside the rhythm strip's end
    rows = find_rows(page.min(axis=2) < 128, ppm)
    assert np.allclose([r.baseline_y_px for r in rows], [200, 400, 600, 800], atol=4)
    assert rows[-1].x_end_px - rows[-1].x_start_px > 1.1 * (rows[0].x_end_px - rows[0].x_start_px)


def test_a_trace_broken_by_a_wide_gap_stays_a_row_beside_rows_joined_by_bars() -> None:
    # three rows drawn as one unbroken stroke each (separator bars join their leads), the rhythm row broken by a
    # 6-mm gap in its middle (its longest stretch is under half the others'), and a line of "text"
    ppm = 6.0
    page = np.full((900, 1200, 3), 255, np.uint8)
    xs = np.arange(80, 1150, 0.5)
    for base in (200, 400, 600, 800):
        ys = base - 3 * np.sin(xs / 25)
        keep = ~((xs > 597) & (xs < 633)) if base == 800 else np.ones(xs.size, bool)
        for part in np.split(np.flatnonzero(keep), np.flatnonzero(np.diff(np.flatnonzero(keep)) > 1) + 1):
            draw_curve(page, xs[part], ys[part])
    for x in range(80, 700, 45):  # words of a text line: 4-mm blocks 3.5 mm apart
        page[870:880, x : x + 24] = 0
    ink = extract_ink(page, px_per_mm=ppm)
    rows = find_rows(ink.mask, ppm)
    assert np.allclose([r.baseline_y_px for r in rows], [200, 400, 600, 800], atol=4)
    assert abs(rows[-1].x_start_px - 80) < 4 and abs(rows[-1].x_end_px - 1150) < 4


def test_a_rhythm_strip_that_shading_broke_into_its_beats_stays_a_row() -> None:
    # three rows drawn as one unbroken stroke each, the rhythm row only in pieces (a photo's shading took its
    # faint flat stretches away): long pieces at both ends and in the middle, short ones (beats) between them,
    # 4-mm gaps; its longest piece is under half the others' and no long piece lies next to another
    ppm = 6.0
    page = np.full((900, 1200, 3), 255, np.uint8)
    xs = np.arange(80, 1150, 0.5)
    for base in (200, 400, 600):
        draw_curve(page, xs, base - 3 * np.sin(xs / 25))
    pieces = [(80, 400), (424, 440), (464, 474), (498, 520), (544, 620), (644, 656), (680, 692), (716, 1150)]
    for a, b in pieces:
        part = (xs >= a) & (xs <= b)
        draw_curve(page, xs[part], 800 - 3 * np.sin(xs[part] / 25))
    mask = extract_ink(page, px_per_mm=ppm).mask
    rows = find_rows(mask, ppm)
    assert np.allclose([r.baseline_y_px for r in rows], [200, 400, 600, 800], atol=4)
    assert abs(rows[-1].x_start_px - 80) < 4 and abs(rows[-1].x_end_px - 1150) < 4
    assert choose_layout(rows, mask, ppm)[0] == "3x4+II"


def test_a_row_ending_on_a_steep_wave_is_followed_to_its_last_column() -> None:
    # a wavy row whose last 3 mm climb 100 px: the climb leaves the band of +-72 px (0.4 of the pitch, capped at
    # 30 mm) around the zero line 5 px before the row's end; the ink that continues it is followed there, a
    # blob beside it in the row's wider band (touching nothing) is not
    ppm = 6.0
    page = np.full((600, 900, 3), 255, np.uint8)
    xs = np.arange(80, 801, 0.5)
    for base in (150, 400):
        draw_curve(page, xs, base - 3 * np.sin(xs / 25) - np.where(xs > 782, 100.0 * (xs - 782) / 18.0, 0.0))
    page[250:254, 803:809] = 0
    ink = extract_ink(page, px_per_mm=ppm)
    narrow = find_rows(ink.mask, ppm, follow_mm=0)
    rows = find_rows(ink.mask, ppm)
    assert [r.x_end_px < 797 for r in narrow] == [True, True]
    assert [abs(r.x_end_px - 801) <= 1 for r in rows] == [True, True]  # the stroke's cap reaches 802
    assert all(abs(r.x_start_px - 80) <= 1 for r in rows)
    # follow_stroke stops at the last column with connected ink, or after max_px columns
    assert follow_stroke(ink.mask, 790, (328, 472), (229, 571), +1, 5) == 795
    assert follow_stroke(ink.mask, 790, (328, 472), (229, 571), +1, 50) in (801, 802)
    assert follow_stroke(ink.mask, 400, (328, 472), (229, 571), -1, 50) == 350


def test_a_row_split_by_a_wandering_zero_line_is_one_row() -> None:
    from ecgdl.classical.layout import _merge_split_rows

    prof = np.zeros(1200)
    prof[[100, 400, 690, 730, 1000]] = [5.0, 6.0, 3.0, 2.0, 6.0]
    assert _merge_split_rows([100, 400, 690, 730, 1000], prof) == [100, 400, 706, 1000]
    assert _merge_split_rows([100, 400, 700, 1000], prof) == [100, 400, 700, 1000]


def test_segments_follow_the_kaggle_convention() -> None:
    rows = [RowBand(200.0 + 280 * k, 78.74, 78.74 + 1968.5, 1.0) for k in range(4)]
    segs = build_segments("3x4+II", rows, 196.85, 10.0, 1700)
    assert [s.lead for s in segs[:4]] == ["I", "aVR", "V1", "V4"]
    assert segs[1].t0_s == 2.5 and segs[1].x0_px == pytest.approx(78.74 + 492.125)
    assert segs[-1].lead == "II" and segs[-1].duration_s == pytest.approx(10.0)
    assert isoelectric_level(np.r_[np.full(50, 101.0), np.linspace(60, 140, 20)]) == pytest.approx(
        101.0, abs=0.3
    )


@pytest.mark.parametrize(
    ("cfg_kw", "min_db"),
    [
        # 12 rows 15 mm apart at 100 dpi (was read as 3x4+3)
        (dict(layout="12x1", dpi=100.0, pulse="end", grid_colour="grey"), 15.0),
        # gain 20: rows overlap and their zero lines wander (was read as 3x4+II)
        (dict(layout="3x4+3", dpi=300.0, gain_mm_per_mv=20.0, pulse="start"), 15.0),
    ],
)
def test_digitizer_finds_every_row_of_a_fast_rhythm(cfg_kw: dict, min_db: float) -> None:
    from ecgdl.render import RenderConfig, render_ecg

    rec = fast_record()
    cfg = RenderConfig(**cfg_kw)
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["layout"] == cfg.layout
    assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= min_db
