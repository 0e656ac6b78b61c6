"""Classical digitizer, the page's frame: rectification (deskew, perspective, grid refinement) and the grid's
scale in px/mm (:mod:`ecgdl.classical.geometry`, :mod:`~ecgdl.classical.homography`,
:mod:`~ecgdl.classical.gridfit`, :mod:`~ecgdl.classical.calibration`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.calibration import (
    calibrate_from_layout,
    calibrate_from_pulse,
    estimate_grid,
    estimate_period,
)
from ecgdl.classical.geometry import estimate_rectification
from ecgdl.classical.gridfit import grid_homography
from ecgdl.classical.homography import homography_from_vanishing_points, warp_image
from tests.unit.classical.pages import draw_curve, grid_page, plain_record, rotate, snr_db, tilted


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


def test_digitizer_on_a_rotated_render() -> None:
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    img, truth = render_ecg(rec, RenderConfig(), np.random.default_rng(0))
    out = ClassicalDigitizer().digitize(rotate(img, 6.0), rec.fs_hz, rec.n_samples)
    assert abs(out.meta["rotation_deg"] + 6.0) < 0.2
    assert out.meta["segments_frame"] == "rectified" and np.asarray(out.meta["homography"]).shape == (3, 3)
    assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 12.0
