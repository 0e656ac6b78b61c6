"""Scale calibration: pixels per millimetre from the periodicity of the paper grid.

The page's column profile (vertical grid lines) and row profile (horizontal lines) of a grid-emphasising signal are
analysed in the frequency domain: all grid peaks lie on a harmonic comb whose fundamental is the major (5 mm) or
minor (1 mm) line frequency. The comb's fundamental is found by harmonic summation, the 1 mm / 5 mm ambiguity is
resolved by the strength of the fifth harmonic (minor lines add to it) or, when only one kind of line shows, by a
page-size prior; the minor frequency is then refined to a small fraction of a frequency bin. Works for any grid
colour and for black-and-white copies because the signal is luminance darkness with the trace strokes clipped.

When there is no grid, :func:`calibrate_from_pulse` (a 1 mV x 0.2 s pulse) and :func:`calibrate_from_layout`
(the rows span 10 s) give fallbacks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import fft as sp_fft

from ecgdl.constants import STANDARD_GAIN_MM_PER_MV, STANDARD_SPEED_MM_PER_S

__all__ = [
    "AxisPeriod",
    "GridCalibration",
    "calibrate_from_layout",
    "calibrate_from_pulse",
    "estimate_grid",
    "estimate_period",
    "grid_signal",
    "page_prior_px_per_mm",
]

#: Landscape ECG paper is about this wide; the prior for resolving 1 mm / 5 mm when only one line kind shows.
_TYPICAL_PAGE_WIDTH_MM = 280.0


@dataclass
class AxisPeriod:
    """Grid periodicity along one axis: ``px_per_mm``, line phase ``origin_px`` (a minor line lies there),
    ``strength`` (whitened spectral peak height; about 1 means noise) and whether major lines were seen."""

    px_per_mm: float
    origin_px: float
    strength: float
    major_seen: bool


@dataclass
class GridCalibration:
    """Pixels per millimetre along x (time) and y (amplitude); ``found`` is False when no grid was detected
    (then the values are a prior and ``method`` says which)."""

    px_per_mm_x: float
    px_per_mm_y: float
    found: bool
    method: str = "grid"
    origin_x_px: float = 0.0
    origin_y_px: float = 0.0
    strength: float = 0.0
    # the axes whose profile showed the comb ("x", "y" or "xy"); a comb on one axis only is less sure
    axes: str = "xy"

    @property
    def px_per_mm(self) -> float:
        return float(np.sqrt(self.px_per_mm_x * self.px_per_mm_y))


def grid_signal(image_rgb: np.ndarray, clip: float = 0.35) -> np.ndarray:
    """Float32 H x W map where grid lines are bright: luminance darkness relative to the paper, clipped at
    ``clip`` so the (darker, thicker) traces weigh no more than a grid line."""
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    paper = float(np.percentile(grey[:: max(1, grey.shape[0] // 200), :: max(1, grey.shape[1] // 200)], 90))
    dark = 1.0 - grey.astype(np.float32) / max(paper, 1.0)
    return np.clip(dark, 0.0, clip)


def _whitened_spectrum(profile: np.ndarray, pad: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(freqs in cycles/px, complex spectrum, whitened power) of a high-passed, windowed profile."""
    p = np.asarray(profile, np.float64)
    n = p.size
    k = max(3, int(n // 40) | 1)
    trend = np.convolve(np.pad(p, k, mode="reflect"), np.ones(k) / k, mode="same")[k:-k]
    p = (p - trend) * np.hanning(n)
    m = sp_fft.next_fast_len(pad * n)
    spec = sp_fft.rfft(p, m)
    power = spec.real**2 + spec.imag**2
    freqs = np.arange(power.size) / m
    # Whitening: divide by a broad running median-like floor (running mean of the lower half, via min filters).
    w = max(9, (m // 64) | 1)
    floor = _running_floor(power, w)
    return freqs, spec, power / np.maximum(floor, 1e-12 * max(power.max(), 1e-300))


def _running_floor(x: np.ndarray, w: int) -> np.ndarray:
    """A smooth noise floor: running mean of a running 25th-percentile approximation."""
    # Down-sample, take a percentile per block, and interpolate back (fast and robust to narrow peaks).
    nb = max(8, x.size // w)
    edges = np.linspace(0, x.size, nb + 1).astype(int)
    centres = (edges[:-1] + edges[1:]) / 2.0
    vals = np.array([np.percentile(x[a:b], 50) if b > a else 0.0 for a, b in itertools.pairwise(edges)])
    vals = np.convolve(np.pad(vals, 2, mode="edge"), np.ones(5) / 5.0, mode="valid")
    return np.interp(np.arange(x.size), centres, vals)


def _peak_value(q: np.ndarray, freqs: np.ndarray, f: float, tol_bins: int) -> tuple[float, int]:
    """Largest whitened power within ``tol_bins`` of frequency ``f``, and its bin index."""
    df = freqs[1]
    i = round(f / df)
    lo, hi = max(1, i - tol_bins), min(q.size - 1, i + tol_bins + 1)
    if lo >= hi:
        return 0.0, i
    j = lo + int(np.argmax(q[lo:hi]))
    return float(q[j]), j


def estimate_period(
    profile: np.ndarray,
    *,
    min_px_per_mm: float = 1.5,
    max_px_per_mm: float = 60.0,
    prior_px_per_mm: float | None = None,
    min_strength: float = 8.0,
    min_comb_score: float = 0.5,
    min_fundamental_share: float = 0.02,
) -> AxisPeriod | None:
    """Grid periodicity of a 1-D profile (see module docstring); None when no comb stands out.

    ``prior_px_per_mm`` resolves the 1 mm / 5 mm ambiguity when only one line kind is visible. A comb whose
    fundamental is weaker than ``min_fundamental_share`` of the strongest peak is no candidate: with lines
    7.874 px apart drawn on whole pixels the pattern repeats every 8 lines (63 px), and that comb's many
    harmonics, each with its tolerance, "explain" every small peak while its fundamental is all but absent.
    """
    n = profile.size
    if n < 32:
        return None
    freqs, _, q = _whitened_spectrum(profile)
    df = freqs[1]
    pad = round(1.0 / (df * n))
    tol = max(2, pad)  # one original-resolution bin
    # Fundamental of the comb: major (5 mm) or minor (1 mm) line frequency.
    f_lo = 1.0 / (5.0 * max_px_per_mm)
    f_hi = min(0.45, 1.0 / max(min_px_per_mm, 2.05))
    band = (freqs >= f_lo) & (freqs <= f_hi)
    if not band.any():
        return None
    cand_idx = np.flatnonzero(band)
    # Local maxima of q above threshold as candidate peaks.
    qb = q[cand_idx]
    is_max = np.r_[False, (qb[1:-1] >= qb[:-2]) & (qb[1:-1] >= qb[2:]), False]
    peaks = cand_idx[is_max & (qb >= min_strength)]
    if peaks.size == 0:
        return None
    order = np.argsort(q[peaks])[::-1][:12]
    pk_f = freqs[peaks[order]]
    pk_w = np.sqrt(q[peaks[order]])  # strong peaks dominate; weak aliasing peaks of half-pixel periods do not
    cands: list[tuple[float, float]] = []
    trials = {(float(fi), 1) for fi in pk_f} | {(float(fi), k) for fi in pk_f[:6] for k in range(2, 11)}
    floor = max(min_strength, min_fundamental_share * float(q[peaks].max()))
    for fi, k in sorted(trials):
        f0 = fi / k
        if f0 < f_lo or f0 * 2 > 0.5 or _peak_value(q, freqs, f0, tol)[0] < floor:
            continue
        # Share of the strong peaks (log-weighted) that are harmonics of f0.
        hn = np.maximum(np.round(pk_f / f0), 1.0)
        explained = np.abs(pk_f - hn * f0) <= tol * df * (1.0 + hn / 10.0)
        cands.append((f0, float(pk_w[explained].sum() / pk_w.sum())))
    if not cands:
        return None
    best_score = max(c[1] for c in cands)
    # Every subharmonic explains as much as the true fundamental: take the highest frequency that explains
    # nearly the most.
    best_f0 = max(c[0] for c in cands if c[1] >= 0.85 * best_score)
    if best_f0 <= 0 or best_score < min_comb_score:
        return None
    # Which level of the 1 mm / 5 mm (/ 25 mm) hierarchy is the comb's fundamental? Each level whose fifth
    # harmonic stands out above the fourth and sixth has finer lines below it.
    f0 = best_f0
    hn = np.maximum(np.round(pk_f / f0), 1.0)
    strength = float(np.square(pk_w[np.abs(pk_f - hn * f0) <= tol * df * (1.0 + hn / 10.0)].max()))
    minor_f = f0
    major_seen = False
    for _ in range(2):
        if 6 * minor_f >= 0.48:
            break
        q4 = _peak_value(q, freqs, 4 * minor_f, tol)[0]
        q5 = _peak_value(q, freqs, 5 * minor_f, tol)[0]
        q6 = _peak_value(q, freqs, 6 * minor_f, tol)[0]
        if q5 >= min_strength and q5 > 2.0 * max(q4, q6, 1.0):
            minor_f *= 5.0
            major_seen = True
        else:
            break
    # The finest visible level may still be the 5 mm one (minor lines too faint or below the resolution).
    finer = 5.0 * minor_f
    if 1.0 / finer >= max(min_px_per_mm, 1.2) and prior_px_per_mm:
        if abs(np.log(finer * prior_px_per_mm)) < abs(np.log(minor_f * prior_px_per_mm)):
            minor_f = finer
    elif 1.0 / minor_f > max_px_per_mm:
        minor_f = finer
    # Precise frequency: parabolic interpolation of log power around the minor frequency's harmonics (relative
    # error shrinks with the harmonic number); falls back to the comb fundamental's harmonics.
    f_est = minor_f
    for base in (minor_f, f0):
        ok = False
        for h in range(1, 4):
            fh = base * h
            if fh >= 0.45:
                break
            val, j = _peak_value(q, freqs, fh, tol)
            if val < min_strength or not (0 < j < q.size - 1):
                break
            a, b, c = np.log(q[j - 1] + 1e-30), np.log(q[j] + 1e-30), np.log(q[j + 1] + 1e-30)
            den = a - 2 * b + c
            off = 0.5 * (a - c) / den if den < 0 else 0.0
            f_est = (j + float(np.clip(off, -0.5, 0.5))) * df / h * (minor_f / base)
            ok = True
        if ok:
            break
    px_per_mm = 1.0 / f_est
    if not (min_px_per_mm <= px_per_mm <= max_px_per_mm):
        return None
    # Phase: a minor line sits where the cosine at the minor frequency peaks.
    idx = np.arange(n)
    p = np.asarray(profile, np.float64)
    z = np.sum((p - p.mean()) * np.exp(-2j * np.pi * f_est * idx))
    origin = (-np.angle(z) / (2 * np.pi * f_est)) % px_per_mm
    return AxisPeriod(float(px_per_mm), float(origin), float(strength), bool(major_seen))


def page_prior_px_per_mm(width_px: int, height_px: int) -> float:
    """px/mm if the image shows a whole landscape ECG page (about 280 mm wide): the prior without a grid."""
    return max(width_px, height_px * 1.3) / _TYPICAL_PAGE_WIDTH_MM


def estimate_grid(
    image_rgb: np.ndarray,
    *,
    min_px_per_mm: float = 1.5,
    max_px_per_mm: float = 60.0,
    max_anisotropy: float = 0.1,
    min_grid_strength: float = 100.0,
) -> GridCalibration:
    """px/mm along x and y from the grid of a rectified page; ``found`` False when no grid is seen.

    If only one axis shows a grid (or the two disagree by more than ``max_anisotropy``, relative, in a way that
    a 1 mm / 5 mm confusion explains) the more reliable axis is used for both. A comb weaker than
    ``min_grid_strength`` (squared whitened peak height; real grids give thousands, the faint periodicity of
    traces and text on a page without a grid a few tens) counts as no grid.
    """
    h, w = image_rgb.shape[:2]
    sig = grid_signal(image_rgb)
    col = sig.sum(axis=0, dtype=np.float64)
    row = sig.sum(axis=1, dtype=np.float64)
    prior = page_prior_px_per_mm(w, h)
    kw = dict(min_px_per_mm=min_px_per_mm, max_px_per_mm=max_px_per_mm, prior_px_per_mm=prior)
    ax = estimate_period(col, **kw)
    ay = estimate_period(row, **kw)
    if ax is None and ay is None:
        return GridCalibration(prior, prior, False, method="prior")
    if ax is not None and ay is not None:
        ratio = ax.px_per_mm / ay.px_per_mm
        if abs(np.log(ratio)) > np.log(1.0 + max_anisotropy):
            # Disagreement: trust the axis that saw major lines, else the stronger one, and retry the other near it.
            ref = ax if (ax.major_seen, ax.strength) >= (ay.major_seen, ay.strength) else ay
            other_profile = row if ref is ax else col
            other = estimate_period(
                other_profile,
                min_px_per_mm=ref.px_per_mm / (1 + max_anisotropy),
                max_px_per_mm=ref.px_per_mm * (1 + max_anisotropy),
                prior_px_per_mm=ref.px_per_mm,
            )
            if ref is ax:
                ay = other
            else:
                ax = other
    axes = ("x" if ax is not None else "") + ("y" if ay is not None else "")
    if ax is None:
        ax = AxisPeriod(ay.px_per_mm, 0.0, 0.0, False)
    if ay is None:
        ay = AxisPeriod(ax.px_per_mm, 0.0, 0.0, False)
    strength = float(min(ax.strength or ay.strength, ay.strength or ax.strength))
    if strength < min_grid_strength:
        return GridCalibration(prior, prior, False, method="prior", strength=strength)
    return GridCalibration(
        ax.px_per_mm,
        ay.px_per_mm,
        True,
        method="grid",
        origin_x_px=ax.origin_px,
        origin_y_px=ay.origin_px,
        strength=strength,
        axes=axes,
    )


def calibrate_from_pulse(
    pulse_height_px: float, pulse_width_px: float, pulse_mv: float = 1.0, pulse_s: float = 0.2
) -> tuple[float, float]:
    """(px_per_mv, px_per_s) from a calibration pulse of ``pulse_mv`` by ``pulse_s`` (no grid needed)."""
    if pulse_height_px <= 0 or pulse_width_px <= 0:
        raise ValueError("pulse height and width must be positive")
    return pulse_height_px / pulse_mv, pulse_width_px / pulse_s


def calibrate_from_layout(
    row_width_px: float,
    duration_s: float = 10.0,
    speed_mm_per_s: float = STANDARD_SPEED_MM_PER_S,
    gain_mm_per_mv: float = STANDARD_GAIN_MM_PER_MV,
) -> tuple[float, float, float]:
    """(px_per_mm, px_per_s, px_per_mv) assuming a row of ``row_width_px`` shows ``duration_s`` at the given
    paper speed and gain (the last resort when there is neither grid nor pulse)."""
    if row_width_px <= 0 or duration_s <= 0:
        raise ValueError("row width and duration must be positive")
    px_per_s = row_width_px / duration_s
    px_per_mm = px_per_s / speed_mm_per_s
    return px_per_mm, px_per_s, px_per_mm * gain_mm_per_mv
