"""The page's frame: the input image made into the page the later stages read, and its scale in px/mm.

1. :func:`working_image`: any image array to H x W x 3 uint8 RGB (:mod:`~ecgdl.classical.io`), large pages
   downscaled to ``max_side_px`` first.
2. :func:`rectify_page`: deskew / perspective-correct so grid lines are axis-aligned
   (:func:`~ecgdl.classical.geometry.estimate_rectification`).
3. :func:`calibrate_page`: px/mm along x and y from the grid's periodicity
   (:func:`~ecgdl.classical.calibration.estimate_grid`). When the warped page shows no grid, a line-based warp
   came from the traces themselves and is reduced to a plain rotation (or none). On a page rectified with a
   perspective (a photo) and a grid, the warp is refined from the grid lines' positions
   (:func:`~ecgdl.classical.gridfit.grid_homography`): the angles leave the scale drifting by tenths of a
   percent across a photo, a lead's time by milliseconds.

A grid the pulses later reject (the beats of a steady rhythm on a gridless page, see
:func:`~ecgdl.classical.scales.grid_checked_by_pulses`) gives way to the whole-page prior:
:func:`frame_without_grid`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ecgdl.classical.calibration import GridCalibration, estimate_grid
from ecgdl.classical.geometry import estimate_rectification
from ecgdl.classical.gridfit import grid_homography
from ecgdl.classical.homography import Rectification, rotation_only, warp_image
from ecgdl.data.images import ImageLoadError, to_rgb_uint8
from ecgdl.digitizer import DigitizationError

__all__ = ["PageFrame", "calibrate_page", "frame_without_grid", "rectify_page", "working_image"]


@dataclass(frozen=True)
class PageFrame:
    """The page in the frame the later stages read it in.

    ``image``: the input at working scale (H x W x 3 uint8), ``input_scale`` times the input's size (1: not
    downscaled); ``rect``: the homography from ``image`` to the page; ``page``: the rectified page; ``cal``:
    the page's grid scale (a prior when no grid was found); ``grid_shift_px``: the most the grid refinement
    moved the page (0: not done).
    """

    image: np.ndarray
    input_scale: float
    rect: Rectification
    page: np.ndarray
    cal: GridCalibration
    grid_shift_px: float = 0.0

    @property
    def homography(self) -> np.ndarray:
        """Input pixels -> page pixels (the downscaling, then the rectification)."""
        return self.rect.H @ np.diag([self.input_scale, self.input_scale, 1.0])


def working_image(image_rgb: np.ndarray, max_side_px: int, record_id: str = "") -> tuple[np.ndarray, float]:
    """(the image as H x W x 3 uint8 RGB, downscaled to ``max_side_px`` on its longer side when larger (0:
    never); the scale applied). A :class:`DigitizationError` (stage ``io``) when it is no image or under 32
    px."""
    try:
        image = to_rgb_uint8(image_rgb, name=f"image {record_id!r}" if record_id else "image")
    except ImageLoadError as exc:
        raise DigitizationError(f"io: {exc}") from exc
    h0, w0 = image.shape[:2]
    if min(h0, w0) < 32:
        raise DigitizationError(f"io: image too small ({w0} x {h0} px)")
    scale = 1.0
    if max_side_px and max(h0, w0) > max_side_px:
        scale = max_side_px / max(h0, w0)
        image = cv2.resize(image, (round(w0 * scale), round(h0 * scale)), interpolation=cv2.INTER_AREA)
    return image, scale


def rectify_page(
    image: np.ndarray, *, rectify: bool, perspective: bool, max_angle_deg: float, min_angle_deg: float
) -> tuple[Rectification, np.ndarray]:
    """(the rectification of ``image``, the rectified page); ``rectify`` False: no warp (method ``off``)."""
    if rectify:
        rect = estimate_rectification(
            image, max_angle_deg=max_angle_deg, min_angle_deg=min_angle_deg, perspective=perspective
        )
    else:
        h, w = image.shape[:2]
        rect = Rectification(np.eye(3), (w, h), 0.0, 0.0, method="off")
    return rect, warp_image(image, rect)


def calibrate_page(
    image: np.ndarray,
    input_scale: float,
    rect: Rectification,
    page: np.ndarray,
    *,
    grid_refine: bool,
    min_px_per_mm: float,
    max_px_per_mm: float,
) -> PageFrame:
    """The page's grid scale, the warp reduced to a rotation when no grid shows, or refined from the grid
    lines' positions (``grid_refine``) on a page warped with a perspective (see the module docstring)."""

    def grid(p: np.ndarray) -> GridCalibration:
        return estimate_grid(p, min_px_per_mm=min_px_per_mm, max_px_per_mm=max_px_per_mm)

    cal = grid(page)
    if not cal.found and rect.method == "grid" and not rect.identity:
        # The "lines" were the traces themselves (a page without a grid): their band angles are noise, so a
        # perspective warp from them would distort the page. Keep at most a clear rotation.
        rect = rotation_only(rect, image.shape[1], image.shape[0])
        page = warp_image(image, rect)
        cal = grid(page)
    grid_shift = 0.0
    if grid_refine and cal.found and rect.perspective:
        fit = grid_homography(page, cal)
        if fit is not None:
            rect = replace(rect, H=fit.H @ rect.H)
            page = warp_image(image, rect)
            cal = grid(page)
            grid_shift = fit.max_shift_px
    return PageFrame(image, input_scale, rect, page, cal, grid_shift)


def frame_without_grid(frame: PageFrame, prior: GridCalibration) -> PageFrame:
    """``frame`` read without a grid at the scale ``prior``: a warp from line angles (which were the traces)
    is reduced to a rotation, and the page warped again."""
    rect, page = frame.rect, frame.page
    if rect.method == "grid" and not rect.identity:
        rect = rotation_only(rect, frame.image.shape[1], frame.image.shape[0])
        page = warp_image(frame.image, rect)
    return replace(frame, rect=rect, page=page, cal=prior)
