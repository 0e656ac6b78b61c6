"""Pages that are not clean renders: a page on a dark background, a grid drawn on whole pixels, rows between
a header and a footer, pulses a noisy trace hid on some rows."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.classical import layout
from ecgdl.classical.calibration import estimate_grid, estimate_period
from ecgdl.classical.gridremoval import _percentile_valid
from ecgdl.classical.homography import Rectification, rotation_homography
from ecgdl.classical.layout import find_rows
from ecgdl.classical.page import Pulse, RowBand
from ecgdl.classical.paper import blank_background, paper_mask, warp_mask
from ecgdl.classical.scales import pulses_on_every_row

from .pages import draw_curve, draw_spiky_rows, grid_page


def _page_on_a_table(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A grid page (1000 x 1500) in a dark, noisy 1200 x 1700 picture, 200 px in from the left and 100 px
    from the top, running out of frame on the right; and the truth mask of the paper."""
    pic = rng.integers(0, 60, size=(1200, 1700, 3)).astype(np.uint8)
    pic[100:1100, 200:1700] = grid_page(1500, 1000, paper=235)
    truth = np.zeros((1200, 1700), bool)
    truth[100:1100, 200:1700] = True
    return pic, truth


def test_the_paper_on_a_dark_background_is_found_and_the_background_painted_out() -> None:
    rng = np.random.default_rng(3)
    pic, truth = _page_on_a_table(rng)
    mask = paper_mask(pic)
    assert mask is not None
    # the mask gives up a margin of one downscaled pixel (about 3 px here) at the page's edge, no more
    assert (mask & ~truth).sum() == 0
    assert (truth & ~mask).sum() < 0.02 * truth.sum()
    blank = blank_background(pic, mask)
    assert np.array_equal(blank[mask], pic[mask])  # the page itself untouched
    outside = blank[~mask]
    assert outside.std(axis=0).max() == 0  # one colour outside: the paper's
    assert outside[0].min() >= 200  # the paper's light colour, not the grid's or the table's


def test_a_picture_that_is_all_page_has_no_background() -> None:
    page = grid_page(1400, 1000)
    assert paper_mask(page) is None
    assert blank_background(page, None) is page
    # dark ink touching the border (a trace running off the page) is not a background either
    draw_curve(page, np.arange(0, 1400, 0.5), 500 + 30 * np.sin(np.arange(0, 1400, 0.5) / 40), thickness=3)
    assert paper_mask(page) is None


def test_the_paper_mask_follows_the_rectification() -> None:
    mask = np.zeros((400, 600), bool)
    mask[50:350, 100:500] = True
    H, size = rotation_homography(5.0, (600, 400))
    rect = Rectification(H, size, 5.0, 5.0, identity=False)
    warped = warp_mask(mask, rect)
    assert warped.shape == (size[1], size[0])
    assert abs(int(warped.sum()) - int(mask.sum())) < 0.02 * mask.sum()  # a rotation keeps the area
    assert warp_mask(None, rect) is None


def test_a_grid_drawn_on_whole_pixels_is_read_at_its_minor_period() -> None:
    # 7.874 px lines drawn on whole pixels repeat their pattern every 8 lines (63 px); that comb's many
    # harmonics explain every small peak, and with no fundamental of its own it was read as 12.6 px/mm
    n = 2200
    for seed in range(3):
        rng = np.random.default_rng(seed)
        profile = 60.0 + rng.normal(0.0, 2.0, n)
        profile[np.floor(np.arange(3.2, n - 2, 7.874)).astype(int)] += 150.0
        found = estimate_period(profile, prior_px_per_mm=n / 280)
        assert found is not None and found.px_per_mm == pytest.approx(7.874, rel=0.002)
        # the share is what does it: without it the 63-px comb wins
        without = estimate_period(profile, prior_px_per_mm=n / 280, min_fundamental_share=0.0)
        assert without is not None and abs(without.px_per_mm - 7.874) > 1.0


