"""Classical digitizer, tracing a row through the ink (:mod:`ecgdl.classical.trace`): column runs, sub-pixel
lines, peaks, gaps and neighbouring rows."""

from __future__ import annotations

import numpy as np

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.gridremoval import extract_ink
from ecgdl.classical.trace import column_runs, extract_row_trace, touching_columns
from ecgdl.signals.record import EcgRecord
from tests.unit.classical.pages import draw_curve, grid_page, snr_db


def test_column_runs_by_hand() -> None:
    # column 0: runs rows 1-2 and 5; column 1: none; column 2: rows 0-6 (touching both edges); column 3: row 6
    m = np.zeros((7, 4), bool)
    m[1:3, 0] = m[5, 0] = True
    m[:, 2] = True
    m[6, 3] = True
    w = np.zeros((7, 4), np.float32)
    w[0:4, 0] = [0.5, 1.0, 1.0, 0.25]  # rims at rows 0 and 3 count
    w[5, 0] = 0.8
    w[:, 2] = 1.0
    w[5:7, 3] = [0.5, 1.0]
    flag = np.zeros((7, 4), bool)
    flag[0, 0] = flag[2, 0] = True  # row 0 is a rim of the first run: only row 2 counts for it
    runs = column_runs(m, w, flag)
    assert runs.col.tolist() == [0, 0, 2, 3]
    assert runs.top.tolist() == [1, 5, 0, 6]
    assert runs.bottom.tolist() == [2, 5, 6, 6]
    assert runs.starts.tolist() == [0, 2, 2, 3, 4]
    assert np.allclose(runs.mass, [2.75, 0.8, 7.0, 1.5])
    assert np.allclose(runs.centroid, [(1 + 2 + 0.75) / 2.75, 5.0, 3.0, (2.5 + 6) / 1.5])
    assert np.allclose(runs.flagged, [0.5, 0.0, 0.0, 0.0])
    # rims: 0.5 above the first run moves its upper edge up by half a pixel; 0.25 below moves the lower one down
    assert np.allclose(runs.top_edge[0], 0.0) and np.allclose(runs.bottom_edge[0], 2.75)
    assert np.allclose(runs.top_edge[2], -0.5) and np.allclose(runs.bottom_edge[2], 6.5)
    empty = column_runs(np.zeros((5, 3), bool), np.ones((5, 3)))
    assert empty.col.size == 0 and empty.starts.tolist() == [0, 0, 0, 0]


def test_trace_of_a_sine_within_half_a_pixel() -> None:
    page = grid_page(900, 400)
    xs = np.arange(40, 860, 0.25)
    ys = 200 + 35 * np.sin(xs / 45.0) + 10 * np.sin(xs / 9.0)
    draw_curve(page, xs, ys, thickness=2)
    ink = extract_ink(page, px_per_mm=7.874)
    tr = extract_row_trace(ink.mask, ink.weight, 60, 840, 200.0, 100, 300)
    truth = np.interp(tr.x, xs, ys)
    err = tr.y - truth
    assert np.sqrt(np.mean(err**2)) < 0.5
    assert tr.gap_fraction == 0.0


def test_trace_keeps_a_sharp_peak_and_bridges_a_gap() -> None:
    page = np.full((400, 600, 3), 255, np.uint8)
    xs = np.arange(20, 580, 0.25)
    ys = 250 - 150 * np.exp(-0.5 * ((xs - 300) / 3.0) ** 2)
    draw_curve(page, xs, ys, thickness=2)
    page[:, 150:156] = 255  # a break in the line
    ink = extract_ink(page, px_per_mm=7.874)
    tr = extract_row_trace(ink.mask, ink.weight, 25, 575, 250.0, 50, 350)
    assert abs(tr.y.min() - ys.min()) < 2.0  # the tip survives
    assert tr.gap_fraction > 0
    assert np.isfinite(tr.y_at(np.array([152.0]))).all() and abs(tr.y_at(np.array([152.0]))[0] - 250) < 1.5


def test_trace_follows_its_own_row_when_another_comes_close() -> None:
    page = np.full((500, 600, 3), 255, np.uint8)
    xs = np.arange(20, 580, 0.25)
    own = 300 + 8 * np.sin(xs / 20)
    other = 180 + 100 * np.exp(-0.5 * ((xs - 300) / 4.0) ** 2)  # the row above dips down to ours
    draw_curve(page, xs, own)
    draw_curve(page, xs, other)
    ink = extract_ink(page, px_per_mm=7.874)
    tr = extract_row_trace(ink.mask, ink.weight, 25, 575, 300.0, 190, 480, other_baselines=(180.0,))
    assert np.abs(tr.y - np.interp(tr.x, xs, own)).max() < 8.0


