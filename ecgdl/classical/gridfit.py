"""Residual page warp from the grid lines' local phase: a homography that makes the grid exactly regular.

The rectification (:mod:`ecgdl.classical.geometry`) takes a photo's perspective from the grid lines' angles,
which nearly parallel lines give only roughly: after it the scale still drifts across the page by a few tenths of
a percent, and a lead then runs a few milliseconds early at one end and late at the other, which costs a photo
more SNR than its trace reading does. The lines' *positions* measure that drift far more finely.

Per horizontal band of the rectified page, the column profile of the grid signal is demodulated at the grid's
period (the 5 mm major lines, or the 1 mm minor lines where those are the clearer comb): the phase of the
smoothed demodulated profile gives the grid's local displacement from a perfectly regular comb, to a small
fraction of a pixel. Likewise per vertical band for the horizontal lines. A homography is fitted (linear least
squares, outliers dropped) that moves every measured point onto the regular comb; :func:`grid_homography` returns
it when it is well supported and small, else None.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from ecgdl.classical.calibration import GridCalibration, grid_signal

__all__ = ["GridFit", "grid_displacements", "grid_homography"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GridFit:
    """A fitted grid correction: ``H`` (3 x 3) maps rectified-page pixels to corrected ones; ``max_shift_px`` is
    the largest move it makes on the page; ``rms_px`` the fit's residual on the points kept; ``n_points`` how
    many (x and y constraints together)."""

    H: np.ndarray
    max_shift_px: float
    rms_px: float
    n_points: int


def grid_displacements(
    profile_map: np.ndarray, period_px: float, n_bands: int, window_px: float, step_px: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Displacement of vertical grid lines from a regular comb of ``period_px``, per horizontal band.

    ``profile_map`` (H, W): the grid signal (lines bright). The page is cut into ``n_bands`` horizontal bands; each
    band's column profile is demodulated at ``1 / period_px``, smoothed over ``window_px`` and read every
    ``step_px``. Returns (x (n,), band centres y (m,), displacement d (m, n) px, amplitude a (m, n)): a line of the
    comb ``x0 + k * period_px`` lies at ``x + d``, ``d`` known modulo ``period_px`` (the caller unwraps it over the
    points it trusts).
    """
    h, w = profile_map.shape
    edges = np.linspace(0, h, n_bands + 1).round().astype(int)
    x = np.arange(w, dtype=np.float64)
    carrier = np.exp(-2j * np.pi * x / period_px)
    samples = np.arange(window_px / 2, w - window_px / 2, step_px).round().astype(int)
    win = max(3, round(window_px))
    d = np.zeros((n_bands, samples.size))
    amp = np.zeros((n_bands, samples.size))
    for b in range(n_bands):
        prof = profile_map[edges[b] : edges[b + 1]].mean(axis=0, dtype=np.float64)
        prof = prof - uniform_filter1d(prof, max(3, round(2 * period_px)))  # no slow shading
        z = prof * carrier
        zs = uniform_filter1d(z.real, win) + 1j * uniform_filter1d(z.imag, win)
        zk = zs[samples]
        amp[b] = np.abs(zk)
        # a line at x_l = x0 + k P + d gives phase -2 pi (x0 + d) / P in the demodulated profile
        d[b] = -np.angle(zk) * period_px / (2 * np.pi)
    centres = (edges[:-1] + edges[1:]) / 2.0
    return samples.astype(np.float64), centres, d, amp


def _best_period(sig: np.ndarray, px_per_mm: float, axis: int) -> float:
    """The comb to demodulate along ``axis`` (1: x, 0: y): the 5 mm major lines', or the 1 mm minor lines' where
    those are at least 3 px apart and twice as clear (mean demodulated amplitude relative to the profile's spread)."""
    prof = sig.mean(axis=1 - axis, dtype=np.float64)
    prof = prof - uniform_filter1d(prof, max(3, round(10 * px_per_mm)))
    t = np.arange(prof.size)

    def score(period: float) -> float:
        return abs(np.mean(prof * np.exp(-2j * np.pi * t / period))) / (prof.std() + 1e-12)

    major, minor = 5.0 * px_per_mm, px_per_mm
    # the 5 mm comb unwraps safely (a 1 mm one slips a period on a few pixels' error): minors only where they are
    # resolved (3 px or more) and give a far clearer comb
    if minor >= 3.0 and score(minor) > 2.0 * score(major):
        return minor
    return major


