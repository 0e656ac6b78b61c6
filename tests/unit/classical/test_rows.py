"""Classical digitizer, where rows start and end (:mod:`ecgdl.classical.rows`): ends agreed between rows,
straight lead-ins, and each lead's first sample against where the renderer drew it."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.page import RowBand
from ecgdl.constants import LEADS
from ecgdl.signals.record import EcgRecord
from tests.unit.classical.pages import plain_record, snr_db


def test_a_row_cut_short_by_a_false_pulse_ends_with_the_others() -> None:
    from ecgdl.classical.rows import agree_row_ends

    rows = [RowBand(100.0 * k, 59.0 + 0.1 * k, 1043.2 - 0.2 * k, 1.0) for k in range(4)]
    rows[2] = RowBand(200.0, 59.05, 958.5, 1.0)  # a QRS tip taken for an end pulse
    out = agree_row_ends(rows, tol_px=4.0)
    assert out[2].x_end_px == pytest.approx(np.median([1043.2, 1043.0, 1042.6]))
    assert [r.x_end_px for i, r in enumerate(out) if i != 2] == [
        r.x_end_px for i, r in enumerate(rows) if i != 2
    ]
    assert [r.x_start_px for r in out] == [r.x_start_px for r in rows]  # all within the tolerance: kept
    # rows drifting down the page (a photo's residual skew; real_notruth 27-0001's row starts: the last is 5.3 px
    # from the others' median, under three times their 3.9-px spread), rows that differ widely, or fewer than three
    # rows: unchanged
    starts = (39.66, 37.12, 35.72, 31.83)
    skew = [RowBand(y, x, 1166.0, 1.0) for y, x in zip((78.0, 219.0, 366.0, 494.0), starts, strict=True)]
    assert agree_row_ends(skew, 4.31) == skew
    spread = [RowBand(100.0 * k, 59.0, 900.0 + 50 * k, 1.0) for k in range(4)]
    assert agree_row_ends(spread, 4.0) == spread
    assert agree_row_ends(rows[:2], 4.0) == rows[:2]


def test_the_last_column_of_a_row_ending_on_an_upstroke_starts_on_time() -> None:
    # 3x4+II at 50 mm/s and 20 mm/mV: each lead of the top row ends on a 1.8-mV upstroke that leaves the row's
    # band before its last sample; the row's end (and so its column width) was measured 6 px short, the last
    # column's start 4 px early (ad-hoc check on a synthetic page of the 20 mm/mV set)
    from ecgdl.render import RenderConfig, render_ecg

    fs = 500.0
    cfg = RenderConfig(speed_mm_per_s=50.0, gain_mm_per_mv=20.0)
    flat = EcgRecord(np.zeros((5000, 12)), fs, "flat")
    panels = {p.lead: p for p in render_ecg(flat, cfg, np.random.default_rng(0))[1].panels if p.row == 0}
    t = np.arange(5000) / fs
    sig = np.stack([0.1 * np.sin(2 * np.pi * 1.3 * t + j) for j in range(12)], axis=1)
    for lead in ("I", "aVR", "V1", "V4"):
        end = panels[lead].end_sample
        sig[end - 12 : end, LEADS.index(lead)] += np.linspace(0.0, 1.8, 12)
    img, truth = render_ecg(EcgRecord(sig, fs, "up"), cfg, np.random.default_rng(0))
    true_x0 = {p.lead: p.points_xy[0, 0] for p in truth.panels if p.row == 0}
    err = {}
    for follow in (2.5, 0.0):
        out = ClassicalDigitizer(row_follow_mm=follow).digitize(img, fs, 5000)
        err[follow] = {
            g["lead"]: g["x0_px"] - true_x0[g["lead"]] for g in out.meta["segments"] if g["lead"] in true_x0
        }
    assert abs(err[2.5]["V4"]) < 1.0 and abs(err[0.0]["V4"]) > 2.5  # measured -0.73 / -2.98 px


@pytest.mark.parametrize("dpi", [100, 200])
def test_a_row_without_a_pulse_starts_at_its_first_drawn_sample(dpi: int) -> None:
    # 1-px strokes (0.1 mm at 100-200 dpi) starting 0-0.3 mV off their zero line: each segment's first sample is
    # placed within 0.4 px of where it was drawn (measured 0.01-0.34 px; 0.36-0.83 px late when the renderer drew
    # thin strokes without caps, which the reader's half-stroke offset assumes)
    from ecgdl.render import RenderConfig, render_ecg

    fs = 500.0
    t = np.arange(5000) / fs
    sig = np.stack([0.3 * np.sin(2 * np.pi * 1.3 * t + j) for j in range(12)], axis=1)
    cfg = RenderConfig(pulse="none", line_width_mm=0.1, dpi=dpi)
    img, truth = render_ecg(EcgRecord(sig, fs, "sines"), cfg, np.random.default_rng(0))
    assert truth.line_width_px == 1
    out = ClassicalDigitizer().digitize(img, fs, 5000)
    assert len(out.meta["segments"]) == 13
    for seg in out.meta["segments"]:
        panel = min(
            (p for p in truth.panels if p.lead == seg["lead"]),
            key=lambda p: abs(p.baseline_y_px - seg["baseline_y_px"]),
        )
        assert seg["start_sample"] == panel.start_sample
        assert abs(seg["x0_px"] - panel.points_xy[0, 0]) < 0.4, seg["lead"]


def test_flat_lead_in_at_50_mm_per_s_is_kept() -> None:
    """The plain record's first 0.35 s are flat to a pixel: 17.5 mm at 50 mm/s, longer than the 12 mm that mark a
    grid line at 25 mm/s, but under the 0.48 s that the digitizer allows once it knows the speed."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    cfg = RenderConfig(speed_mm_per_s=50.0, pulse="end", grid_colour="red")
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["speed_mm_per_s"] == 50.0
    first = [s for s in out.meta["segments"] if s["start_sample"] == 0]
    x_ink = min(s["x0_px"] for s in first)
    assert all(abs(s["x0_px"] - x_ink) < 0.1 * cfg.px_per_mm for s in first)  # no row cut 12 mm in
    assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 20.0
    cut = ClassicalDigitizer(min_straight_lead_s=0.2).digitize(img, rec.fs_hz, rec.n_samples)
    assert snr_db(truth.record.signal_mv, cut.signal_mv, rec.fs_hz) < snr_db(
        truth.record.signal_mv, out.signal_mv, rec.fs_hz
    )


