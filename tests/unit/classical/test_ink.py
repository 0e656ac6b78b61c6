"""Classical digitizer, the page's ink: grid removal, separator bars, split strokes and a learned ink map
(:mod:`ecgdl.classical.gridremoval`, :mod:`~ecgdl.classical.ink`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.gridremoval import extract_ink, long_runs, remove_separator_bars
from ecgdl.digitizer import DigitizationError
from tests.unit.classical.pages import draw_curve, grid_page, plain_record, snr_db


def test_ink_keeps_the_trace_and_drops_a_coloured_grid() -> None:
    page = grid_page(800, 500)
    xs = np.linspace(50, 750, 300)
    draw_curve(page, xs, 250.3 + 3 * np.sin(xs / 10), thickness=2)
    ink = extract_ink(page, px_per_mm=7.874)
    assert ink.mask[243:258, 100:700].any(axis=0).all()  # the trace everywhere
    assert not ink.mask[:200].any() and not ink.mask[300:].any()  # no grid


def test_ink_suppresses_a_grey_grid() -> None:
    page = grid_page(800, 500, minor=(205, 205, 205), major=(120, 120, 120))
    draw_curve(page, np.linspace(50, 750, 300), 250 + 20 * np.sin(np.linspace(0, 12, 300)), thickness=2)
    ink = extract_ink(page, px_per_mm=7.874)
    assert ink.mask[200:300, 100:700].any(axis=0).mean() > 0.95
    assert ink.mask[:180].mean() < 0.01 and ink.mask[320:].mean() < 0.01


def test_long_runs_and_separator_bars() -> None:
    m = np.zeros((3, 10), bool)
    m[0, 2:9] = True
    m[1, :3] = True
    m[2, :] = True
    assert long_runs(m, 5).sum(axis=1).tolist() == [7, 0, 10]
    page = np.full((300, 400, 3), 255, np.uint8)
    xs = np.linspace(20, 380, 200)
    draw_curve(page, xs, 150.0 + 3 * np.sin(xs / 10), thickness=2)
    cv2.rectangle(page, (198, 125), (203, 175), (0, 0, 0), -1)  # a 6 x 51 px separator bar
    ink = extract_ink(page, px_per_mm=7.874)
    cleaned, boxes = remove_separator_bars(ink, 2.0, 7.874)
    assert len(boxes) == 1 and abs(boxes[0][0] - 198) <= 1
    assert not cleaned.mask[125:140, 198:204].any()
    assert cleaned.mask[144:157, 100].any()


def test_a_separator_bar_a_wave_runs_into_is_removed_when_it_repeats_down_the_page() -> None:
    """Four rows with a 6 x 51 px bar at the same x (ECG-Image-Kit's column separators). In the last row a QRS
    upstroke runs up the bar's left side and out above it, so ink continues above that bar: alone it would pass
    for a spike's solid core and stay (it did, and the tracer read the bar's middle as the lead's last samples:
    0 mV for a 0.5 mV R wave). Since it has the size of the other bars and their x, exactly its rectangle goes and
    the wave's ink beside and above it stays. The same bar-shaped ink on a page without other bars stays."""
    page = np.full((620, 400, 3), 255, np.uint8)
    for base in (100, 240, 380, 520):
        for xs in (np.linspace(20, 196, 100), np.linspace(204, 380, 100)):  # wavy: straight lines are grid
            draw_curve(page, xs, base + 3 * np.sin(xs / 10), thickness=2)
        cv2.rectangle(page, (198, base - 25), (203, base + 25), (0, 0, 0), -1)
    # the last row's lead ends in an upstroke along the bar's left edge, out to 30 px above its top (y 495)
    cv2.line(page, (190, 540), (197, 496), (0, 0, 0), 2)
    cv2.line(page, (199, 496), (200, 466), (0, 0, 0), 2)
    ink = extract_ink(page, px_per_mm=7.874)
    cleaned, boxes = remove_separator_bars(ink, 2.0, 7.874)
    assert len(boxes) == 4 and all(abs(b[0] - 198) <= 1 for b in boxes)
    assert not cleaned.mask[500:545, 199:203].any()  # the bar's inside
    assert ink.mask[490:495, 198:204].mean() > 0.35  # ink runs on above that bar: not a clean one
    assert cleaned.mask[466:495, 196:202].any(axis=1).all()  # the wave above the bar stays
    assert cleaned.mask[497:540, 190:198].any(axis=1).all()  # ... and beside it
    lone = page.copy()
    lone[:450] = 255  # only the touched bar is left
    _, lone_boxes = remove_separator_bars(extract_ink(lone, px_per_mm=7.874), 2.0, 7.874)
    assert lone_boxes == []


