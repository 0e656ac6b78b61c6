"""Pages for the classical digitizer's tests: drawn grids and curves, synthetic records, the SNR metric."""

from __future__ import annotations

import cv2
import numpy as np

from ecgdl.signals.record import EcgRecord

__all__ = [
    "draw_curve",
    "draw_spiky_rows",
    "fast_record",
    "grid_page",
    "plain_record",
    "rotate",
    "snr_db",
    "tilted",
    "wandering_record",
]


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


def plain_record(fs_hz: float = 500.0) -> EcgRecord:
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


def snr_db(truth: np.ndarray, pred: np.ndarray, fs_hz: float) -> float:
    from ecgdl.metrics.snr import snr_kaggle

    return float(snr_kaggle(truth, np.nan_to_num(pred), fs_hz).snr_db)


def wandering_record() -> EcgRecord:
    """:func:`plain_record` plus a 0.15 mV baseline wander: at 50 mm/s the plain record's first 0.35 s are a line
    flat to a pixel for more than 12 mm, which the digitizer takes for a grid line running into the trace."""
    rec = plain_record()
    t = np.arange(rec.n_samples) / rec.fs_hz
    return EcgRecord(rec.signal_mv + 0.15 * np.sin(2 * np.pi * 1.7 * t)[:, None], rec.fs_hz, "wander")


def fast_record(fs_hz: float = 500.0, rr_s: float = 0.3) -> EcgRecord:
    """200 beats/min: the zero line is never flat for 8 mm at a stretch (only between the spikes)."""
    t = np.arange(int(10 * fs_hz)) / fs_hz
    beats = sum(np.exp(-0.5 * ((t - tb) / 0.012) ** 2) for tb in np.arange(0.1, 10, rr_s))
    waves = sum(0.3 * np.exp(-0.5 * ((t - tb - 0.15) / 0.04) ** 2) for tb in np.arange(0.1, 10, rr_s))
    sig = np.stack([(0.5 + 0.05 * j) * beats * (1 if j % 2 else -1) + waves for j in range(12)], axis=1)
    return EcgRecord(sig, fs_hz, "fast")


def draw_spiky_rows(
    page: np.ndarray, bases: tuple[float, ...], x0: float = 150, x1: float = 1250
) -> np.ndarray:
    """Draw rows of trace (a narrow spike every 160 px on a slow wave) at zero lines ``bases``; the x samples."""
    xs = np.arange(x0, x1, 0.5)
    spikes = sum(np.exp(-0.5 * ((xs - c) / 3.0) ** 2) for c in np.arange(x0 + 50, x1, 160))
    for base in bases:
        draw_curve(page, xs, base - 60 * spikes - 2 * np.sin(xs / 25))
    return xs