def test_the_grid_of_a_page_on_a_painted_background_keeps_its_scale() -> None:
    rng = np.random.default_rng(4)
    pic, _ = _page_on_a_table(rng)
    cal = estimate_grid(blank_background(pic, paper_mask(pic)))
    assert cal.found
    assert cal.px_per_mm == pytest.approx(7.874, rel=0.01)


def test_floors_over_the_paper_only_match_a_percentile_of_the_paper_pixels() -> None:
    rng = np.random.default_rng(5)
    values = rng.random((40, 30)).astype(np.float32)
    valid = rng.random((40, 30)) > 0.4
    valid[:, 7] = False  # a column with no paper at all
    got = _percentile_valid(values, valid, 30.0, 0)
    for j in range(30):
        want = np.percentile(values[valid[:, j], j], 30.0) if valid[:, j].any() else 0.0
        assert got[j] == pytest.approx(want, abs=1e-6)
    assert np.allclose(_percentile_valid(values, None, 30.0, 1), np.percentile(values, 30.0, axis=1))


def test_rows_off_the_pages_pitch_and_on_its_edge_are_not_rows_of_trace(monkeypatch) -> None:
    ppm = 6.0
    page = np.full((1100, 1400, 3), 255, np.uint8)
    xs = draw_spiky_rows(page, (300, 500, 700, 900))
    # a dark rim along the picture's top edge, and a fold's shadow half a pitch under the last row (as long
    # and as strong as a row of trace)
    page[0:4, 150:1250] = 0
    draw_curve(page, xs, 1000 - 4 * np.sin(xs / 60), thickness=3)
    mask = page.min(axis=2) < 128
    rows = find_rows(mask, ppm)
    assert np.allclose([r.baseline_y_px for r in rows], [300, 500, 700, 900], atol=4)
    # what the two rules remove
    monkeypatch.setattr(layout, "_evenly_spaced", lambda rows: rows)
    assert len(find_rows(mask, ppm)) == 5  # the fold
    assert len(find_rows(mask, ppm, edge_mm=0.0)) == 6  # and the rim


def _pulse(foot: float, x_rise: float) -> Pulse:
    return Pulse("start", x_rise - 2, x_rise, x_rise + 39.4, x_rise + 42, foot, foot - 78.7)


def test_a_pulse_a_row_hid_is_filled_in_from_the_others() -> None:
    rows = [RowBand(y, 80.0, 2080.0, 1.0) for y in (700.0, 990.0, 1270.0, 1530.0)]
    found = {1: [_pulse(990.0, 79.0)], 2: [_pulse(1270.0, 80.0)]}
    out = pulses_on_every_row(found, rows, 7.874)
    assert sorted(out) == [0, 1, 2, 3]
    for i in (0, 3):
        (p,) = out[i]
        assert p.foot_y_px == rows[i].baseline_y_px
        assert p.height_px == pytest.approx(78.7)
        assert p.x_fall_px == pytest.approx(out[1][0].x_fall_px, abs=1.5)
    assert out[1] == found[1]  # what was found stays


def test_no_pulse_is_made_up_where_the_row_starts_elsewhere_or_only_one_row_shows_one() -> None:
    rows = [RowBand(y, 80.0, 2080.0, 1.0) for y in (700.0, 990.0, 1270.0)]
    rows[0] = RowBand(700.0, 200.0, 2080.0, 1.0)  # this row's ink starts 15 mm further right
    found = {1: [_pulse(990.0, 79.0)], 2: [_pulse(1270.0, 80.0)]}
    assert sorted(pulses_on_every_row(found, rows, 7.874)) == [1, 2]
    assert sorted(pulses_on_every_row({1: found[1]}, rows, 7.874)) == [1]