def test_touched_separator_bars_of_one_column_are_removed_together() -> None:
    """ECG-Image-Kit's 4-column pages: the bars at one column start can all be touched by waves (here both of the
    second column's, a wave running up each bar's left side and out over its top), so none has a clean twin at
    its x. They are removed all the same, as the other column's clean bars have their size and they share an x;
    only the bar's own 6 columns go (the blob is 7-8 wide with the wave along its side)."""
    page = np.full((400, 400, 3), 255, np.uint8)
    for base in (100, 200, 300):
        for xs in (np.linspace(10, 116, 60), np.linspace(124, 276, 80), np.linspace(284, 390, 60)):
            draw_curve(page, xs, base + 3 * np.sin(xs / 10), thickness=2)
        cv2.rectangle(page, (118, base - 25), (123, base + 25), (0, 0, 0), -1)
    for base in (100, 200):  # the second column's bars, each with a wave running into it
        cv2.rectangle(page, (278, base - 25), (283, base + 25), (0, 0, 0), -1)
        cv2.line(page, (270, base + 20), (277, base - 24), (0, 0, 0), 2)
        cv2.line(page, (279, base - 24), (280, base - 54), (0, 0, 0), 2)
    ink = extract_ink(page, px_per_mm=7.874)
    cleaned, boxes = remove_separator_bars(ink, 2.0, 7.874)
    assert sorted(b[0] for b in boxes) == [118, 118, 118, 278, 278]
    assert all(b[2] == 6 for b in boxes)
    for base in (100, 200):
        assert not cleaned.mask[base - 20 : base + 20, 279:283].any()
        assert cleaned.mask[base - 54 : base - 26, 277:282].any(axis=1).all()  # the wave over the bar stays


def test_split_strokes_only_on_a_clean_page() -> None:
    from ecgdl.classical.gridremoval import InkMap
    from ecgdl.classical.ink import with_split_strokes_if_clean

    w = np.zeros((60, 80), np.float32)
    w[30, 5:75], w[31, 5:75] = 1.0, 0.5  # a stroke (its rim sets the mask's threshold, 0.5)
    # a steep stroke straddling two columns: each half under the threshold, but every 4th row over it (broken)
    w[10:30, 40] = w[10:30, 41] = 0.3
    w[10:30:4, 40] = 0.6
    mask = w >= 0.5
    thin, noise = with_split_strokes_if_clean(InkMap(w, mask, 0.5), max_noise=0.005)
    assert noise == 0.0 and thin is not None
    assert thin.mask[10:30, 40:42].all() and (thin.mask & ~mask).sum() == 35
    mottled = w.copy()
    mottled[45:55, 5:75:3] = mottled[45:55, 6:75:3] = 0.3  # pairs of mid-grey pixels far from any ink
    thin, noise = with_split_strokes_if_clean(InkMap(mottled, mottled >= 0.5, 0.5), max_noise=0.005)
    assert thin is None and noise > 0.5


def test_ink_model_replaces_the_classical_ink() -> None:
    """A learned ink map (here the truth's own trace mask, what a perfect page network would give) is laid out
    and traced by the classical stages; a map of the wrong shape is a clear error."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    img, truth = render_ecg(rec, RenderConfig(), np.random.default_rng(0))
    mask = truth.page_mask(2).astype(np.float32)
    shapes = []

    def oracle(page: np.ndarray) -> np.ndarray:
        shapes.append(page.shape)
        return mask

    out = ClassicalDigitizer(ink_model=oracle).digitize(img, rec.fs_hz, rec.n_samples)
    assert shapes and shapes[0] == img.shape  # a straight page is not warped: the map is in input pixels
    assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 25.0
    # a faint map (under the 0.5 threshold) is read at the lower retry threshold, the model run only once
    shapes.clear()
    mask = 0.3 * truth.page_mask(2).astype(np.float32)
    out = ClassicalDigitizer(ink_model=oracle).digitize(img, rec.fs_hz, rec.n_samples)
    assert len(shapes) == 1 and out.meta["layout"] == "3x4+II"
    with pytest.raises(DigitizationError, match="ink_model returned shape"):
        ClassicalDigitizer(ink_model=lambda page: np.zeros((5, 5))).digitize(img, rec.fs_hz, rec.n_samples)
    with pytest.raises(DigitizationError, match="layout"):
        ClassicalDigitizer(ink_model=lambda page: np.zeros(page.shape[:2])).digitize(
            img, rec.fs_hz, rec.n_samples
        )