def test_trace_reaches_a_deep_wave_whose_tip_lies_on_the_next_rows_zero_line() -> None:
    page = np.full((400, 600, 3), 255, np.uint8)
    xs = np.arange(20, 580, 0.25)
    own = (
        100 + 3 * np.sin(xs / 15) + 100 * np.exp(-0.5 * ((xs - 300) / 6.0) ** 2)
    )  # a deep S wave: tip at 200
    draw_curve(page, xs, own)
    draw_curve(page, xs, 200 + 3 * np.sin(xs / 17 + 1))  # the next row
    ink = extract_ink(page, px_per_mm=7.874)
    # the usual band stops 95 % of the way to the next row (y 195): the tip is outside it
    kw = dict(other_baselines=(200.0,), foreign_cost=0.0)  # as the digitizer calls it
    plain = extract_row_trace(ink.mask, ink.weight, 25, 575, 100.0, 5, 195, **kw)
    wide = extract_row_trace(ink.mask, ink.weight, 25, 575, 100.0, 5, 195, ext_lo=0, ext_hi=205, **kw)
    assert plain.y.max() < 196
    assert abs(wide.y.max() - own.max()) < 2.0
    flat = np.abs(wide.x - 300) > 40
    assert np.abs(wide.y[flat] - np.interp(wide.x[flat], xs, own)).max() < 1.5  # the next row is not taken


def _kissing_rows() -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Two rows whose waves meet: the upper one's deep S (zero line 120) comes down to 200 while the lower one's
    tall R (zero line 280) rises to 206, 3 px later; 6-px strokes merge into one run of ink there."""
    page = np.full((420, 600, 3), 255, np.uint8)
    xs = np.arange(20, 580, 0.25)
    upper = 120 + 80 * np.exp(-0.5 * ((xs - 300) / 4.0) ** 2) + 3 * np.sin(xs / 15)
    lower = 280 - 74 * np.exp(-0.5 * ((xs - 303) / 4.0) ** 2) + 3 * np.sin(xs / 17 + 1)
    draw_curve(page, xs, upper, thickness=6)
    draw_curve(page, xs, lower, thickness=6)
    ink = extract_ink(page, px_per_mm=7.874)
    return {"mask": ink.mask, "weight": ink.weight}, xs, upper, lower


def _trace_both(ink: dict, touch: np.ndarray | None = None):
    kw = dict(foreign_cost=0.0)
    upper = extract_row_trace(
        ink["mask"],
        ink["weight"],
        25,
        575,
        120.0,
        0,
        272,
        other_baselines=(280.0,),
        touch_below_x=touch,
        **kw,
    )
    lower = extract_row_trace(
        ink["mask"],
        ink["weight"],
        25,
        575,
        280.0,
        128,
        420,
        other_baselines=(120.0,),
        touch_above_x=touch,
        **kw,
    )
    return upper, lower


def test_rows_whose_waves_meet_are_read_from_their_own_edges() -> None:
    ink, xs, upper, lower = _kissing_rows()
    plain_up, plain_lo = _trace_both(ink)
    cols = touching_columns(plain_up, plain_lo, max_stretch=20)
    assert cols.size and np.all(np.abs(cols - 301) < 8)  # one short stretch where the waves meet
    assert touching_columns(plain_up, plain_lo, max_stretch=cols.size - 1).size == 0  # longer ones are left
    near = np.abs(xs - 301) < 12
    # without the hint each row reads the merged run's far side: 58 / 63 px past the true extremes
    assert plain_up.y[np.abs(plain_up.x - 301) < 12].max() - upper[near].max() > 20
    assert lower[near].min() - plain_lo.y[np.abs(plain_lo.x - 301) < 12].min() > 20
    up, lo = _trace_both(ink, cols)
    assert abs(up.y[np.abs(up.x - 301) < 12].max() - upper[near].max()) < 3.0  # measured 0.1
    assert abs(lo.y[np.abs(lo.x - 301) < 12].min() - lower[near].min()) < 3.0  # measured 0.4
    far = np.abs(up.x - 301) > 30
    assert np.array_equal(up.x, plain_up.x) and np.array_equal(
        up.y[far], plain_up.y[far]
    )  # nothing else moves


def test_a_narrow_r_before_a_deep_s_keeps_its_tip() -> None:
    # An R 16 ms wide followed by an S: at the R one run holds both strokes, and the run's middle is not above
    # its neighbours' where the strokes differ in length; the run's sub-pixel top still is (14.2 dB before).
    from ecgdl.render import RenderConfig, render_ecg

    fs, t = 500.0, np.arange(5000) / 500.0
    w = 0.008
    beat = sum(
        np.exp(-0.5 * ((t - tb) / w) ** 2)
        - 0.5 * np.exp(-0.5 * ((t - tb - 2.6 * w) / (1.2 * w)) ** 2)
        + 0.25 * np.exp(-0.5 * ((t - tb - 0.25) / 0.04) ** 2)
        for tb in np.arange(0.4, 10, 0.9)
    )
    sig = np.stack([(0.6 + 0.1 * j) * beat * (1 if j % 4 else -1) for j in range(12)], axis=1)
    rec = EcgRecord(sig, fs, "rs")
    img, truth = render_ecg(rec, RenderConfig(dpi=300.0, line_width_mm=0.3), np.random.default_rng(0))
    out = ClassicalDigitizer(touch_max_s=0).digitize(img, fs, rec.n_samples)
    assert snr_db(truth.record.signal_mv, out.signal_mv, fs) > 15.3  # measured 16.1
