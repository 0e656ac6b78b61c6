"""Classical digitizer, lead separators (:mod:`ecgdl.classical.separators`): bars and ticks over the trace at
column boundaries."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.constants import LEADS
from ecgdl.signals.record import EcgRecord
from tests.unit.classical.pages import fast_record


def test_separator_ticks_do_not_zero_the_column_starts() -> None:
    """The renderer draws a short black tick over the trace at every column boundary, centred on the zero line;
    the first and last samples of a column must come from the trace, not from the tick."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = fast_record()
    img, truth = render_ecg(rec, RenderConfig(pulse="end"), np.random.default_rng(0))
    errs = {}
    for on in (True, False):
        # this record's twelve leads are one waveform scaled (no Einthoven): the limb-lead fit is left out
        out = ClassicalDigitizer(mask_separators=on, limb_fit=False).digitize(img, rec.fs_hz, rec.n_samples)
        e = []
        for s in out.meta["segments"]:
            j = LEADS.index(s["lead"])
            p = out.signal_mv[s["start_sample"] : s["end_sample"], j]
            t = truth.record.signal_mv[s["start_sample"] : s["end_sample"], j]
            off = np.nanmedian(p - t)
            if s["start_sample"] > 0:
                e.append(abs(p[:3] - t[:3] - off).max())
        errs[on] = np.array(e)
    assert errs[True].max() < 0.1
    assert errs[True].mean() < 0.5 * errs[False].mean()


@pytest.mark.parametrize("side", ["start", "end"])
def test_a_steep_wave_leaving_a_tick_is_followed_not_extrapolated(side: str) -> None:
    """A lead starting (or, mirrored, ending) in a trough below the boundary tick: the trace points over the tick
    read the tick (the zero line); with the ink given, the trace is followed down out of the tick to the trough
    (80 px) instead of continuing the line through the next points (which overshoots to 90 px)."""
    from ecgdl.classical.gridremoval import InkMap
    from ecgdl.classical.separators import skip_separator_ticks
    from ecgdl.classical.trace import RowTrace

    h, w = 100, 80
    mask = np.zeros((h, w), np.uint8)
    pts = np.array([(21, 80), (22, 79), (23, 74), (24, 66), (25, 58), (26, 50), (60, 50)], np.int32)
    cv2.polylines(mask, [pts.reshape(-1, 1, 2)], False, 1, 2)
    cv2.line(mask, (0, 50), (20, 50), 1, 2)  # the previous lead, ending on its zero line
    mask[40:61, 20:23] = 1  # the tick, 3 px wide, centred on the zero line
    x = np.arange(21.0, 61.0)
    y = np.interp(x, pts[:, 0], pts[:, 1]).astype(np.float64)
    y[:2] = 50.0  # the tracker read the tick there
    bx = 21.0
    if side == "end":  # the same page mirrored: the lead ends at the boundary
        mask = mask[:, ::-1].copy()
        x, y, bx = (w - 1) - x[::-1], y[::-1], (w - 1) - bx
    ink = InkMap(mask.astype(np.float32), mask.astype(bool), 0.5)
    tr = RowTrace(x, y, x, y, y, y, 2.0, 0.0)
    kw = {"start": bx, "end": None} if side == "start" else {"start": None, "end": bx}
    line = skip_separator_ticks(tr, ink.mask, 50.0, 5.0, 2.0, **kw)
    walked = skip_separator_ticks(tr, ink.mask, 50.0, 5.0, 2.0, **kw, ink=ink, band=(0, h))
    assert abs(line.y_at(np.array([bx]))[0] - 80.0) > 5.0  # the straight line misses the trough
    assert abs(walked.y_at(np.array([bx]))[0] - 80.0) <= 1.5
    next_col = walked.y_at(np.array([bx + (1.0 if side == "start" else -1.0)]))[0]
    assert 74.0 <= next_col <= 81.0  # on the stroke, below the tick (which ends at 60)


def test_lead_start_under_a_separator_bar_is_read_where_visible() -> None:
    """ECG-Image-Kit draws a solid bar over each column's first samples; a steep wave starting there is visible
    below the bar and is read (not held at the first value right of the bar)."""
    from ecgdl.render import RenderConfig, render_ecg

    fs = 500.0
    t = np.arange(5000) / fs
    sig = 0.05 * np.sin(2 * np.pi * 0.5 * t)[:, None] * np.ones((1, 12))
    avr = LEADS.index("aVR")  # row 0, column 1 of 3x4+II: its window starts at 2.5 s, under a bar
    after = t >= 2.5
    sig[after, avr] -= 1.2 * np.exp(-(t[after] - 2.5) / 0.02)
    rec = EcgRecord(sig, fs, "bar")
    # ECG-Image-Kit's thin strokes (the bar is found as a bar when it is clearly wider than the stroke)
    config = RenderConfig(separator_width_mm=0.76, line_width_mm=0.15)
    img, truth = render_ecg(rec, config, np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(img, fs, rec.n_samples)
    assert out.meta["separator_bars"] >= 3
    s0 = int(np.flatnonzero(np.isfinite(truth.record.signal_mv[:, avr]))[0])
    true_start = truth.record.signal_mv[s0 : s0 + 10, avr]
    read = out.signal_mv[s0 : s0 + 10, avr]
    assert true_start[0] < -1.1
    # held from right of the bar (x0 + 4 px = 20 ms) it would read about -0.4 mV throughout; the first two
    # samples share the pixel column of the jump from the previous lead, whose centroid lies halfway
    np.testing.assert_allclose(read[2:], true_start[2:], atol=0.15)
    assert read[0] < -0.6