def test_a_row_whose_ink_runs_on_before_the_pulses_takes_theirs() -> None:
    # a crease's shading joins row 0's ink to the page's edge (x = 0), 10 mm before the others' pulses; an end
    # pulse likewise for a row whose ink runs on past the others' end pulses
    rows = [RowBand(y, 80.0, 2080.0, 1.0) for y in (700.0, 990.0, 1270.0)]
    rows[0] = RowBand(700.0, 0.0, 2080.0, 1.0)
    found = {1: [_pulse(990.0, 79.0)], 2: [_pulse(1270.0, 80.0)]}
    out = pulses_on_every_row(found, rows, 7.874)
    assert sorted(out) == [0, 1, 2] and out[0][0].foot_y_px == 700.0
    ends = {
        i: [Pulse("end", 2040.0, 2001.0, 2040.0, 2042.0, y, y - 78.7)] for i, y in ((1, 990.0), (2, 1270.0))
    }
    rows[0] = RowBand(700.0, 80.0, 2199.0, 1.0)
    assert sorted(pulses_on_every_row(ends, rows, 7.874)) == [0, 1, 2]


def test_rows_that_begin_at_a_pulse_are_cut_to_the_recording() -> None:
    from ecgdl.classical.rows import fit_to_recording

    width = 1968.0  # 10 s at 25 mm/s and 7.874 px/mm, first to last sample
    rows = [RowBand(700.0 + 290.0 * k, 118.0, 2121.0, 1.0) for k in range(5)]  # 1.8 % too wide
    rows[3] = RowBand(1570.0, 118.0, 2100.0, 1.0)  # 0.7 % too wide: measured ends, kept
    rows[4] = RowBand(1860.0, 118.0, 2400.0, 1.0)  # 16 % too wide: not noise at the end, kept
    pulses = {
        0: [_pulse(700.0, 40.0)],
        1: [Pulse("end", 2080.0, 2081.0, 2120.0, 2122.0, 990.0, 911.3)],
        2: [_pulse(1280.0, 40.0), Pulse("end", 2080.0, 2081.0, 2120.0, 2122.0, 1280.0, 1201.3)],
        3: [_pulse(1570.0, 40.0)],
        4: [_pulse(1860.0, 40.0)],
    }
    out = fit_to_recording(rows, pulses, width)
    assert (out[0].x_start_px, out[0].x_end_px) == (118.0, 118.0 + width)  # the start trusted
    assert (out[1].x_start_px, out[1].x_end_px) == (2121.0 - width, 2121.0)  # the end trusted
    assert out[2:] == rows[2:]  # pulses at both ends; within the tolerance; far beyond it
    assert fit_to_recording(rows, {}, width) == rows  # no pulse: nothing tells which end to trust


def test_a_learned_veto_drops_colour_ink_away_from_the_trace_it_marks() -> None:
    from ecgdl.classical.ink import page_ink_map

    ppm = 7.874
    page = grid_page(1000, 600)
    xs = np.arange(100, 900, 0.5)
    draw_curve(page, xs, 300 + 40 * np.sin(xs / 30))
    page[450:520, 200:420] = (60, 60, 60)  # a dark blot of shading the colours take for ink
    plain = page_ink_map(page, ppm, None)
    assert plain.mask[450:520, 200:420].mean() > 0.5
    prob = np.zeros(page.shape[:2], np.float32)
    prob[np.round(300 + 40 * np.sin(xs / 30)).astype(int), xs.astype(int)] = 1.0  # where the trace runs
    vetoed = page_ink_map(page, ppm, None, prob, prob_mode="veto")
    assert not vetoed.mask[450:520, 200:420].any() and vetoed.weight[450:520, 200:420].max() == 0
    on_trace = plain.mask[250:350, 100:900]
    assert (
        vetoed.mask[250:350, 100:900] == on_trace
    ).mean() > 0.999  # the trace's own pixels, as the colours say
    assert np.array_equal(vetoed.weight[250:350, 100:900][on_trace], plain.weight[250:350, 100:900][on_trace])
