"""Paper speed and gain printed on the page ("25mm/s", "10mm/mV"), read by comparing words with drawn candidates.

A page without a calibration pulse says its speed and gain only in print (ECG-Image-Kit and most carts put
them in the footer). The vocabulary is a handful of strings, so no OCR engine is needed (and Tesseract, the
usual one, is a system binary pip cannot install): each word-sized group of text-like ink is compared with
every candidate string drawn in DejaVu Sans and stretched to the word's box (which absorbs condensed or wider
fonts), by normalised correlation. A reading counts only when its best candidate is clearly ahead of the
others of its kind, so a page without such print keeps the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["GAIN_TEXTS", "SPEED_TEXTS", "PrintedScales", "read_printed_scales", "word_boxes"]

#: candidate strings and what they say
SPEED_TEXTS: dict[str, float] = {"12.5mm/s": 12.5, "25mm/s": 25.0, "50mm/s": 50.0}
GAIN_TEXTS: dict[str, float] = {"2.5mm/mV": 2.5, "5mm/mV": 5.0, "10mm/mV": 10.0, "20mm/mV": 20.0}
_TEMPLATE_PX = 48  # candidates are drawn at this size, then stretched to each word's box
#: DejaVu Sans, shipped with matplotlib (no system fonts needed); the renderer prints with it too
_FONT_FILE = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


@dataclass(frozen=True)
class PrintedScales:
    """What the page says (None: not read with confidence) and the winning scores (normalised correlation)."""

    speed_mm_per_s: float | None = None
    gain_mm_per_mv: float | None = None
    speed_score: float = 0.0
    gain_score: float = 0.0


def word_boxes(
    text: np.ndarray, px_per_mm: float, min_height_mm: float = 1.2, max_height_mm: float = 6.0
) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) boxes of words: characters of a text mask (bool H x W) joined across gaps under ~0.6 mm
    (letter spacing; a word space is wider), keeping boxes of text height that are wider than tall."""
    gap = max(1, round(0.6 * px_per_mm))
    joined = cv2.dilate(text.astype(np.uint8), np.ones((1, 2 * gap + 1), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    boxes = []
    for x, y, w, h, _area in stats[1:]:
        x0, x1 = x + gap, x + w - gap  # undo the dilation
        if not (min_height_mm * px_per_mm <= h <= max_height_mm * px_per_mm) or x1 - x0 < 2 * h:
            continue
        boxes.append((int(x0), int(y), int(x1), int(y + h)))
    return boxes


@lru_cache(maxsize=16)
def _drawn(text: str) -> np.ndarray:
    """``text`` drawn in DejaVu Sans at ``_TEMPLATE_PX`` px: alpha uint8 h x w, cropped to the font's box."""
    font = ImageFont.truetype(str(_FONT_FILE), _TEMPLATE_PX)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(canvas).text((-left, -top), text, font=font, fill=255)
    alpha = np.asarray(canvas)
    alpha.setflags(write=False)
    return alpha


def _candidate(text: str, w: int, h: int) -> np.ndarray:
    """Candidate ``text`` drawn, cropped to its ink and stretched to ``w`` x ``h`` px (float32 in [0, 1])."""
    alpha = _drawn(text)
    ys, xs = np.nonzero(alpha > 64)
    ink = alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return cv2.resize(ink.astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_AREA)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _best(
    words: list[np.ndarray], texts: dict[str, float], min_score: float, min_margin: float
) -> tuple[float | None, float]:
    best_value, best_score = None, 0.0
    for word in words:
        h, w = word.shape
        scores = {t: _ncc(word, _candidate(t, w, h)) for t in texts}
        ranked = sorted(scores.values(), reverse=True)
        top = ranked[0]
        if top > best_score and top >= min_score and top - ranked[1] >= min_margin:
            best_value, best_score = texts[max(scores, key=scores.get)], top
    return best_value, best_score


def read_printed_scales(
    text: np.ndarray,
    px_per_mm: float,
    weight: np.ndarray | None = None,
    min_score: float = 0.6,
    min_margin: float = 0.05,
) -> PrintedScales:
    """Read the printed paper speed and gain from a page's text ink.

    Args:
        text: bool H x W mask of text-like ink (e.g. :func:`~ecgdl.classical.gridremoval.text_like_components`).
        px_per_mm: the page's calibration (sets the height a word may have).
        weight: optional ink darkness H x W in [0, 1] (anti-aliased edges match better than a binary mask).
        min_score: the normalised correlation a reading needs.
        min_margin: how far it must lead the runner-up of its kind ("25mm/s" against "50mm/s").
    """
    ink = text.astype(np.float32) if weight is None else np.where(text, weight, 0.0).astype(np.float32)
    words = [ink[y0:y1, x0:x1] for x0, y0, x1, y1 in word_boxes(text, px_per_mm)]
    speed, speed_score = _best(words, SPEED_TEXTS, min_score, min_margin)
    gain, gain_score = _best(words, GAIN_TEXTS, min_score, min_margin)
    return PrintedScales(speed, gain, speed_score, gain_score)
