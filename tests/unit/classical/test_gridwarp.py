"""The dense grid warp: a bent grid measured and flattened, a flat one left alone, and rectified points mapped
back onto the picture they came from."""

from __future__ import annotations

import cv2
import numpy as np

from ecgdl.classical.calibration import estimate_grid
from ecgdl.classical.gridwarp import GridWarp, grid_warp
from ecgdl.classical.meta import page_to_input
from tests.unit.classical.pages import draw_curve, grid_page


def _page_with_rows() -> np.ndarray:
    page = grid_page(1800, 1300, ppm=7.874)
    xs = np.arange(100, 1700, 0.5)
    for base in (300, 600, 900, 1150):  # rows of trace with QRS-like spikes, as on a page
        draw_curve(page, xs, base - 60 * np.exp(-0.5 * (((xs % 180) - 90) / 4.0) ** 2))
    return page


def _bent(page: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``page`` seen through a smooth bend: out(x, y) = page(x + dx(y), y + dy(x)); (out, dx, dy) per pixel."""
    h, w = page.shape[:2]
    x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    dx = (3.0 * np.sin(2 * np.pi * y / 450 + 0.3) + 1.5 * np.sin(2 * np.pi * y / 800)).astype(np.float32)
    dy = (3.0 * np.sin(2 * np.pi * x / 550 + 1.0) + 1.5 * np.sin(2 * np.pi * x / 900)).astype(np.float32)
    out = cv2.remap(page, x + dx, y + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return out, dx, dy


def _affine_free(e: np.ndarray) -> np.ndarray:
    """``e`` less its least-squares plane (the warp leaves the page's scale and offset to the calibration)."""
    h, w = e.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = np.stack([np.ones(e.size), x.ravel(), y.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(a, e.ravel().astype(np.float64), rcond=None)
    return e - (a @ coef).reshape(e.shape)


def _a_bent_grid_is_measured_to_a_fraction_of_its_bend() -> None:
    bent, dx, dy = _bent(_page_with_rows())
    warp = grid_warp(bent, estimate_grid(bent))
    assert warp is not None and warp.size_wh == (bent.shape[1], bent.shape[0])
    map_x, map_y = warp.maps()
    h, w = bent.shape[:2]
    x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    inner = np.s_[120:-120, 120:-120]
    # the bent picture shows page(p) at p - d(p) (to first order): the warp must point there
    for measured, truth in ((map_x - x, -dx), (map_y - y, -dy)):
        err = _affine_free((measured - truth)[inner])
        size = np.sqrt(np.mean(_affine_free(truth[inner]) ** 2))
        assert size > 2.0
        assert np.sqrt(np.mean(err**2)) < 0.3 * size


def _the_flattened_page_reads_its_rows_straight_again() -> None:
    page = _page_with_rows()
    bent, _, _ = _bent(page)
    warp = grid_warp(bent, estimate_grid(bent))
    flat = warp.remap(bent)
    # each trace row's zero line (its darkest pixel row between spikes) runs straight again: the bend moves it
    # up and down by up to 4.5 px along the page, the flattened page by a pixel either way at most
    for base in (300, 600, 900):
        for img, lo, hi in ((page, 0, 0), (bent, 6, 10), (flat, 0, 2)):
            ys = []
            for x in range(200, 1600, 100):
                x += 50 if 60 < x % 180 < 120 else 0  # between spikes (every 180 px from 90)
                darkness = 255 - img[base - 30 : base + 30, x, :].min(axis=1).astype(float)
                ys.append(int(np.argmax(darkness)))
            assert lo <= np.ptp(ys) <= hi


def test_a_flat_grid_is_left_alone() -> None:
    page = _page_with_rows()
    assert grid_warp(page, estimate_grid(page), min_rms_px=0.5) is None
    warp = grid_warp(page, estimate_grid(page))
    assert warp is not None and warp.rms_px < 0.2
    blank = np.full((900, 1200, 3), 255, np.uint8)
    assert grid_warp(blank, estimate_grid(blank)) is None


def test_rectified_points_map_back_through_the_warp_and_the_homography() -> None:
    warp = GridWarp(
        dx_px=np.full((5, 6), 2.0, np.float32),
        dy_px=np.full((5, 6), -1.0, np.float32),
        step_px=20.0,
        size_wh=(120, 100),
        rms_px=2.2,
    )
    assert GridWarp.from_meta(warp.as_meta()).rms_px == warp.rms_px
    h = np.array([[2.0, 0.0, 10.0], [0.0, 2.0, -4.0], [0.0, 0.0, 1.0]])  # input -> page: x2, shifted
    meta = {"segments_frame": "rectified", "homography": h.tolist(), "page_warp": warp.as_meta()}
    to_input = page_to_input(meta)
    x, y = to_input(np.array([30.0, 50.0]), np.array([40.0, 60.0]))
    # page (30, 40) shows the homography's page at (32, 39), which is input ((32 - 10) / 2, (39 + 4) / 2)
    np.testing.assert_allclose(x, [11.0, 21.0])
    np.testing.assert_allclose(y, [21.5, 31.5])
    assert page_to_input({"segments_frame": "input"}) is None
