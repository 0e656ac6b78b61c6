"""Classical digitizer, scales and pulses (:mod:`ecgdl.classical.pulse`, :mod:`~ecgdl.classical.scales`):
pulse detection on a traced line, speed and gain from the pulses of a page, pulse edges left out of the leads,
a grid the pulses reject."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.calibration import GridCalibration, estimate_grid
from ecgdl.classical.gridremoval import extract_ink
from ecgdl.classical.page import Pulse, RowBand
from ecgdl.classical.pulse import detect_pulse, gain_from_pulse, speed_from_pulse
from ecgdl.classical.scales import ScaleRules, page_scales
from ecgdl.classical.trace import extract_row_trace
from ecgdl.constants import LEADS
from ecgdl.signals.record import EcgRecord
from tests.unit.classical.pages import draw_curve, fast_record, plain_record, snr_db, wandering_record


def test_pulse_gives_gain_and_speed() -> None:
    ppm = 7.874
    page = np.full((400, 700, 3), 255, np.uint8)
    base, x0 = 250.0, 40.0
    px_mv, px_s = 20 * ppm, 50 * ppm  # 20 mm/mV, 50 mm/s
    pulse = [(x0, base), (x0 + 0.04 * px_s, base), (x0 + 0.04 * px_s, base - px_mv)]
    pulse += [(x0 + 0.24 * px_s, base - px_mv), (x0 + 0.24 * px_s, base), (x0 + 0.28 * px_s, base)]
    p = np.array(pulse)
    draw_curve(page, p[:, 0], p[:, 1])
    xs = np.arange(x0 + 0.28 * px_s + 16, 680, 0.5)
    draw_curve(page, xs, base - 10 * np.sin(xs / 15))
    ink = extract_ink(page, px_per_mm=ppm)
    tr = extract_row_trace(ink.mask, ink.weight, 30, 690, base, 20, 390)
    found = detect_pulse(tr.col_x, tr.col_y, ppm, ppm, top=tr.col_top, bottom=tr.col_bottom, stroke_px=3)
    assert found is not None
    assert gain_from_pulse(found, ppm) == 20.0
    assert speed_from_pulse(found, ppm) == 50.0
    assert abs(found.height_px - px_mv) < 3


def test_no_pulse_on_a_plain_trace() -> None:
    page = np.full((300, 600, 3), 255, np.uint8)
    xs = np.arange(20, 580, 0.5)
    draw_curve(page, xs, 150 - 60 * np.exp(-0.5 * ((xs - 100) / 3) ** 2) + 5 * np.sin(xs / 30))
    ink = extract_ink(page, px_per_mm=7.874)
    tr = extract_row_trace(ink.mask, ink.weight, 20, 580, 150, 20, 280)
    assert detect_pulse(tr.col_x, tr.col_y, 7.874, 7.874, top=tr.col_top, bottom=tr.col_bottom) is None
    assert detect_pulse(tr.col_x, tr.col_y, 7.874, 7.874, side="end") is None


def test_pulse_whose_flat_top_outnumbers_the_zero_line() -> None:
    # 50 mm/s, end pulse: the pulse's 10 mm flat top is the most common level of the searched trace; the zero
    # line (a wavy signal) is the next most common one, below it.
    ppm = 7.874
    rng = np.random.default_rng(1)
    x = np.arange(0, 400, dtype=np.float64)
    y = 300.0 + np.round(rng.normal(0, 1.2, x.size))
    y[::40] -= 25  # QRS-like spikes
    top = 300.0 - 10 * ppm
    rise, fall = 300, 300 + round(10 * ppm)
    y[rise:fall] = top
    y[fall:] = np.nan  # nothing after the pulse
    found = detect_pulse(x, y, ppm, ppm, side="end", search_mm=30.0)
    assert found is not None and found.side == "end"
    assert gain_from_pulse(found, ppm) == 10.0
    assert speed_from_pulse(found, ppm) == 50.0


@pytest.mark.parametrize(
    ("cfg_kw", "min_db"),
    [
        # end pulse standing apart from the trace at 50 mm/s (the columns print only ~1.3 s of each 2.5 s window)
        (dict(speed_mm_per_s=50.0, pulse="end", grid_colour="red"), 20.0),
        (dict(speed_mm_per_s=50.0, gain_mm_per_mv=20.0, pulse="end", grid_colour="green"), 8.0),
        # start pulse at 150 dpi, gain 20: its flat top is longer than any stretch of zero line nearby
        (dict(layout="6x2", dpi=150.0, gain_mm_per_mv=20.0, pulse="start", grid_colour="green"), None),
    ],
)
def test_digitizer_reads_speed_and_gain_from_the_pulse(cfg_kw: dict, min_db: float | None) -> None:
    from ecgdl.render import RenderConfig, render_ecg

    rec = wandering_record()
    cfg = RenderConfig(**cfg_kw)
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["n_pulses"] >= 3
    assert out.meta["speed_mm_per_s"] == cfg.speed_mm_per_s
    assert out.meta["gain_mm_per_mv"] == cfg.gain_mm_per_mv
    if min_db is not None:  # (gain-20 6x2 rows overlap so much that even the layout is not reliable yet)
        # the segment windows follow the detected speed: printed samples only
        printed = np.isfinite(truth.record.signal_mv).sum(0)
        assert (np.abs(np.isfinite(out.signal_mv).sum(0) - printed) <= 3).all()
        assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= min_db


def test_digitizer_without_grid_takes_its_scale_from_the_pulse() -> None:
    from ecgdl.render import RenderConfig, render_ecg

    rec = wandering_record()
    cfg = RenderConfig(dpi=150.0, speed_mm_per_s=50.0, pulse="end", grid_colour="none")
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    assert not estimate_grid(img).found  # traces and text alone are no grid
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["calibration"] == "pulse" and not out.meta["perspective"]
    seg = out.meta["segments"][0]
    assert abs(seg["px_per_s"] / (cfg.px_per_mm * 50.0) - 1) < 0.02
    assert abs(seg["px_per_mv"] / (cfg.px_per_mm * 10.0) - 1) < 0.03
    assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 20.0


def test_no_grid_time_scale_ignores_a_wave_running_into_the_pulse() -> None:
    """Without a grid px/s comes from the pulse widths alone; a lead that ends on a steep upstroke right at an
    end pulse inks the pulse's rising edge and widens it (0.4 % -> ~17 dB on this page): the narrower half of
    the widths, the clean ones, must set the time scale."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    cfg = RenderConfig(dpi=150.0, speed_mm_per_s=50.0, pulse="end", grid_colour="none")
    _, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    last = {}
    for p in truth.panels:
        if p.row not in last or p.col > last[p.row].col:
            last[p.row] = p
    sig = rec.signal_mv.copy()
    for r, p in last.items():
        if r % 2 == 0:  # rows 0 and 2 of 4: half the pulses touched
            j, k = LEADS.index(p.lead), p.end_sample
            sig[k - 4 : k, j] = np.linspace(sig[k - 4, j], sig[k - 4, j] + 0.7, 4)
    steep = EcgRecord(sig, rec.fs_hz, "steep-end")
    img, truth = render_ecg(steep, cfg, np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["calibration"] == "pulse"
    assert abs(out.meta["segments"][0]["px_per_s"] / (cfg.px_per_mm * 50.0) - 1) < 0.001
    assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 21.0


def test_pulse_with_thin_edges_straddling_pixel_columns_is_found() -> None:
    """A 1-px trace scanned at 90 %: the gain-20 pulses' vertical edges fall between pixel columns and each half
    misses the ink threshold; without them no pulse is found and the page is read at 10 mm/mV (half the
    amplitude). The pulse search looks again with such split strokes added."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    cfg = RenderConfig(dpi=200.0, gain_mm_per_mv=20.0, pulse="end", grid_colour="grey", line_width_mm=0.1)
    img, _ = render_ecg(rec, cfg, np.random.default_rng(0))
    img = cv2.resize(img, None, fx=0.9, fy=0.9, interpolation=cv2.INTER_LINEAR)
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["n_pulses"] >= 3
    assert out.meta["gain_mm_per_mv"] == 20.0
    assert abs(out.meta["segments"][0]["px_per_mv"] / (0.9 * cfg.px_per_mm * 20.0) - 1) < 0.03


def test_pulse_edge_points_are_dropped_only_where_they_read_the_edge() -> None:
    """By hand: an end pulse rising at x = 100 from its foot (y 180) to its top (y 100), stroke 2 px; the lead
    ends at x = 100.5. A last reading at the edge's centre (140) off the line of the readings before it goes; a
    steep wave running on along that line, or a reading beyond the foot, stays."""
    from ecgdl.classical.assembly import abutting_pulses, off_pulse_edges
    from ecgdl.classical.page import LeadSegment, Pulse
    from ecgdl.classical.trace import RowTrace

    stroke_px = 2.0
    seg = LeadSegment("V4", 0, 3, 7.5, 2.5, 0.0, 100.5, 180.0, 100, 260)
    pulse = Pulse("end", 99.0, 100.0, 140.0, 145.0, 180.0, 100.0)
    x = np.arange(90.0, 101.0)

    def kept(y: np.ndarray) -> np.ndarray:
        tr = RowTrace(x, y, x, y, y, y, stroke_px, 0.0)
        return off_pulse_edges(tr, abutting_pulses(seg, [pulse], stroke_px), stroke_px)[0]

    flat = np.full(x.size, 180.0)
    assert kept(np.r_[flat[:-1], 140.0]).tolist() == x[:-1].tolist()  # the edge's centre: dropped
    steep = 180.0 - 4.0 * (
        x - 90.0
    )  # an upstroke through the edge's centre, on the line of the readings before
    assert kept(steep).tolist() == x.tolist()
    assert kept(np.r_[flat[:-1], 200.0]).tolist() == x.tolist()  # below the foot: a wave, kept
    start = LeadSegment("I", 0, 0, 0.0, 2.5, 141.0, 600.0, 180.0, 100, 260)
    first = Pulse("start", 100.0, 100.0, 140.0, 141.0, 180.0, 100.0)
    xs = np.arange(140.0, 151.0)
    ys = np.r_[140.0, np.full(10, 180.0)]
    assert abutting_pulses(seg, [first], stroke_px) == [] and abutting_pulses(start, [pulse], stroke_px) == []
    tr = RowTrace(xs, ys, xs, ys, ys, ys, stroke_px, 0.0)
    got = off_pulse_edges(tr, abutting_pulses(start, [first], stroke_px), stroke_px)[0]
    assert got.tolist() == xs[1:].tolist()  # mirrored: the first column, on the falling edge, goes


@pytest.mark.parametrize("side", ["start", "end"])
@pytest.mark.parametrize("cfg_kw", [{}, {"dpi": 300.0, "gain_mm_per_mv": 5.0}])
def test_a_lead_abutting_a_pulse_does_not_read_its_edge(side: str, cfg_kw: dict, monkeypatch) -> None:
    """The renderer starts a row's signal 1.5 samples before a start pulse's falling edge, as ECG-Image-Kit does
    (and ends it one sample before an end pulse's rising edge): the column on that edge holds a run from the
    pulse's foot to its top, whose centre read as 0.4-0.5 mV. The lead's first (last) two samples must match the
    truth to within 0.02 mV (offset removed)."""
    from ecgdl.classical import assembly
    from ecgdl.render import RenderConfig, render_ecg

    rec = fast_record()
    img, truth = render_ecg(rec, RenderConfig(pulse=side, **cfg_kw), np.random.default_rng(0))
    errs = {}
    for fix in (True, False):
        dig = ClassicalDigitizer(limb_fit=False)
        with monkeypatch.context() as patch:
            if not fix:  # the same digitizer reading every traced point
                patch.setattr(assembly, "off_pulse_edges", lambda tr, abutting, stroke_px: (tr.x, tr.y))
            out = dig.digitize(img, rec.fs_hz, rec.n_samples)
        e = []
        for seg in out.meta["segments"]:
            if (seg["start_sample"] if side == "start" else seg["end_sample"]) not in (0, rec.n_samples):
                continue
            j = LEADS.index(seg["lead"])
            p = out.signal_mv[seg["start_sample"] : seg["end_sample"], j]
            t = truth.record.signal_mv[seg["start_sample"] : seg["end_sample"], j]
            ends = slice(0, 2) if side == "start" else slice(-2, None)
            e.append(np.abs(p[ends] - t[ends] - np.nanmedian(p - t)).max())
        errs[fix] = np.array(e)
    assert errs[True].size >= 3
    assert errs[True].max() < 0.02
    assert np.median(errs[False]) > 0.3  # mV: what the edge's centre read as


def test_a_pulse_of_no_standard_size_neither_sets_the_scales_nor_cuts_the_trace(monkeypatch) -> None:
    """A QRS tip read flat on a 100-dpi page once passed for a pulse: 1.7 mm tall and 0.8 mm wide it gives no
    standard gain or speed, and its presence kept the printed "20mm/mV" unread (the page was read at 10)."""
    from ecgdl.classical import digitizer
    from ecgdl.classical.page import Pulse
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    img, _ = render_ecg(rec, RenderConfig(gain_mm_per_mv=20.0, pulse="none"), np.random.default_rng(1))
    plain = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    find = digitizer.find_row_pulses

    def with_a_false_pulse(ink, thin, rows, *args, **kwargs):
        found, straight_cuts = find(ink, thin, rows, *args, **kwargs)
        r = rows[0]
        x, y = r.x_start_px, r.baseline_y_px
        found.setdefault(0, []).append(Pulse("start", x, x + 2.0, x + 8.0, x + 10.0, y, y - 13.0))
        return found, straight_cuts

    monkeypatch.setattr(digitizer, "find_row_pulses", with_a_false_pulse)
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert (out.meta["gain_mm_per_mv"], out.meta["speed_mm_per_s"]) == (20.0, 25.0)
    assert out.meta["calibration"] == "grid+print" and out.meta["n_pulses"] == 0
    assert np.array_equal(out.signal_mv, plain.signal_mv, equal_nan=True)  # the row is not cut either


def test_a_steady_rhythm_on_a_page_without_grid_is_not_taken_for_the_grid() -> None:
    # beats 0.85 s apart at 25 mm/s (21.25 mm) on a gridless page make a comb along x that reads as 5-mm grid
    # lines 4.25 mm apart; at that scale the end pulses have no standard speed, so the grid is rejected, the page
    # read again at the whole-page prior and scaled by the pulses found then (-0.02 dB before: sizes 4.25x off)
    from ecgdl.render import RenderConfig, render_ecg

    fs, t = 500.0, np.arange(5000) / 500.0
    beats = sum(np.exp(-0.5 * ((t - tb) / 0.012) ** 2) for tb in np.arange(0.3, 10, 0.85))
    sig = np.stack([(0.6 + 0.1 * j) * beats * (1 if j % 3 else -1) for j in range(12)], axis=1)
    rec = EcgRecord(sig, fs, "steady")
    img, truth = render_ecg(
        rec, RenderConfig(grid_colour="none", pulse="end", dpi=300.0), np.random.default_rng(0)
    )
    scaled = cv2.resize(img, (2200, 1700), interpolation=cv2.INTER_AREA)  # as the digitizer sees it
    fooled = estimate_grid(scaled)
    assert fooled.found and fooled.axes == "x" and fooled.px_per_mm_x > 4 * 7.874  # the trap is real
    out = ClassicalDigitizer().digitize(img, fs, rec.n_samples)
    assert out.meta["grid_found"] is False and out.meta["calibration"] == "pulse"
    assert out.meta["px_per_mm"] == pytest.approx(truth.px_per_mm, rel=0.02)
    assert snr_db(truth.record.signal_mv, out.signal_mv, fs) > 15.0  # measured 21.0


def _no_grid_scales(width_mm: float, height_mm: float, row_mm: float, ppm: float = 4.0):
    """page_scales of a page without a grid whose four rows each start with a pulse ``width_mm`` by
    ``height_mm`` and span ``row_mm``."""
    cal = GridCalibration(ppm, ppm, False, method="prior")
    rows = [RowBand(100.0 + 60 * r, 20.0, 20.0 + row_mm * ppm, 1000.0) for r in range(4)]
    pulses = {
        r: [
            Pulse(
                "start",
                20.0,
                24.0,
                24.0 + width_mm * ppm,
                40.0,
                row.baseline_y_px,
                row.baseline_y_px - height_mm * ppm,
            )
        ]
        for r, row in enumerate(rows)
    }
    return page_scales(cal, pulses, rows, 10.0, ScaleRules())


@pytest.mark.parametrize(("width_mm", "height_mm"), [(5.0, 10.0), (5.0, 20.0), (10.0, 10.0), (5.0, 5.0)])
def test_a_pulse_of_standard_aspect_gives_px_per_s_by_its_width(width_mm: float, height_mm: float) -> None:
    # 0.2 s at 25 or 50 mm/s and 5, 10 or 20 mm/mV: the width is 0.2 s whatever the gain
    scales = _no_grid_scales(width_mm, height_mm, row_mm=250.0)
    assert scales.method == "pulse"
    assert scales.px_per_s == pytest.approx(width_mm * 4.0 / 0.2)
    assert scales.px_per_mv == pytest.approx(height_mm * 4.0)


@pytest.mark.parametrize("pulse_s", [0.16, 0.12, 0.08])
def test_a_narrower_pulse_gives_px_per_s_by_its_height(pulse_s: float) -> None:
    # other machines' pulses last 0.07-0.2 s: 25 mm/s, 10 mm/mV, a pulse_s-wide pulse 10 mm high
    scales = _no_grid_scales(25.0 * pulse_s, 10.0, row_mm=250.0)
    assert scales.px_per_s == pytest.approx(25.0 * 4.0)  # 25 mm/s at 4 px/mm, not width / 0.2 s
    assert scales.px_per_mv == pytest.approx(40.0)


def test_rows_cannot_hold_more_than_the_recording() -> None:
    # a 2-mm pulse 8 mm high (aspect 0.25: 0.2 s at 20 mm/mV, by its look) on rows 250 mm long: read by its
    # width the rows would hold 25 s of a 10-s recording, so the rows set the scale
    scales = _no_grid_scales(2.0, 8.0, row_mm=250.0)
    assert scales.px_per_s == pytest.approx(250.0 * 4.0 / 10.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_pulses_broken_by_speckle_are_found_and_the_noise_before_them_is_not_read(seed: int) -> None:
    """A noisy photo of a thin-pen print: 35 % of the ink's pixels lost (the pulses' strokes fall apart into
    dots taken for text) and dark speckle over the page, dense in the margin left of the pulses (a crease's
    shading), which joins every row's ink to the page's edge. The pulses are found on the ink closed
    vertically, a row whose ink runs on before its neighbours' pulses takes their pulse, and the rows, cut to
    the recording's width at their ends, start where the signal does (before: no pulse, rows from x = 0,
    under 0 dB)."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    cfg = RenderConfig(dpi=200.0, pulse="start", left_mm=12.0, line_width_mm=0.2)
    rng = np.random.default_rng(seed)
    img, truth = render_ecg(rec, cfg, rng)
    page = img.astype(np.float32)
    h, w = page.shape[:2]
    page[(page.mean(axis=2) < 128) & (rng.random((h, w)) < 0.35)] = 235.0
    density = np.full((h, w), 0.03)
    density[:, : round(cfg.left_mm * cfg.px_per_mm)] = 0.15
    page[rng.random((h, w)) < density] *= 0.35
    out, geometry = ClassicalDigitizer().read_page(page.astype(np.uint8), rec.fs_hz, rec.n_samples)
    assert out.meta["n_pulses"] >= 3
    first_x = min(p.points_xy[0, 0] for p in truth.panels if p.col == 0)
    last_x = max(p.points_xy[-1, 0] for p in truth.panels)
    for row in geometry.rows:  # (a hole in the ink just past a pulse can pass for the blank gap after it)
        assert abs(row.x_start_px - first_x) < 2.0 * cfg.px_per_mm
        assert abs(row.x_end_px - last_x) < 1.0 * cfg.px_per_mm
    assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) > 6.0