@pytest.mark.parametrize(
    ("pulse", "speed", "fs_hz", "dpi"),
    [
        ("start", 25.0, 500.0, 200.0),
        ("start", 50.0, 250.0, 200.0),
        # 150 dpi, 20 mm/mV: the row's own ink was found to start right of the fall, where the lead was clamped
        # (1.4 samples late)
        ("start", 25.0, 500.0, 150.0),
        ("end", 25.0, 500.0, 200.0),
        ("end", 50.0, 500.0, 200.0),
        ("none", 50.0, 500.0, 200.0),
    ],
)
def test_every_lead_starts_where_its_first_sample_was_drawn(
    pulse: str, speed: float, fs_hz: float, dpi: float
) -> None:
    """The page x of each lead's first sample (``x0_px`` in the meta) against the renderer's truth, in sample
    steps: after a start pulse (1.5 samples before its fall), from the ink's start (with or without an end
    pulse), and for the later columns of a row whose ink is one sample step short of whole columns (50 mm/s:
    the columns print only part of each 2.5 s window)."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record(fs_hz=fs_hz)
    cfg = RenderConfig(
        pulse=pulse, speed_mm_per_s=speed, dpi=dpi, gain_mm_per_mv=20.0 if dpi == 150 else 10.0
    )
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    step_px = speed * truth.px_per_mm / fs_hz
    errors = []
    for seg in out.meta["segments"]:
        (panel,) = [
            p
            for p in truth.panels
            if p.lead == seg["lead"]
            and p.start_sample == seg["start_sample"]
            and abs(p.end_sample - seg["end_sample"]) <= 2
        ]
        errors.append((seg["x0_px"] - panel.points_xy[0, 0]) / step_px)
    assert len(errors) == 13
    assert np.abs(errors).max() < 0.3, np.round(errors, 2)


def test_black_header_lines_do_not_hide_a_faint_grey_trace() -> None:
    """Six lines of black header text set the page's ink threshold, and a grey trace falls under it: the text
    lines (under 100 mm long) were taken for the page's four rows and the page read as 3x4+II. Rows that short
    are no rows of trace, so the ink is taken again at a lower threshold and the three trace rows are found."""
    from ecgdl.classical.rows import MIN_ROW_MM, ink_and_rows
    from ecgdl.render import RenderConfig, render_ecg

    config = RenderConfig(
        layout="3x4",
        dpi=100.0,
        grid_style="none",
        trace_rgb=(120, 120, 120),
        line_width_mm=0.3,
        header_lines=6,
    )
    image, truth = render_ecg(plain_record(), config, np.random.default_rng(1))
    ink, rows = ink_and_rows(image, truth.px_per_mm, None, follow_mm=2.5)
    assert len(rows) == 3
    for row, y in zip(rows, truth.row_baselines_y_px, strict=True):
        assert abs(row.baseline_y_px - y) <= 1.0 * truth.px_per_mm
        assert row.width_px >= MIN_ROW_MM * truth.px_per_mm
    assert ink.threshold < 0.3  # the faint ink
    # a page of black trace keeps its ink and rows as they were
    black, truth = render_ecg(plain_record(), RenderConfig(layout="3x4", dpi=100.0), np.random.default_rng(1))
    ink, rows = ink_and_rows(black, truth.px_per_mm, None, follow_mm=2.5)
    assert len(rows) == 3 and ink.threshold >= 0.25


@pytest.mark.parametrize(
    "gaps, past_gap",
    [
        ({}, False),
        ({1: 2}, False),
        ({0: 2, 1: 2, 2: 2}, True),
        ({0: 8, 1: 8, 2: 8}, True),
        ({0: 8, 2: 8}, False),
    ],
)
def test_a_lead_starts_past_a_gap_every_row_shows_but_not_past_a_hole(gaps: dict, past_gap: bool) -> None:
    # by hand: three rows with a start pulse rising at x = 40 and falling at x = 79.4 (0.2 s at 25 mm/s, 7.874
    # px/mm), their traces running on at the zero line from x = 79; blank columns at x = 90 .. 90 + width - 1 on
    # the rows given. The same gap on every row is the machine's (2 px, as one real printer leaves, or 1 mm) and
    # the leads start past it; a hole on some rows only is noise, and every lead starts at its pulse.
    from ecgdl.classical.gridremoval import InkMap
    from ecgdl.classical.page import Pulse
    from ecgdl.classical.rows import settle_rows

    ppm, px_per_s, fs = 7.874, 25 * 7.874, 500.0
    bases = (200, 400, 600)
    mask = np.zeros((800, 600), bool)
    for r, base in enumerate(bases):
        mask[base - 1 : base + 1, 79:560] = True
        mask[base - 50 : base + 50, 90 : 90 + gaps.get(r, 0)] = False
    ink = InkMap(mask.astype(np.float32), mask, 0.5)
    pulses = {r: [Pulse("start", 38.0, 40.0, 79.4, 81.0, float(b), b - 78.7)] for r, b in enumerate(bases)}
    rows = [RowBand(float(b), 79.0, 559.0, 1.0) for b in bases]
    bands = tuple((b - 100, b + 100) for b in bases)
    out = settle_rows(
        rows,
        pulses,
        {},
        ink,
        bands,
        ppm,
        px_per_s,
        2.0,
        px_per_s / fs,
        min_straight_lead_s=1.0,
        row_ends_tol_mm=0.0,
        pulse_s=0.2,
        pulse_overlap_samples=1.5,
    )
    at_pulse = 40.0 + 0.2 * px_per_s - 1.5 * px_per_s / fs
    for r, row in enumerate(out):
        expected = 90.0 + gaps[r] + 0.5 if past_gap else at_pulse
        assert row.x_start_px == pytest.approx(expected, abs=0.01)
