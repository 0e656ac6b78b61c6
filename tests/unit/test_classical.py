"""Classical digitizer: every stage alone on small synthetic pictures, then the whole pipeline on renders and on
the ECG-Image-Kit development pages."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ecgdl.classical import ClassicalDigitizer, ImageLoadError, load_image, to_rgb_uint8
from ecgdl.classical.calibration import (
    calibrate_from_layout,
    calibrate_from_pulse,
    estimate_grid,
    estimate_period,
)
from ecgdl.classical.geometry import estimate_rectification, homography_from_vanishing_points, warp_image
from ecgdl.classical.gridfit import grid_homography
from ecgdl.classical.gridremoval import extract_ink, long_runs, remove_separator_bars
from ecgdl.classical.layout import (
    RowBand,
    build_segments,
    choose_layout,
    find_rows,
    follow_stroke,
    isoelectric_level,
)
from ecgdl.classical.pulse import detect_pulse, gain_from_pulse, speed_from_pulse
from ecgdl.classical.resample import SegmentSignal, assemble_record, interpolate_trace, sample_range
from ecgdl.classical.trace import column_runs, extract_row_trace, touching_columns
from ecgdl.constants import LEADS
from ecgdl.digitizer import DigitizationError, Digitizer
from ecgdl.signals.record import EcgRecord

# ------------------------------------------------------------------------------------------------ helpers


def grid_page(
    w: int = 1400, h: int = 1000, ppm: float = 7.874, minor=(250, 205, 205), major=(235, 60, 60), paper=255
) -> np.ndarray:
    """A white page with a 1 mm / 5 mm grid (RGB uint8), lines anti-aliased at exact positions."""
    img = np.full((h, w, 3), paper, np.float32)
    for axis, n in ((1, w), (0, h)):
        pos = np.arange(n, dtype=np.float64)
        for every, colour, width in ((1, minor, 1.0), (5, major, 1.6)):
            step = ppm * every
            d = pos - np.round(pos / step) * step
            cov = np.clip(np.minimum(d + 0.5, width / 2) + np.minimum(0.5 - d, width / 2), 0, 1)
            cov = cov[None, :, None] if axis == 1 else cov[:, None, None]
            img = img * (1 - cov) + np.asarray(colour, np.float32) * cov
    return np.round(img).astype(np.uint8)


def draw_curve(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, thickness: int = 2, colour=(0, 0, 0)) -> None:
    pts = np.round(np.c_[xs, ys] * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [pts], False, colour, thickness, cv2.LINE_AA, shift=4)


def rotate(img: np.ndarray, angle_deg: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))


def tilted(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(homography, image) of ``img`` seen in perspective, as a photo tilts a page (white outside it)."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[40, 30], [w - 10, 0], [w - 60, h - 20], [0, h]])
    g = cv2.getPerspectiveTransform(src, dst)
    return g, cv2.warpPerspective(img, g, (w, h), borderValue=(255, 255, 255))


def _record(fs_hz: float = 500.0) -> EcgRecord:
    """Smooth synthetic 12-lead signal with QRS-like spikes (no generator dependency)."""
    t = np.arange(int(10 * fs_hz)) / fs_hz
    beats = sum(np.exp(-0.5 * ((t - tb) / 0.012) ** 2) for tb in np.arange(0.35, 10, 0.85))
    waves = sum(0.25 * np.exp(-0.5 * ((t - tb - 0.25) / 0.05) ** 2) for tb in np.arange(0.35, 10, 0.85))
    sig = np.zeros((t.size, 12))
    for j in range(12):
        sig[:, j] = (
            (0.6 + 0.1 * j) * beats * (1 if j % 3 else -1) + waves + 0.05 * np.sin(2 * np.pi * 0.3 * t + j)
        )
    return EcgRecord(sig, fs_hz, "synthetic")


def _snr_db(truth: np.ndarray, pred: np.ndarray, fs_hz: float) -> float:
    from ecgdl.metrics.snr import snr_kaggle

    return float(snr_kaggle(truth, np.nan_to_num(pred), fs_hz).snr_db)


# ------------------------------------------------------------------------------------------------ io


def test_to_rgb_handles_grey_rgba_16bit_and_float() -> None:
    grey = np.full((5, 6), 100, np.uint8)
    assert to_rgb_uint8(grey).shape == (5, 6, 3)
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent black -> white paper
    assert (to_rgb_uint8(rgba) == 255).all()
    rgba[..., 3] = 255
    assert (to_rgb_uint8(rgba) == 0).all()
    img16 = np.full((4, 4, 3), 65535, np.uint16)
    assert (to_rgb_uint8(img16) == 255).all()
    assert (to_rgb_uint8(np.full((3, 3), 0.5, np.float32)) == 128).all()
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV order
    assert to_rgb_uint8(bgr, channels_bgr=True)[0, 0].tolist() == [0, 0, 200]
    with pytest.raises(ImageLoadError, match="shape"):
        to_rgb_uint8(np.zeros((2, 2, 5), np.uint8))


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "tiff"])
def test_load_image_formats(tmp_path: Path, ext: str) -> None:
    img = grid_page(120, 80)
    path = tmp_path / f"page.{ext}"
    assert cv2.imwrite(str(path), img[..., ::-1])
    out = load_image(path)
    assert out.shape == (80, 120, 3) and out.dtype == np.uint8
    tol = 12.0 if ext == "jpg" else 0.01  # JPEG subsamples the chroma of the thin red lines
    assert np.abs(out.astype(int) - img.astype(int)).mean() <= tol


def test_load_image_grey_rgba_and_16bit_files(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "g.png"), np.full((10, 12), 30, np.uint8))
    assert load_image(tmp_path / "g.png").tolist()[0][0] == [30, 30, 30]
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[:5, :, 3] = 255  # top half opaque black, bottom transparent
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    out = load_image(tmp_path / "a.png")
    assert (out[:5] == 0).all() and (out[5:] == 255).all()
    cv2.imwrite(str(tmp_path / "d.png"), np.full((10, 12, 3), 257 * 200, np.uint16))
    assert (load_image(tmp_path / "d.png") == 200).all()


def test_load_image_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"empty\.png.*empty"):
        load_image(empty)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(ImageLoadError, match=r"junk\.jpg"):
        load_image(junk)


# ------------------------------------------------------------------------------------------------ geometry


@pytest.mark.parametrize("angle", [3.0, -7.5, 14.0])
def test_deskew_recovers_the_grid_angle(angle: float) -> None:
    page = grid_page(1200, 900, ppm=6.0)
    draw_curve(page, np.linspace(100, 1100, 400), 450 + 30 * np.sin(np.linspace(0, 20, 400)))
    rot = rotate(page, angle)  # counter-clockwise on screen: lines rise to the right (negative image angle)
    rect = estimate_rectification(rot)
    assert abs(rect.angle_h_deg + angle) < 0.2
    assert not rect.identity
    # A horizontal grid line of the original page is horizontal after rectification.
    h, w = page.shape[:2]
    m = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
    xs = np.linspace(300, 900, 20)
    pts = np.c_[xs, np.full_like(xs, 300.0), np.ones_like(xs)] @ (rect.H @ m).T
    assert np.ptp(pts[:, 1] / pts[:, 2]) < 1.0


def test_straight_page_is_left_alone() -> None:
    page = grid_page(900, 700)
    rect = estimate_rectification(page)
    assert rect.identity
    assert warp_image(page, rect) is page


def test_perspective_makes_grid_lines_axis_aligned() -> None:
    page = grid_page(1400, 1000, ppm=7.0)
    g, warped = tilted(page)
    rect = estimate_rectification(warped)
    assert rect.perspective
    hg = rect.H @ g
    for yv in (250.0, 500.0, 750.0):
        xs = np.linspace(200, 1200, 15)
        p = np.c_[xs, np.full_like(xs, yv), np.ones_like(xs)] @ hg.T
        assert np.ptp(p[:, 1] / p[:, 2]) < 3.0
    for xv in (300.0, 700.0, 1100.0):
        ys = np.linspace(150, 850, 15)
        p = np.c_[np.full_like(ys, xv), ys, np.ones_like(ys)] @ hg.T
        assert np.ptp(p[:, 0] / p[:, 2]) < 3.0


def _affine_residual_px(h: np.ndarray, pts: np.ndarray) -> float:
    """Largest distance between the homography ``h`` applied to ``pts`` (n, 2) and the best affine map of them."""
    p = np.c_[pts, np.ones(len(pts))] @ h.T
    q = p[:, :2] / p[:, 2:]
    a = np.c_[pts, np.ones(len(pts))]
    coef, *_ = np.linalg.lstsq(a, q, rcond=None)
    return float(np.max(np.hypot(*(a @ coef - q).T)))


def test_the_grid_refinement_takes_out_the_perspective_the_line_angles_leave() -> None:
    # The angles of nearly parallel lines give a photo's perspective only roughly (a few px of residual warp,
    # tenths of a percent of scale drifting across the page, a lead's time by milliseconds); the lines' positions
    # give it to a fraction of a pixel.
    page = grid_page(1600, 1100, ppm=6.5)
    xs = np.arange(60, 1540, 0.5)
    for base in (250, 500, 750, 1000):  # rows of trace across the grid, as on a page
        draw_curve(page, xs, base - 40 * np.exp(-0.5 * (((xs % 130) - 65) / 3.0) ** 2))
    g, warped = tilted(page)
    rect = estimate_rectification(warped)
    rectified = warp_image(warped, rect)
    fit = grid_homography(rectified, estimate_grid(rectified))
    assert fit is not None and fit.rms_px < 0.3
    lattice = np.array([(x, y) for x in np.arange(200, 1400, 6.5 * 5) for y in np.arange(150, 950, 6.5 * 5)])
    before = _affine_residual_px(rect.H @ g, lattice)
    after = _affine_residual_px(fit.H @ rect.H @ g, lattice)
    assert before > 1.0  # what the angles left
    assert after < 0.3
    # a page that needs nothing is moved by a small fraction of a pixel, and a page without a grid not at all
    straight = grid_page(1200, 900, ppm=6.5)
    still = grid_homography(straight, estimate_grid(straight))
    assert still is not None and still.max_shift_px < 0.1
    blank = np.full((900, 1200, 3), 255, np.uint8)
    assert grid_homography(blank, estimate_grid(blank)) is None


def test_homography_from_parallel_families_is_a_rotation() -> None:
    a = np.deg2rad(5.0)
    vh = np.array([np.cos(a), np.sin(a), 0.0])
    vv = np.array([-np.sin(a), np.cos(a), 0.0])
    hmat, _ = homography_from_vanishing_points(vh, vv, (1000, 800))
    assert abs(hmat[2, 0]) < 1e-9 and abs(hmat[2, 1]) < 1e-9
    # lengths are kept
    p = np.array([[100, 100, 1], [100 + np.cos(a) * 500, 100 + np.sin(a) * 500, 1]]) @ hmat.T
    p = p[:, :2] / p[:, 2:]
    assert abs(np.hypot(*(p[1] - p[0])) - 500) < 1e-6
    assert abs(p[1, 1] - p[0, 1]) < 1e-6


# ------------------------------------------------------------------------------------------------ calibration


@pytest.mark.parametrize(
    ("ppm", "minor", "major"),
    [
        (7.874, (254, 223, 219), (255, 0, 0)),  # ECG-Image-Kit red
        (5.3, (206, 236, 206), (90, 170, 100)),  # green
        (9.1, (205, 205, 205), (120, 120, 120)),  # black-and-white copy
        (3.2, (250, 214, 222), (236, 128, 150)),  # low-resolution pink
    ],
)
def test_grid_calibration_within_one_percent(ppm: float, minor, major) -> None:
    page = grid_page(1300, 900, ppm=ppm, minor=minor, major=major)
    draw_curve(page, np.linspace(50, 1250, 500), 450 + 40 * np.sin(np.linspace(0, 30, 500)))
    cal = estimate_grid(page)
    assert cal.found
    assert abs(cal.px_per_mm_x / ppm - 1) < 0.01
    assert abs(cal.px_per_mm_y / ppm - 1) < 0.01


def test_grid_calibration_without_grid_is_not_found() -> None:
    page = np.full((600, 900, 3), 255, np.uint8)
    draw_curve(page, np.linspace(50, 850, 300), 300 + 30 * np.sin(np.linspace(0, 17, 300)))
    assert not estimate_grid(page).found


def test_estimate_period_of_a_pure_comb() -> None:
    x = np.arange(3000)
    prof = ((x % 10) == 0).astype(float) + 2.0 * ((x % 50) == 0)  # 10 px minor, 50 px major lines
    res = estimate_period(prof, prior_px_per_mm=10.0)
    assert res is not None and res.major_seen and abs(res.px_per_mm - 10.0) < 0.01


def test_fallback_calibrations() -> None:
    assert calibrate_from_pulse(78.74, 39.37) == pytest.approx((78.74, 196.85))
    ppm, pps, ppmv = calibrate_from_layout(1968.5, 10.0)
    assert ppm == pytest.approx(7.874) and pps == pytest.approx(196.85) and ppmv == pytest.approx(78.74)
    with pytest.raises(ValueError):
        calibrate_from_pulse(0, 10)


# ------------------------------------------------------------------------------------------------ grid removal


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


# ------------------------------------------------------------------------------------------------ trace


def test_split_strokes_only_on_a_clean_page() -> None:
    from ecgdl.classical.digitizer import _with_split_strokes_if_clean
    from ecgdl.classical.gridremoval import InkMap

    w = np.zeros((60, 80), np.float32)
    w[30, 5:75], w[31, 5:75] = 1.0, 0.5  # a stroke (its rim sets the mask's threshold, 0.5)
    # a steep stroke straddling two columns: each half under the threshold, but every 4th row over it (broken)
    w[10:30, 40] = w[10:30, 41] = 0.3
    w[10:30:4, 40] = 0.6
    mask = w >= 0.5
    thin, noise = _with_split_strokes_if_clean(InkMap(w, mask, 0.5), max_noise=0.005)
    assert noise == 0.0 and thin is not None
    assert thin.mask[10:30, 40:42].all() and (thin.mask & ~mask).sum() == 35
    mottled = w.copy()
    mottled[45:55, 5:75:3] = mottled[45:55, 6:75:3] = 0.3  # pairs of mid-grey pixels far from any ink
    thin, noise = _with_split_strokes_if_clean(InkMap(mottled, mottled >= 0.5, 0.5), max_noise=0.005)
    assert thin is None and noise > 0.5


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
    assert _snr_db(truth.record.signal_mv, out.signal_mv, fs) > 15.3  # measured 16.1


# ------------------------------------------------------------------------------------------------ pulse


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


# ------------------------------------------------------------------------------------------------ layout


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
    page = np.full((1000, 1400, 3), 255, np.uint8)
    xs = np.arange(150, 1250, 0.5)
    spikes = sum(np.exp(-0.5 * ((xs - c) / 3.0) ** 2) for c in np.arange(200, 1250, 160))
    for base in (200, 400, 600, 800):
        draw_curve(page, xs, base - 60 * spikes - 2 * np.sin(xs / 25))
    mask = page.min(axis=2) < 128
    edge = mask.copy()
    edge[900:904, 40:1370] = True
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


def test_a_row_cut_short_by_a_false_pulse_ends_with_the_others() -> None:
    from ecgdl.classical.digitizer import _agree_row_ends

    rows = [RowBand(100.0 * k, 59.0 + 0.1 * k, 1043.2 - 0.2 * k, 1.0) for k in range(4)]
    rows[2] = RowBand(200.0, 59.05, 958.5, 1.0)  # a QRS tip taken for an end pulse
    out = _agree_row_ends(rows, tol_px=4.0)
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
    assert _agree_row_ends(skew, 4.31) == skew
    spread = [RowBand(100.0 * k, 59.0, 900.0 + 50 * k, 1.0) for k in range(4)]
    assert _agree_row_ends(spread, 4.0) == spread
    assert _agree_row_ends(rows[:2], 4.0) == rows[:2]


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


# ------------------------------------------------------------------------------------------------ resample


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
    from ecgdl.classical.digitizer import _repair_missing_leads

    rows = [RowBand(200.0 + 280 * k, 78.74, 78.74 + 1968.5, 1.0) for k in range(4)]
    segs = build_segments("3x4+II", rows, 196.85, 10.0, 1700)
    rng = np.random.default_rng(0)
    sig = np.full((5000, 12), np.nan)
    lead_i, lead_ii = rng.normal(size=5000), rng.normal(size=5000)
    sig[:1250, LEADS.index("I")] = lead_i[:1250]
    sig[:1250, LEADS.index("III")] = (lead_ii - lead_i)[:1250]
    sig[1250:2500, LEADS.index("aVR")] = 0.1
    rebuilt = _repair_missing_leads(sig, segs, ["II", "aVL"], 500.0)
    assert rebuilt == ["II"]
    assert np.allclose(sig[:1250, LEADS.index("II")], lead_ii[:1250])  # known where I and III are
    assert (sig[1250:, LEADS.index("II")] == 0).all()  # rest of the rhythm strip: zeros
    assert (sig[1250:2500, LEADS.index("aVL")] == 0).all()  # aVF is missing too: no identity, zeros


# ------------------------------------------------------------------------------------------------ digitizer


def test_protocol_and_config() -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(Path(__file__).resolve().parents[2] / "conf" / "model" / "classical.yaml")
    dig = instantiate(cfg)
    assert isinstance(dig, ClassicalDigitizer) and isinstance(dig, Digitizer)
    keys = set(cfg.keys()) - {"_target_"}
    import inspect

    # every plain keyword is in the config; ink_model is a callable that page networks pass in code
    assert keys == set(inspect.signature(ClassicalDigitizer.__init__).parameters) - {"self", "ink_model"}
    with pytest.raises(KeyError, match="unknown layout"):
        ClassicalDigitizer(layout="7x7")


def test_digitizer_errors_are_clear() -> None:
    dig = ClassicalDigitizer()
    with pytest.raises(DigitizationError, match="layout"):
        dig.digitize(np.full((600, 800, 3), 255, np.uint8), 500.0, 5000)
    with pytest.raises(DigitizationError, match="too small"):
        dig.digitize(np.zeros((10, 10, 3), np.uint8), 500.0, 5000)
    with pytest.raises(DigitizationError, match="io"):
        dig.digitize(np.zeros((10, 10, 7), np.uint8), 500.0, 5000)
    with pytest.raises(ValueError, match="fs_hz"):
        dig.digitize(np.zeros((100, 100, 3), np.uint8), 0.0, 5000)


def test_digitizer_on_renders(tmp_path: Path) -> None:
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
    for cfg, min_db in (
        (RenderConfig(), 18.0),
        (RenderConfig(layout="6x2", grid_colour="green", pulse="start", gain_mm_per_mv=5.0), 15.0),
        (RenderConfig(layout="3x4+3", speed_mm_per_s=50.0, pulse="start", grid_colour="bw"), 15.0),
    ):
        img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
        out = ClassicalDigitizer(debug_dir=str(tmp_path)).digitize(img, rec.fs_hz, rec.n_samples, "r")
        assert out.meta["layout"] == cfg.layout
        assert out.meta["gain_mm_per_mv"] == cfg.gain_mm_per_mv
        assert out.meta["speed_mm_per_s"] == cfg.speed_mm_per_s
        assert abs(out.meta["px_per_mm"] / truth.px_per_mm - 1) < 0.002
        # NaN exactly where the truth is NaN (window starts may differ by one sample)
        assert (np.isfinite(out.signal_mv).sum(0) >= np.isfinite(truth.record.signal_mv).sum(0) - 2).all()
        assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= min_db
        segs = out.meta["segments"]
        assert {s["lead"] for s in segs} == set(LEADS)
        assert all(k in segs[0] for k in ("x0_px", "baseline_y_px", "px_per_s", "px_per_mv", "start_sample"))
    assert sorted(p.name for p in tmp_path.glob("r_*.png")) == [
        "r_1_rectified.png",
        "r_2_ink.png",
        "r_3_layout.png",
    ]


@pytest.mark.parametrize("pulse", ["end", "none"])
def test_a_lead_printed_twice_keeps_its_step_between_the_prints(pulse: str) -> None:
    # 3x4+3 at 50 mm/s: V5 shows in a 5-s rhythm strip and in a column 7.5 s in; the signal steps up 0.3 mV
    # between the two. Read from their own isoelectric levels the two prints would lose the step.
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
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
    assert _snr_db(truth.record.signal_mv, out.signal_mv, fs) > 15.0  # measured 21.0


def test_digitizer_on_a_rotated_render() -> None:
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
    img, truth = render_ecg(rec, RenderConfig(), np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(rotate(img, 6.0), rec.fs_hz, rec.n_samples)
    assert abs(out.meta["rotation_deg"] + 6.0) < 0.2
    assert out.meta["segments_frame"] == "rectified" and np.asarray(out.meta["homography"]).shape == (3, 3)
    assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 12.0


def _wandering_record() -> EcgRecord:
    """:func:`_record` plus a 0.15 mV baseline wander: at 50 mm/s the plain record's first 0.35 s are a line flat
    to a pixel for more than 12 mm, which the digitizer takes for a grid line running into the trace."""
    rec = _record()
    t = np.arange(rec.n_samples) / rec.fs_hz
    return EcgRecord(rec.signal_mv + 0.15 * np.sin(2 * np.pi * 1.7 * t)[:, None], rec.fs_hz, "wander")


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

    rec = _wandering_record()
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
        assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= min_db


def _fast_record(fs_hz: float = 500.0, rr_s: float = 0.3) -> EcgRecord:
    """200 beats/min: the zero line is never flat for 8 mm at a stretch (only between the spikes)."""
    t = np.arange(int(10 * fs_hz)) / fs_hz
    beats = sum(np.exp(-0.5 * ((t - tb) / 0.012) ** 2) for tb in np.arange(0.1, 10, rr_s))
    waves = sum(0.3 * np.exp(-0.5 * ((t - tb - 0.15) / 0.04) ** 2) for tb in np.arange(0.1, 10, rr_s))
    sig = np.stack([(0.5 + 0.05 * j) * beats * (1 if j % 2 else -1) + waves for j in range(12)], axis=1)
    return EcgRecord(sig, fs_hz, "fast")


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

    rec = _fast_record()
    cfg = RenderConfig(**cfg_kw)
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["layout"] == cfg.layout
    assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= min_db


def test_flat_lead_in_at_50_mm_per_s_is_kept() -> None:
    """The plain record's first 0.35 s are flat to a pixel: 17.5 mm at 50 mm/s, longer than the 12 mm that mark a
    grid line at 25 mm/s, but under the 0.48 s that the digitizer allows once it knows the speed."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
    cfg = RenderConfig(speed_mm_per_s=50.0, pulse="end", grid_colour="red")
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["speed_mm_per_s"] == 50.0
    first = [s for s in out.meta["segments"] if s["start_sample"] == 0]
    x_ink = min(s["x0_px"] for s in first)
    assert all(abs(s["x0_px"] - x_ink) < 0.1 * cfg.px_per_mm for s in first)  # no row cut 12 mm in
    assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 20.0
    cut = ClassicalDigitizer(min_straight_lead_s=0.2).digitize(img, rec.fs_hz, rec.n_samples)
    assert _snr_db(truth.record.signal_mv, cut.signal_mv, rec.fs_hz) < _snr_db(
        truth.record.signal_mv, out.signal_mv, rec.fs_hz
    )


