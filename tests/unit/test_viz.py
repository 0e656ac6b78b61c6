"""Overlay of a predicted trace on the page, and the 12-panel truth-vs-prediction figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgdl.constants import LEADS
from ecgdl.signals.record import EcgRecord
from ecgdl.viz import TraceSegment, draw_traces_on_page, overlay_prediction, plot_leads


def _record(fs: float = 100.0, n: int = 1000) -> EcgRecord:
    t = np.arange(n) / fs
    x = np.tile(0.5 * np.sin(2 * np.pi * 1.0 * t)[:, None], (1, 12))
    x[400:420, LEADS.index("II")] = np.nan  # a gap: must not be bridged
    return EcgRecord(x, fs, "r1")


def test_overlay_changes_pixels_along_trace() -> None:
    page = np.full((300, 600, 3), 255, dtype=np.uint8)
    record = _record()
    # Lead II, samples 0..500 (5 s) from x = 50 px at 100 px/s, baseline y = 150 px, 40 px/mV.
    seg = TraceSegment("II", 0, 500, x0_px=50.0, baseline_y_px=150.0, px_per_s=100.0, px_per_mv=40.0)
    out = overlay_prediction(page, record, [seg])
    assert out.shape == page.shape and out.dtype == np.uint8
    assert (page == 255).all()  # input untouched
    # Sample 25 (0.25 s, value 0.5 mV) sits at x = 75, y = 150 - 20 = 130.
    assert (out[128:133, 74:77] != 255).any()
    drawn = np.flatnonzero((out != 255).any(axis=(0, 2)))
    assert drawn.min() >= 48 and drawn.max() <= 552
    # Far from the trace nothing changes; inside the NaN gap (x = 450..470) nothing is drawn.
    assert (out[:50] == 255).all()
    assert (out[:, 454:466] == 255).all()
    # The colour is the requested RGB (blue-ish by default: B > R).
    pixel = out[130, 75].astype(int)
    assert pixel[2] > pixel[0]


def test_a_rectified_pages_segments_are_drawn_where_the_picture_shows_them() -> None:
    # a reading of a rectified page gives its segments in the page frame; drawn on the picture they must go
    # through the inverse of the homography (here the page frame is the picture at twice its size)
    from ecgdl.classical.meta import page_to_input

    page = np.full((300, 600, 3), 255, dtype=np.uint8)
    record = _record()
    seg = TraceSegment("II", 0, 500, x0_px=100.0, baseline_y_px=300.0, px_per_s=200.0, px_per_mv=80.0)
    meta = {"segments_frame": "rectified", "homography": [[2.0, 0, 0], [0, 2.0, 0], [0, 0, 1.0]]}
    out = overlay_prediction(page, record, [seg], to_image=page_to_input(meta))
    # sample 25 (0.5 mV): page (150, 260) -> picture (75, 130), as on the unscaled page above
    assert (out[128:133, 74:77] != 255).any()
    drawn = np.flatnonzero((out != 255).any(axis=(0, 2)))
    assert drawn.min() >= 48 and drawn.max() <= 552
    assert (out[:, 454:466] == 255).all()  # the NaN gap, mapped too
    assert page_to_input({"segments_frame": "input"}) is None  # segments in the picture's own pixels


def test_draw_traces_validation() -> None:
    record = _record()
    seg = TraceSegment("I", 0, 100, 0.0, 50.0, 100.0, 10.0)
    gray = np.zeros((100, 200), dtype=np.uint8)
    assert draw_traces_on_page(gray, [seg], record).shape == (100, 200, 3)
    with pytest.raises(ValueError, match="uint8"):
        draw_traces_on_page(np.zeros((10, 10, 3)), [seg], record)
    with pytest.raises(ValueError, match="unknown lead"):
        TraceSegment("X", 0, 10, 0, 0, 1, 1)
    with pytest.raises(ValueError, match="start_sample"):
        TraceSegment("I", 10, 10, 0, 0, 1, 1)


def test_plot_leads_writes_png(tmp_path: Path) -> None:
    truth = _record()
    pred = EcgRecord(truth.signal_mv + 0.05, truth.fs_hz, "r1")
    path = plot_leads(
        truth, pred, {lead: 20.0 + k for k, lead in enumerate(LEADS)}, tmp_path / "figs" / "r1.png", dpi=30
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_leads(truth, pred, None, tmp_path / "plain.png", dpi=30)
    assert (tmp_path / "plain.png").stat().st_size > 0
