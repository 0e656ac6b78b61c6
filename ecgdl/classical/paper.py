"""The paper in a picture: which pixels belong to the page and which to a darker background around it.

A scanned or photographed page often lies on a dark table or scanner lid, partly out of frame, and the
background's texture and noise read as ink (rows of "trace" along the page's edges) and as grid periodicity.
:func:`paper_mask` finds the background as the dark regions connected to the image's border, on a downscaled,
median-filtered copy (thin strokes vanish there, so a trace running into the border does not count), and only
when the background is less than half as bright as the paper; :func:`blank_background` paints it in the paper's colour,
so every later stage sees a page with nothing outside it.
"""

from __future__ import annotations

import cv2
import numpy as np

from ecgdl.classical.homography import Rectification

__all__ = ["blank_background", "paper_mask", "warp_mask"]


def paper_mask(
    image_rgb: np.ndarray,
    *,
    max_side_px: int = 600,
    max_dark_ratio: float = 0.5,
    min_background: float = 0.002,
    max_background: float = 0.7,
) -> np.ndarray | None:
    """Bool H x W mask of the paper, or None when no background shows (the whole image is page).

    Background: pixels of the downscaled, median-filtered grey image darker than ``max_dark_ratio`` times the
    image's median level (the paper's, as long as the paper covers most of the picture) that are connected to
    the image's border, when they cover between ``min_background`` and ``max_background`` of the image. The paper is the largest remaining region
    with its holes filled (ink, dark stains and shadows inside the page stay paper).
    """
    h, w = image_rgb.shape[:2]
    scale = min(1.0, max_side_px / max(h, w))
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(
        grey, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    small = cv2.medianBlur(small, 5)
    paper_level = float(np.median(small))
    dark = (small < max_dark_ratio * paper_level).astype(np.uint8)
    # dark regions touching the border: flood from every border pixel that is dark
    n, labels = cv2.connectedComponents(dark.astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    border = border[border > 0]
    if border.size == 0 or n <= 1:
        return None
    background = np.isin(labels, border)
    share = float(background.mean())
    if not (min_background <= share <= max_background):
        return None
    paper = (~background).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    if n <= 1:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    paper = (labels == biggest).astype(np.uint8)
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(paper)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    # a margin of one downscaled pixel goes to the background: the page's edge is a dark step
    filled = cv2.erode(filled, np.ones((3, 3), np.uint8))
    return cv2.resize(filled, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def blank_background(image_rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """``image_rgb`` with the pixels outside the paper ``mask`` painted the paper's colour (its 75th
    percentile per channel: the paper, not its grid or ink); the image itself when ``mask`` is None."""
    if mask is None:
        return image_rgb
    paper = image_rgb[mask]
    colour = np.percentile(paper[:: max(1, paper.shape[0] // 20000)], 75, axis=0).astype(np.uint8)
    out = image_rgb.copy()
    out[~mask] = colour
    return out


def warp_mask(mask: np.ndarray | None, rect: Rectification) -> np.ndarray | None:
    """The paper ``mask`` in the pixels of the page ``rect`` makes (outside the picture: not paper); None
    stays None."""
    if mask is None or rect.identity:
        return mask
    warped = cv2.warpPerspective(
        mask.astype(np.uint8), rect.H, rect.out_size, flags=cv2.INTER_NEAREST, borderValue=0
    )
    return warped.astype(bool)