def test_separator_ticks_do_not_zero_the_column_starts() -> None:
    """The renderer draws a short black tick over the trace at every column boundary, centred on the zero line;
    the first and last samples of a column must come from the trace, not from the tick."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = _fast_record()
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


def test_pulse_edge_points_are_dropped_only_where_they_read_the_edge() -> None:
    """By hand: an end pulse rising at x = 100 from its foot (y 180) to its top (y 100), stroke 2 px; the lead
    ends at x = 100.5. A last reading at the edge's centre (140) off the line of the readings before it goes; a
    steep wave running on along that line, or a reading beyond the foot, stays."""
    from ecgdl.classical.layout import LeadSegment
    from ecgdl.classical.pulse import Pulse
    from ecgdl.classical.trace import RowTrace

    dig = ClassicalDigitizer()
    dig._stroke = 2.0
    seg = LeadSegment("V4", 0, 3, 7.5, 2.5, 0.0, 100.5, 180.0, 100, 260)
    pulse = Pulse("end", 99.0, 100.0, 140.0, 145.0, 180.0, 100.0)
    x = np.arange(90.0, 101.0)

    def kept(y: np.ndarray) -> np.ndarray:
        return dig._off_pulse_edges(RowTrace(x, y, x, y, y, y, 2.0, 0.0), dig._abutting_pulses(seg, [pulse]))[
            0
        ]

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
    assert dig._abutting_pulses(seg, [first]) == [] and dig._abutting_pulses(start, [pulse]) == []
    tr = RowTrace(xs, ys, xs, ys, ys, ys, 2.0, 0.0)
    got = dig._off_pulse_edges(tr, dig._abutting_pulses(start, [first]))[0]
    assert got.tolist() == xs[1:].tolist()  # mirrored: the first column, on the falling edge, goes


@pytest.mark.parametrize("side", ["start", "end"])
@pytest.mark.parametrize("cfg_kw", [{}, {"dpi": 300.0, "gain_mm_per_mv": 5.0}])
def test_a_lead_abutting_a_pulse_does_not_read_its_edge(side: str, cfg_kw: dict) -> None:
    """The renderer starts a row's signal 1.5 samples before a start pulse's falling edge, as ECG-Image-Kit does
    (and ends it one sample before an end pulse's rising edge): the column on that edge holds a run from the
    pulse's foot to its top, whose centre read as 0.4-0.5 mV. The lead's first (last) two samples must match the truth to within 0.02 mV (offset removed)."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = _fast_record()
    img, truth = render_ecg(rec, RenderConfig(pulse=side, **cfg_kw), np.random.default_rng(0))
    errs = {}
    for fix in (True, False):
        dig = ClassicalDigitizer(limb_fit=False)
        if not fix:  # the same digitizer reading every traced point
            dig._off_pulse_edges = lambda tr, abutting: (tr.x, tr.y)
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


@pytest.mark.parametrize("side", ["start", "end"])
def test_a_steep_wave_leaving_a_tick_is_followed_not_extrapolated(side: str) -> None:
    """A lead starting (or, mirrored, ending) in a trough below the boundary tick: the trace points over the tick
    read the tick (the zero line); with the ink given, the trace is followed down out of the tick to the trough
    (80 px) instead of continuing the line through the next points (which overshoots to 90 px)."""
    from ecgdl.classical.digitizer import _skip_separator_ticks
    from ecgdl.classical.gridremoval import InkMap
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
    line = _skip_separator_ticks(tr, ink.mask, 50.0, 5.0, 2.0, **kw)
    walked = _skip_separator_ticks(tr, ink.mask, 50.0, 5.0, 2.0, **kw, ink=ink, band=(0, h))
    assert abs(line.y_at(np.array([bx]))[0] - 80.0) > 5.0  # the straight line misses the trough
    assert abs(walked.y_at(np.array([bx]))[0] - 80.0) <= 1.5
    next_col = walked.y_at(np.array([bx + (1.0 if side == "start" else -1.0)]))[0]
    assert 74.0 <= next_col <= 81.0  # on the stroke, below the tick (which ends at 60)


def test_digitizer_without_grid_takes_its_scale_from_the_pulse() -> None:
    from ecgdl.render import RenderConfig, render_ecg

    rec = _wandering_record()
    cfg = RenderConfig(dpi=150.0, speed_mm_per_s=50.0, pulse="end", grid_colour="none")
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    assert not estimate_grid(img).found  # traces and text alone are no grid
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["calibration"] == "pulse" and not out.meta["perspective"]
    seg = out.meta["segments"][0]
    assert abs(seg["px_per_s"] / (cfg.px_per_mm * 50.0) - 1) < 0.02
    assert abs(seg["px_per_mv"] / (cfg.px_per_mm * 10.0) - 1) < 0.03
    assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 20.0


def test_no_grid_time_scale_ignores_a_wave_running_into_the_pulse() -> None:
    """Without a grid px/s comes from the pulse widths alone; a lead that ends on a steep upstroke right at an
    end pulse inks the pulse's rising edge and widens it (0.4 % -> ~17 dB on this page): the narrower half of
    the widths, the clean ones, must set the time scale."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
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
    assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 21.0


def test_pulse_with_thin_edges_straddling_pixel_columns_is_found() -> None:
    """A 1-px trace scanned at 90 %: the gain-20 pulses' vertical edges fall between pixel columns and each half
    misses the ink threshold; without them no pulse is found and the page is read at 10 mm/mV (half the
    amplitude). The pulse search looks again with such split strokes added."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
    cfg = RenderConfig(dpi=200.0, gain_mm_per_mv=20.0, pulse="end", grid_colour="grey", line_width_mm=0.1)
    img, _ = render_ecg(rec, cfg, np.random.default_rng(0))
    img = cv2.resize(img, None, fx=0.9, fy=0.9, interpolation=cv2.INTER_LINEAR)
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert out.meta["n_pulses"] >= 3
    assert out.meta["gain_mm_per_mv"] == 20.0
    assert abs(out.meta["segments"][0]["px_per_mv"] / (0.9 * cfg.px_per_mm * 20.0) - 1) < 0.03


#: Measured on the 10 dev_eik_clean pages: 22.4 dB; the test leaves a 2 dB margin.
DEV_EIK_MIN_DB = 20.4


@pytest.mark.shared_data
def test_digitizer_on_dev_eik_clean(shared_data: Path) -> None:
    root = shared_data / "dev_eik_clean"
    ids = pd.read_csv(root / "train.csv")
    truths, preds = [], []
    dig = ClassicalDigitizer()
    for _, row in ids.iterrows():
        rid = str(row.id)
        truths.append(pd.read_csv(root / "train" / rid / f"{rid}.csv")[list(LEADS)].to_numpy())
        image = load_image(root / "train" / rid / f"{rid}-0001.png")
        rec = dig.digitize(image, float(row.fs), int(row.sig_len), rid)
        assert rec.meta["layout"] == "3x4+II"
        preds.append(np.nan_to_num(rec.signal_mv))
    from ecgdl.metrics.snr import snr_kaggle

    assert snr_kaggle(truths, preds, 500.0).snr_db >= DEV_EIK_MIN_DB


@pytest.mark.shared_data
def test_time_origin_after_an_ecg_image_kit_pulse(shared_data: Path) -> None:
    """Record 2132 of dev_eik_clean has ECG-Image-Kit's calibration pulses, whose falling edge lies 1.5 samples
    after the lead's first sample. Read with that overlap, the metric's best lag is 0 on every lead; read as if
    the lead began at the fall, the whole page is 3 ms (1.5 samples) late and the lags are 1-2 samples (each
    lag costs the metric the lead's first samples, counted as 0 mV)."""
    from ecgdl.metrics.snr import find_lags

    root = shared_data / "dev_eik_clean"
    truth = pd.read_csv(root / "train" / "2132" / "2132.csv")[list(LEADS)].to_numpy()
    image = load_image(root / "train" / "2132" / "2132-0001.png")
    lags = {}
    for overlap in (1.5, 0.0):
        rec = ClassicalDigitizer(pulse_overlap_samples=overlap).digitize(image, 500.0, 5000, "2132")
        assert rec.meta["n_pulses"] >= 4
        lags[overlap] = []
        for k in range(12):
            rows = np.isfinite(truth[:, k])
            t, p = truth[rows, k], rec.signal_mv[rows, k]
            lags[overlap].append(int(find_lags(t - t.mean(), p - p.mean(), 100)))
    assert lags[1.5] == [0] * 12
    assert min(lags[0.0]) >= 1
    with pytest.raises(ValueError, match="pulse_overlap_samples"):
        ClassicalDigitizer(pulse_overlap_samples=-1.0)


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

    rec = _record(fs_hz=fs_hz)
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


def test_ink_model_replaces_the_classical_ink() -> None:
    """A learned ink map (here the truth's own trace mask, what a perfect page network would give) is laid out
    and traced by the classical stages; a map of the wrong shape is a clear error."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
    img, truth = render_ecg(rec, RenderConfig(), np.random.default_rng(0))
    mask = truth.page_mask(2).astype(np.float32)
    shapes = []

    def oracle(page: np.ndarray) -> np.ndarray:
        shapes.append(page.shape)
        return mask

    out = ClassicalDigitizer(ink_model=oracle).digitize(img, rec.fs_hz, rec.n_samples)
    assert shapes and shapes[0] == img.shape  # a straight page is not warped: the map is in input pixels
    assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 25.0
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


@pytest.mark.parametrize(
    ("speed", "gain", "grid"), [(25.0, 10.0, "red"), (50.0, 5.0, "green"), (50.0, 10.0, "bw")]
)
def test_printed_speed_and_gain_are_read(speed: float, gain: float, grid: str) -> None:
    """Without a pulse the footer is the only calibration: "50mm/s" and "5mm/mV" are read, and the page is
    digitized at them (a 2x speed or gain error would leave the SNR near 0 dB)."""
    from ecgdl.classical.gridremoval import text_like_components
    from ecgdl.classical.printed import read_printed_scales
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
    config = RenderConfig(speed_mm_per_s=speed, gain_mm_per_mv=gain, grid_colour=grid, pulse="none")
    img, truth = render_ecg(rec, config, np.random.default_rng(1))
    ink = extract_ink(img, px_per_mm=truth.px_per_mm)
    printed = read_printed_scales(
        text_like_components(ink.mask, truth.px_per_mm), truth.px_per_mm, ink.weight
    )
    assert (printed.speed_mm_per_s, printed.gain_mm_per_mv) == (speed, gain)
    assert min(printed.speed_score, printed.gain_score) >= 0.7
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert (out.meta["speed_mm_per_s"], out.meta["gain_mm_per_mv"]) == (speed, gain)
    assert out.meta["calibration"] == "grid+print"
    assert _snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 18.0
    # without the footer nothing is read and the defaults hold
    bare, _ = render_ecg(rec, RenderConfig(**{**config.__dict__, "footer": False}), np.random.default_rng(1))
    out = ClassicalDigitizer().digitize(bare, rec.fs_hz, rec.n_samples)
    assert out.meta["printed_speed_mm_per_s"] is None and out.meta["printed_gain_mm_per_mv"] is None
    assert (out.meta["speed_mm_per_s"], out.meta["gain_mm_per_mv"]) == (25.0, 10.0)


def test_a_pulse_of_no_standard_size_neither_sets_the_scales_nor_cuts_the_trace(monkeypatch) -> None:
    """A QRS tip read flat on a 100-dpi page once passed for a pulse: 1.7 mm tall and 0.8 mm wide it gives no
    standard gain or speed, and its presence kept the printed "20mm/mV" unread (the page was read at 10)."""
    from ecgdl.classical.pulse import Pulse
    from ecgdl.render import RenderConfig, render_ecg

    rec = _record()
    img, _ = render_ecg(rec, RenderConfig(gain_mm_per_mv=20.0, pulse="none"), np.random.default_rng(1))
    plain = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    find = ClassicalDigitizer._find_pulses

    def with_a_false_pulse(self, ink, rows, *args, **kwargs):
        found = find(self, ink, rows, *args, **kwargs)
        r = rows[0]
        x, y = r.x_start_px, r.baseline_y_px
        found.setdefault(0, []).append(Pulse("start", x, x + 2.0, x + 8.0, x + 10.0, y, y - 13.0))
        return found

    monkeypatch.setattr(ClassicalDigitizer, "_find_pulses", with_a_false_pulse)
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert (out.meta["gain_mm_per_mv"], out.meta["speed_mm_per_s"]) == (20.0, 25.0)
    assert out.meta["calibration"] == "grid+print" and out.meta["n_pulses"] == 0
    assert np.array_equal(out.signal_mv, plain.signal_mv, equal_nan=True)  # the row is not cut either


def test_printed_scales_ignore_other_words() -> None:
    """Header words ("Age: 61 yrs") and lead labels never pass for a speed or a gain."""
    from ecgdl.classical.printed import read_printed_scales
    from ecgdl.render.text import draw_text

    page = np.full((200, 1400, 3), 255, np.uint8)
    for i, word in enumerate(
        ["Age:", "61", "yrs", "Height:", "165", "cm", "aVR", "V5", "1988-04-28,", "mm/s"]
    ):
        draw_text(page, word, 20 + 130 * i, 60, 28)
    text = page.min(axis=2) < 128
    printed = read_printed_scales(text, 7.874)
    assert printed.speed_mm_per_s is None and printed.gain_mm_per_mv is None


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
