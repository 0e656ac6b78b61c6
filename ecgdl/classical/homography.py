"""Page homographies: the :class:`Rectification` record, homographies from a rotation or from the two line
families' vanishing points, and warping a page with one.

:mod:`~ecgdl.classical.geometry` measures the line directions these are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = [
    "Rectification",
    "fit_canvas",
    "homography_from_vanishing_points",
    "rotation_homography",
    "rotation_only",
    "warp_image",
]


@dataclass
class Rectification:
    """A page homography: ``H`` (3 x 3) maps input pixel (x, y, 1) to output pixels of size ``out_size`` (w, h).

    ``identity`` means the page needed no warp (``H`` is the identity and the output is the input).
    """

    H: np.ndarray
    out_size: tuple[int, int]
    angle_h_deg: float
    angle_v_deg: float
    perspective: bool = False
    identity: bool = True
    confidence: float = 0.0
    method: str = "grid"
    band_angles_deg: dict[str, list[float]] = field(default_factory=dict)


def rotation_homography(angle_deg: float, size_wh: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """Homography that rotates lines at ``angle_deg`` back to horizontal, on a canvas grown to hold the page."""
    _w, _h = size_wh
    a = np.deg2rad(angle_deg)
    vh = np.array([np.cos(a), np.sin(a), 0.0])
    vv = np.array([-np.sin(a), np.cos(a), 0.0])
    return homography_from_vanishing_points(vh, vv, size_wh)


def homography_from_vanishing_points(
    vh: np.ndarray, vv: np.ndarray, size_wh: tuple[int, int], max_growth: float = 1.6
) -> tuple[np.ndarray, tuple[int, int]]:
    """Homography sending vanishing points ``vh`` (horizontal lines) and ``vv`` (vertical lines) to infinity.

    The result keeps the local scale at the image centre, maps right to right and down to down, and is translated
    so the whole input fits in the output (whose size is returned, limited to ``max_growth`` times the input).
    """
    w, h = size_wh
    p0 = np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0])
    vh = np.asarray(vh, np.float64)
    vv = np.asarray(vv, np.float64)
    row_x = np.cross(vv, p0)  # zero on the vertical line through the centre
    row_y = np.cross(vh, p0)  # zero on the horizontal line through the centre
    row_w = np.cross(vh, vv)
    if abs(row_w @ p0) < 1e-12 * np.linalg.norm(row_w) * np.linalg.norm(p0):
        raise ValueError("degenerate vanishing points (the two line families are parallel)")
    row_w = row_w / (row_w @ p0)
    H = np.stack([row_x, row_y, row_w])
    # Local Jacobian at the centre: make it orientation- and scale-preserving along each family.
    J = _jacobian(H, p0[:2])
    dh = _unit_dir(vh, p0)
    dv = _unit_dir(vv, p0)
    if dh[0] < 0:
        dh = -dh
    if dv[1] < 0:
        dv = -dv
    sx = (J @ dh)[0]
    sy = (J @ dv)[1]
    if abs(sx) < 1e-12 or abs(sy) < 1e-12:
        raise ValueError("degenerate homography")
    H = np.diag([1.0 / sx, 1.0 / sy, 1.0]) @ H
    return fit_canvas(H, size_wh, max_growth)


def fit_canvas(
    H: np.ndarray, size_wh: tuple[int, int], max_growth: float = 1.6
) -> tuple[np.ndarray, tuple[int, int]]:
    """Translate ``H`` so the mapped input lies at the output's top-left; return it and the output size."""
    w, h = size_wh
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
    den = np.c_[corners, np.ones(4)] @ H[2]
    if np.any(den <= 0):
        raise ValueError("the vanishing line crosses the page (implausible perspective)")
    mapped = _apply(H, corners)
    lo = mapped.min(axis=0)
    size = mapped.max(axis=0) - lo + 1
    if not np.all(np.isfinite(size)) or np.any(size > np.array([w, h], np.float64) * max_growth):
        raise ValueError("rectified page would be too large (implausible perspective)")
    T = np.array([[1.0, 0.0, -lo[0]], [0.0, 1.0, -lo[1]], [0.0, 0.0, 1.0]])
    H = T @ H
    return H / H[2, 2], (int(np.ceil(size[0])), int(np.ceil(size[1])))


def _unit_dir(v: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """Unit direction from p0 toward the (possibly infinite) point v."""
    d = v[:2].copy() if abs(v[2]) < 1e-12 * max(1.0, np.abs(v[:2]).max()) else v[:2] / v[2] - p0[:2]
    n = np.hypot(*d)
    return d / n if n > 0 else np.array([1.0, 0.0])


def _apply(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    ph = np.c_[pts, np.ones(len(pts))] @ H.T
    return ph[:, :2] / ph[:, 2:3]


def _jacobian(H: np.ndarray, p: np.ndarray) -> np.ndarray:
    x, y = p
    d = H[2, 0] * x + H[2, 1] * y + H[2, 2]
    u = H[0, 0] * x + H[0, 1] * y + H[0, 2]
    v = H[1, 0] * x + H[1, 1] * y + H[1, 2]
    return np.array(
        [
            [(H[0, 0] * d - u * H[2, 0]) / d**2, (H[0, 1] * d - u * H[2, 1]) / d**2],
            [(H[1, 0] * d - v * H[2, 0]) / d**2, (H[1, 1] * d - v * H[2, 1]) / d**2],
        ]
    )


def warp_image(image_rgb: np.ndarray, rect: Rectification) -> np.ndarray:
    """Apply a rectification (white fill outside the page)."""
    if rect.identity:
        return image_rgb
    return cv2.warpPerspective(
        image_rgb,
        rect.H,
        rect.out_size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )


def rotation_only(rect: Rectification, width: int, height: int, min_deg: float = 0.5) -> Rectification:
    """``rect`` reduced to a plain rotation by its horizontal angle, or no warp when that is under ``min_deg``
    (for a page of ``width`` x ``height`` px)."""
    if abs(rect.angle_h_deg) < min_deg:
        return Rectification(np.eye(3), (width, height), rect.angle_h_deg, rect.angle_v_deg, method="none")
    H, size = rotation_homography(rect.angle_h_deg, (width, height))
    return Rectification(
        H,
        size,
        rect.angle_h_deg,
        rect.angle_h_deg,
        identity=False,
        confidence=rect.confidence,
        method="rotation",
    )
