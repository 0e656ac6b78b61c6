"""Dense page warp from the grid lines' local phase: paper that bends beyond a homography made flat again.

A photographed print that curls, a soaked page that cockles or a crease leave the grid wavy after the
rectification's homography: a row of trace then sits a few pixels early or late against the rows above and
below it, and a wave drawn vertically bends in time. The grid measures that displacement everywhere it shows.

The grid signal (:func:`~ecgdl.classical.calibration.grid_signal`) is demodulated at the grid's period along x
(vertical lines) and along y (horizontal lines) and smoothed over a few periods across the lines and a couple of
millimetres along them, so the local phase follows a bend whose wavelength is a few centimetres. The phase gives
where the lines lie against a perfectly regular comb, on a lattice of points; it is unwrapped over the lattice,
its affine part (the page's scale and offset, which the rectification and the calibration own) removed, and the
rest smoothed where the grid is faint (amplitude-weighted) and set to zero where no grid shows. The page is then
resampled so every grid line sits on the regular comb (:meth:`GridWarp.remap`).

:func:`grid_warp` returns None when the grid is too sparse to measure, and the page stays as it is when what
it measured is under ``min_rms_px`` (a flat page gains nothing from one more resampling).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from ecgdl.classical.calibration import GridCalibration, grid_signal
from ecgdl.classical.gridfit import best_period

__all__ = ["GridWarp", "grid_warp"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GridWarp:
    """A dense displacement of the page: ``dx_px`` / ``dy_px`` (m, n) float32 on a lattice of ``step_px``
    spacing whose first point is the page's pixel (0, 0). The corrected page's pixel (x, y) shows the warped
    page's pixel (x + dx(x, y), y + dy(x, y)), the displacements interpolated bilinearly between lattice points.
    ``size_wh``: the page's size; ``rms_px``: the displacement's rms over the lattice points with grid."""

    dx_px: np.ndarray
    dy_px: np.ndarray
    step_px: float
    size_wh: tuple[int, int]
    rms_px: float

    def displacement(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dx, dy) at page points ``x``, ``y`` (any shape, float; bilinear between lattice points, held at
        the lattice's edge beyond it)."""
        x = np.asarray(x, np.float32)
        y = np.asarray(y, np.float32)
        # cv2.remap takes maps of under 32767 rows and columns: the points are laid out in rows of 16384
        n = x.size
        cols = max(1, min(n, 16384))
        rows = -(-n // cols)
        pad = rows * cols - n
        u = np.pad((x / self.step_px).ravel(), (0, pad)).reshape(rows, cols)
        v = np.pad((y / self.step_px).ravel(), (0, pad)).reshape(rows, cols)
        out = []
        for field in (self.dx_px, self.dy_px):
            d = cv2.remap(
                np.ascontiguousarray(field, np.float32),
                u,
                v,
                interpolation=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
            out.append(d.ravel()[:n].reshape(x.shape))
        return out[0], out[1]

    def source_points(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the corrected page's points (``x``, ``y``) lie on the page before the warp."""
        dx, dy = self.displacement(x, y)
        return np.asarray(x, np.float32) + dx, np.asarray(y, np.float32) + dy

    def maps(self) -> tuple[np.ndarray, np.ndarray]:
        """cv2.remap maps (H x W float32) from the corrected page into the page before the warp."""
        w, h = self.size_wh
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        return self.source_points(xs, ys)

    def remap(
        self, image: np.ndarray, *, interpolation: int = cv2.INTER_LINEAR, fill: int = 255
    ) -> np.ndarray:
        """``image`` (the page before the warp, H x W or H x W x C) resampled onto the corrected page."""
        map_x, map_y = self.maps()
        value = (fill,) * (image.shape[2] if image.ndim == 3 else 1)
        return cv2.remap(
            image, map_x, map_y, interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=value
        )

    def as_meta(self) -> dict:
        """A JSON-able form (displacements to 0.01 px), the inverse of :meth:`from_meta`."""
        return {
            "step_px": float(self.step_px),
            "size_wh": [int(self.size_wh[0]), int(self.size_wh[1])],
            "rms_px": float(self.rms_px),
            "dx_px": np.round(self.dx_px, 2).tolist(),
            "dy_px": np.round(self.dy_px, 2).tolist(),
        }

    @classmethod
    def from_meta(cls, meta: dict) -> GridWarp:
        return cls(
            np.asarray(meta["dx_px"], np.float32),
            np.asarray(meta["dy_px"], np.float32),
            float(meta["step_px"]),
            (int(meta["size_wh"][0]), int(meta["size_wh"][1])),
            float(meta.get("rms_px", 0.0)),
        )


def _phase_field(
    sig: np.ndarray, period_px: float, across_px: float, along_px: float, step_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Local line offset (mod ``period_px``) and demodulated amplitude of the lines crossing x, on the lattice.

    ``sig`` (H, W): grid signal, lines across x; smoothed over ``across_px`` along x and ``along_px`` along y.
    """
    h, w = sig.shape
    x = np.arange(w, dtype=np.float32)
    # slow shading out (the demodulation window is not a whole number of periods)
    k = max(3, round(2 * period_px) | 1)
    hp = sig - cv2.blur(sig, (k, 1))
    theta = (2 * np.pi / period_px) * x
    ksize = (max(3, round(across_px) | 1), max(1, round(along_px) | 1))
    zr = cv2.blur(hp * np.cos(theta)[None, :], ksize)
    zi = cv2.blur(hp * np.sin(theta)[None, :], ksize)
    ys = np.arange(0, h, step_px).round().astype(int).clip(0, h - 1)
    xs = np.arange(0, w, step_px).round().astype(int).clip(0, w - 1)
    zr, zi = zr[np.ix_(ys, xs)], zi[np.ix_(ys, xs)]
    # a line at x_l = x0 + k P gives sum sig cos = A cos(2 pi x0 / P), sum sig sin = A sin(2 pi x0 / P)
    offset = (np.arctan2(zi, zr) * period_px / (2 * np.pi)).astype(np.float64)
    return offset, np.hypot(zr, zi).astype(np.float64)


def _unwrapped_residual(
    offset: np.ndarray,
    amp: np.ndarray,
    period_px: float,
    step_px: float,
    across_px: float,
    min_amplitude_frac: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The lattice's line offsets on one branch, less their affine part (fitted on the trusted points), and
    the trusted points; None when too few points are trusted."""
    trust = amp >= min_amplitude_frac * np.percentile(amp, 90)
    # a window that reaches past the grid's edge (the margin, the background, a blot) reads a biased phase:
    # only points whose whole window lies on grid count
    reach = max(1, round(across_px / 2 / step_px))
    trust = cv2.erode(trust.astype(np.uint8), np.ones((3, 2 * reach + 1), np.uint8), borderValue=0).astype(
        bool
    )
    if trust.sum() < 20:
        return None
    # one phasor per lattice point; the page's mean offset first, then every point within half a period of a
    # smooth version of the field, which follows a slow drift of the period over the page
    phasor = np.where(trust, np.exp(2j * np.pi * offset / period_px), 0)
    ref = np.angle(phasor.sum()) * period_px / (2 * np.pi)
    d = (offset - ref + period_px / 2) % period_px - period_px / 2
    for sigma in (4.0, 2.0):
        ph = np.where(trust, np.exp(2j * np.pi * d / period_px), 0)
        sm = cv2.GaussianBlur(ph.real, (0, 0), sigma) + 1j * cv2.GaussianBlur(ph.imag, (0, 0), sigma)
        smooth = np.angle(sm) * period_px / (2 * np.pi)
        d = smooth + ((d - smooth + period_px / 2) % period_px - period_px / 2)
    # the affine part (scale, shear and offset) is the rectification's and the calibration's
    m, n = d.shape
    vv, uu = np.mgrid[0:m, 0:n].astype(np.float64) * step_px
    a = np.stack([np.ones(trust.sum()), uu[trust], vv[trust]], axis=1)
    ok = np.ones(len(a), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(a[ok], d[trust][ok], rcond=None)
        r = d[trust] - a @ coef
        sigma_r = 1.4826 * float(np.median(np.abs(r[ok]))) + 1e-6
        ok = np.abs(r) <= max(3 * sigma_r, 0.05 * period_px)
    resid = d - (coef[0] + coef[1] * uu + coef[2] * vv)
    # a point far off what its trusted neighbours say (a label, a stain, a fold's edge), or with too few of
    # them to say anything, is not trusted
    g = cv2.getGaussianKernel(13, 3.0)
    kernel = g @ g.T
    kernel[6, 6] = 0.0  # leave the point itself out
    for _ in range(2):
        w = trust.astype(np.float64)
        num = cv2.filter2D(resid * w, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        den = cv2.filter2D(w, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        off = np.abs(resid - num / np.maximum(den, 1e-9))
        sigma_o = 1.4826 * float(np.median(off[trust & (den > 0.2)])) + 1e-6
        trust = trust & (den > 0.2) & (off <= max(4.0 * sigma_o, 0.02 * period_px))
    if trust.sum() < 20:
        return None
    return resid, trust


def _ink(sig: np.ndarray, max_ink_share: float = 0.05) -> np.ndarray | None:
    """Where the trace's ink lies on the grid signal ``sig`` (unclipped darkness): pixels much darker than the
    grid (over 0.8 of the darkest 0.3 %'s darkness), grown by two pixels; None when that is more than
    ``max_ink_share`` of the page (a grid as dark as the trace) or nothing."""
    level = float(np.percentile(sig[:: max(1, sig.shape[0] // 400), :: max(1, sig.shape[1] // 400)], 99.7))
    if level <= 0:
        return None
    ink = cv2.dilate((sig > 0.8 * level).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return None if ink.mean() > max_ink_share else ink


def _filled_from_next_period(sig: np.ndarray, ink: np.ndarray | None, period_px: float) -> np.ndarray:
    """``sig`` (lines across x) with the ink's pixels replaced by the pixel a period to the left or right.

    A row of trace is a long dark line along the grid's lines, at its own phase: left in, it pulls the lines'
    local phase by pixels; cut out, the hole takes out part of a minor line, whose share of the comb then
    pulls it too. The grid repeats every period, so the pixel a period away shows what the ink hides.
    """
    if ink is None:
        return sig
    h, w = sig.shape
    x = np.arange(w, dtype=np.float32)[None, :].repeat(h, axis=0)
    y = np.arange(h, dtype=np.float32)[:, None].repeat(w, axis=1)
    out = sig.copy()
    todo = ink.copy()
    for shift in (period_px, -period_px, 2 * period_px, -2 * period_px):
        src = cv2.remap(sig, x + shift, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        src_ink = cv2.remap(
            ink.astype(np.uint8), x + shift, y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101
        )
        use = todo & (src_ink == 0)
        out[use] = src[use]
        todo &= ~use
    out[todo] = 0.0
    return out


def _smooth_surface(resid: np.ndarray, weight: np.ndarray, degree: int) -> np.ndarray:
    """A tensor-product polynomial of ``degree`` in x and y fitted to ``resid`` (weights ``weight``, points
    more than 3 sigma off dropped and refitted), evaluated on the whole lattice. Paper curls and bends slowly:
    a few thousand points measure a surface of 16 coefficients far more finely than any point alone."""
    m, n = resid.shape
    v, u = np.mgrid[0:m, 0:n].astype(np.float64)
    u, v = 2 * u / max(n - 1, 1) - 1, 2 * v / max(m - 1, 1) - 1
    basis = np.stack(
        [
            np.polynomial.legendre.legval(u, np.eye(degree + 1)[i])
            * np.polynomial.legendre.legval(v, np.eye(degree + 1)[j])
            for i in range(degree + 1)
            for j in range(degree + 1)
        ],
        axis=-1,
    )
    use = weight > 0
    a, b, w = basis[use], resid[use], np.sqrt(weight[use])
    ok = np.ones(len(b), bool)
    for _ in range(4):
        coef, *_ = np.linalg.lstsq(a[ok] * w[ok, None], b[ok] * w[ok], rcond=None)
        r = np.abs(a @ coef - b)
        sigma = 1.4826 * float(np.median(r[ok])) + 1e-6
        new = r <= 3.0 * sigma
        if (new == ok).all():
            break
        ok = new
    return basis @ coef


def _fill(resid: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """``resid`` smoothed with weights ``weight`` (normalised convolution); where little weight is near, it
    falls to zero (no grid there: no correction)."""
    num = cv2.GaussianBlur(resid * weight, (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    full = cv2.GaussianBlur(np.ones_like(weight), (0, 0), sigma)
    support = np.clip(
        den / np.maximum(full, 1e-9) / 0.25, 0.0, 1.0
    )  # a quarter of the neighbourhood is enough
    return np.where(den > 1e-9, num / np.maximum(den, 1e-9), 0.0) * support


def grid_warp(
    page_rgb: np.ndarray,
    cal: GridCalibration,
    *,
    across_mm: float = 15.0,
    along_mm: float = 6.0,
    step_mm: float = 2.5,
    min_amplitude_frac: float = 0.5,
    smooth_steps: float = 2.0,
    degree: int = 3,
    max_shift_mm: float = 2.0,
    min_rms_px: float = 0.0,
) -> GridWarp | None:
    """The dense warp that makes a rectified page's grid regular (module docstring), or None.

    ``across_mm`` / ``along_mm``: the demodulation window across and along the lines; ``step_mm``: the lattice
    spacing; lattice points whose amplitude is under ``min_amplitude_frac`` of the 90th percentile are filled
    from their neighbours (``smooth_steps`` lattice steps); a field that moves some point more than
    ``max_shift_mm`` is clipped there. None: no grid, too few points, or an rms displacement under
    ``min_rms_px``.
    """
    if not cal.found:
        return None
    dark = grid_signal(page_rgb, clip=1.0).astype(np.float32)
    ink = _ink(dark)
    sig = np.minimum(dark, 0.35)  # as grid_signal clips it: a trace weighs no more than a line
    h, w = sig.shape
    step = step_mm * cal.px_per_mm
    fields, rms = [], []
    for axis in (1, 0):  # 1: vertical lines (x displacement), 0: horizontal lines (y displacement)
        ppm = cal.px_per_mm_x if axis == 1 else cal.px_per_mm_y
        plane = sig if axis == 1 else np.ascontiguousarray(sig.T)
        period = best_period(sig, ppm, axis)
        plane = _filled_from_next_period(
            plane, None if ink is None else (ink if axis == 1 else ink.T), period
        )
        offset, amp = _phase_field(plane, period, across_mm * ppm, along_mm * ppm, step)
        res = _unwrapped_residual(offset, amp, period, step, across_mm * ppm, min_amplitude_frac)
        if res is None:
            log.debug("grid warp: too few grid points along axis %d", axis)
            return None
        resid, trust = res
        weight = np.where(trust, amp / np.percentile(amp, 90), 0.0)
        if degree:
            field = _smooth_surface(resid, weight, degree)
        else:
            field = _fill(resid, weight, smooth_steps)
        field = np.clip(field, -max_shift_mm * ppm, max_shift_mm * ppm)
        rms.append(float(np.sqrt(np.mean(field[trust] ** 2))))
        fields.append(field if axis == 1 else field.T)
    total = float(np.hypot(*rms))
    if total < min_rms_px:
        return None
    dx, dy = fields
    m = min(dx.shape[0], dy.shape[0])
    n = min(dx.shape[1], dy.shape[1])
    return GridWarp(dx[:m, :n].astype(np.float32), dy[:m, :n].astype(np.float32), float(step), (w, h), total)