def grid_homography(
    page_rgb: np.ndarray,
    cal: GridCalibration,
    *,
    n_bands: int = 12,
    window_mm: float = 15.0,
    step_mm: float = 5.0,
    min_amplitude_frac: float = 0.6,
    max_shift_mm: float = 3.0,
    max_rms_frac: float = 0.02,
    min_points: int = 60,
) -> GridFit | None:
    """The homography that makes the grid of a rectified page regular (see the module docstring), or None.

    ``cal``: the page's grid calibration (``found`` must be True). Points whose demodulated amplitude is under
    ``min_amplitude_frac`` of its 90th percentile are not used (off the page, a window across its edge, a blot);
    a fit that moves some point of the grid more than ``max_shift_mm``, leaves an rms residual above
    ``max_rms_frac`` of the period, or rests on fewer than ``min_points`` points is refused (None): the page keeps
    its rectification.
    """
    if not cal.found:
        return None
    sig = grid_signal(page_rgb).astype(np.float32)
    h, w = sig.shape
    rows_a, rows_b, axes, points = [], [], [], []
    periods = []
    for axis in (1, 0):  # 1: vertical lines (x positions), 0: horizontal lines (y positions)
        ppm = cal.px_per_mm_x if axis == 1 else cal.px_per_mm_y
        plane = sig if axis == 1 else sig.T
        period = _best_period(sig, ppm, axis)
        periods.append(period)
        pos, centres, d, amp = grid_displacements(plane, period, n_bands, window_mm * ppm, step_mm * ppm)
        keep = amp >= min_amplitude_frac * np.percentile(amp, 90)
        # a window reaching past the grid's edge reads a biased phase: drop the first and last point of each run
        keep[:, 1:-1] &= keep[:, :-2] & keep[:, 2:]
        keep[:, [0, -1]] = False
        if not keep.any():
            continue
        # unwrapped over the trusted points of each band, then every band on one branch (the residual warp is far
        # smaller than half a period)
        band_mid = np.full(len(d), np.nan)
        for i in np.flatnonzero(keep.any(axis=1)):
            k = keep[i]
            d[i, k] = np.unwrap(d[i, k], period=period)
            band_mid[i] = np.median(d[i, k])
        ref = float(np.nanmedian(band_mid))
        d -= np.nan_to_num(np.round((band_mid - ref) / period)[:, None] * period)
        # constraint: the point (u, v) (u along the axis, v across) goes to u - d + median(d), onto the regular
        # comb, with no overall shift
        target_shift = float(np.median(d[keep]))
        for b in range(len(centres)):
            for k in np.flatnonzero(keep[b]):
                u, v = pos[k], centres[b]
                xy = (u, v) if axis == 1 else (v, u)
                goal = u - d[b, k] + target_shift
                # (h_a . (x, y, 1)) - goal * (h31 x + h32 y) = goal, h_a the row of H for this coordinate
                row = np.zeros(8)
                base = 0 if axis == 1 else 3
                row[base : base + 3] = (xy[0], xy[1], 1.0)
                row[6:8] = (-goal * xy[0], -goal * xy[1])
                rows_a.append(row)
                rows_b.append(goal)
                points.append(xy)
                axes.append(axis)
    if len(rows_a) < min_points or len(set(axes)) < 2:
        log.debug("grid refinement refused: %d points", len(rows_a))
        return None
    # solved in coordinates divided by the page size (conditioning); H = S^-1 H_n S with S = diag(1/s, 1/s, 1)
    s = float(max(h, w))
    a, b = np.asarray(rows_a) / s, np.asarray(rows_b) / s
    a[:, [2, 5]] *= s  # the constant terms stay 1
    a[:, 6:8] /= s  # -goal * x: a product of two scaled quantities
    tol_px = 0.02 * float(np.median(periods))
    ok = np.ones(len(b), bool)
    for _ in range(5):  # refit without the points far off the fit (trace ink, a band mis-unwrapped)
        sol, *_ = np.linalg.lstsq(a[ok], b[ok], rcond=None)
        resid_px = np.abs(a @ sol - b) * s
        rms_px = float(np.sqrt(np.mean(resid_px[ok] ** 2)))
        sigma = 1.4826 * float(np.median(resid_px[ok]))
        ok_new = resid_px <= max(3.0 * sigma, tol_px)
        if ok_new.sum() < min_points or (ok_new == ok).all():
            break
        ok = ok_new
    S = np.diag([1.0 / s, 1.0 / s, 1.0])
    h_fit = np.linalg.inv(S) @ np.append(sol, 1.0).reshape(3, 3) @ S
    h_fit /= h_fit[2, 2]
    # how far it moves the grid (the page), not the canvas' empty corners
    (x0, y0), (x1, y1) = np.min(points, axis=0), np.max(points, axis=0)
    grid = np.array([[x, y, 1.0] for x in np.linspace(x0, x1, 5) for y in np.linspace(y0, y1, 5)])
    moved = grid @ h_fit.T
    shift = float(np.max(np.hypot(*(moved[:, :2] / moved[:, 2:] - grid[:, :2]).T)))
    if shift > max_shift_mm * cal.px_per_mm or rms_px > max_rms_frac * float(np.median(periods)):
        log.debug("grid refinement refused: shift %.1f px, rms %.2f px, %d points", shift, rms_px, ok.sum())
        return None
    return GridFit(h_fit, shift, rms_px, int(ok.sum()))
