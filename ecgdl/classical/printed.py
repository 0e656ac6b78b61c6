"""Paper speed and gain printed on the page ("25mm/s", "10mm/mV"), read by comparing words with drawn candidates.

A page without a calibration pulse says its speed and gain only in print (ECG-Image-Kit and most carts put
them in the footer). The vocabulary is a handful of strings, so no OCR engine is needed (and Tesseract, the
usual one, is a system binary pip cannot install): each word-sized group of text-like ink is compared with
every candidate string drawn in a sans, a serif and a typewriter face and stretched to the word's box (which
absorbs condensed or wider fonts), by normalised correlation; two words side by side are compared with the
strings printed apart ("25 mm/s"). A reading counts only when its best candidate is clearly ahead of the others
of its kind, so a page without such print keeps the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["GAIN_TEXTS", "SPEED_TEXTS", "PrintedScales", "read_printed_scales", "word_boxes", "word_pairs"]

#: a word's (x0, y0, x1, y1) in page pixels
Box = tuple[int, int, int, int]
#: candidate strings and what they say
SPEED_TEXTS: dict[str, float] = {"12.5mm/s": 12.5, "25mm/s": 25.0, "50mm/s": 50.0}
GAIN_TEXTS: dict[str, float] = {"2.5mm/mV": 2.5, "5mm/mV": 5.0, "10mm/mV": 10.0, "20mm/mV": 20.0}
_TEMPLATE_PX = 48  # candidates are drawn at this size, then stretched to each word's box
_WORD_HEIGHT_MM = (1.2, 6.0)  # the heights a word of print may have
_MIN_HEIGHT_PX = 7  # words printed smaller (a screenshot's footer) cannot be told apart: "25mm/s", "12.5mm/s"
#: the three families of type the candidates are drawn in, from the fonts matplotlib ships (no system fonts
#: needed): DejaVu Sans, and Computer Modern's roman and typewriter faces, which the renderer never prints with
_FONT_FILES = tuple(
    Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    for name in ("DejaVuSans.ttf", "cmr10.ttf", "cmtt10.ttf")
)


@dataclass(frozen=True)
class PrintedScales:
    """What the page says (None: not read with confidence) and the winning scores (normalised correlation)."""

    speed_mm_per_s: float | None = None
    gain_mm_per_mv: float | None = None
    speed_score: float = 0.0
    gain_score: float = 0.0


def word_boxes(
    text: np.ndarray,
    px_per_mm: float,
    min_height_mm: float = _WORD_HEIGHT_MM[0],
    max_height_mm: float = _WORD_HEIGHT_MM[1],
) -> list[Box]:
    """(x0, y0, x1, y1) boxes of words: characters of a text mask (bool H x W) joined across gaps under ~0.6 mm
    (letter spacing; a word space is wider), keeping boxes of text height that are wider than tall."""
    return _wide(_groups(text, px_per_mm, min_height_mm, max_height_mm))


def _wide(groups: list[Box]) -> list[Box]:
    """The groups wider than twice their height: words."""
    return [b for b in groups if b[2] - b[0] >= 2 * (b[3] - b[1])]


def _groups(text: np.ndarray, px_per_mm: float, min_height_mm: float, max_height_mm: float) -> list[Box]:
    """Boxes of characters joined across gaps under ~0.6 mm, of text height and at least ``_MIN_HEIGHT_PX``."""
    gap = max(1, round(0.6 * px_per_mm))
    joined = cv2.dilate(text.astype(np.uint8), np.ones((1, 2 * gap + 1), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    boxes = []
    for x, y, w, h, _area in stats[1:]:
        x0, x1 = x + gap, x + w - gap  # undo the dilation
        if max(min_height_mm * px_per_mm, _MIN_HEIGHT_PX) <= h <= max_height_mm * px_per_mm and x1 > x0:
            boxes.append((int(x0), int(y), int(x1), int(y + h)))
    return boxes


def word_pairs(
    text: np.ndarray,
    px_per_mm: float,
    min_height_mm: float = _WORD_HEIGHT_MM[0],
    max_height_mm: float = _WORD_HEIGHT_MM[1],
) -> list[tuple[Box, Box]]:
    """Two words side by side on one line (the second starting within a word height of the first's end, their
    heights overlapping by half), the first as wide as a number and the second as a unit: the boxes of a number
    and its unit printed apart ("25 mm/s")."""
    return _number_unit_pairs(_groups(text, px_per_mm, min_height_mm, max_height_mm))


def _number_unit_pairs(groups: list[Box]) -> list[tuple[Box, Box]]:
    """The pairs of groups :func:`word_pairs` describes."""
    out = []
    for a in groups:
        for b in groups:
            overlap = min(a[3], b[3]) - max(a[1], b[1])
            height = max(a[3], b[3]) - min(a[1], b[1])
            if overlap < 0.5 * min(a[3] - a[1], b[3] - b[1]) or not 0 < b[0] - a[2] <= height:
                continue
            number, unit = a[2] - a[0], b[2] - b[0]  # "12.5" and "mm/mV" in any face
            if number <= 3.5 * height and 1.5 * height <= unit <= 6 * height:
                out.append((a, b))
    return out


@lru_cache(maxsize=64)
def _drawn(text: str, font_file: Path) -> np.ndarray:
    """``text`` drawn in ``font_file`` at ``_TEMPLATE_PX`` px, cropped to its ink: float32 h x w in [0, 1]."""
    font = ImageFont.truetype(str(font_file), _TEMPLATE_PX)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(canvas).text((-left, -top), text, font=font, fill=255)
    alpha = np.asarray(canvas)
    ys, xs = np.nonzero(alpha > 64)
    ink = alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    ink.setflags(write=False)
    return ink


def _candidate(text: str, w: int, h: int, font_file: Path) -> np.ndarray:
    """Candidate ``text`` drawn and stretched to ``w`` x ``h`` px (float32 in [0, 1])."""
    return cv2.resize(_drawn(text, font_file), (w, h), interpolation=cv2.INTER_AREA)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _score(word: np.ndarray, text: str) -> float:
    """How well ``word`` (ink h x w) matches ``text`` drawn in any of the faces, stretched to it."""
    h, w = word.shape
    return max(_ncc(word, _candidate(text, w, h, f)) for f in _FONT_FILES)


def _best(
    words: list[np.ndarray], texts: dict[str, float], min_score: float, min_margin: float
) -> tuple[float | None, float]:
    """The value of the best-matching candidate over ``words`` (each candidate also with a space before its
    unit), when it scores ``min_score`` and leads every other value by ``min_margin``; and its score."""
    variants = {**texts, **{_spaced(t): v for t, v in texts.items() if "mm" in t}}
    best_value, best_score = None, 0.0
    for word in words:
        by_value: dict[float, float] = {}
        for t, v in variants.items():
            by_value[v] = max(by_value.get(v, -1.0), _score(word, t))
        ranked = [*sorted(by_value.values(), reverse=True), -1.0]
        top = ranked[0]
        if top > best_score and top >= min_score and top - ranked[1] >= min_margin:
            best_value, best_score = max(by_value, key=by_value.get), top
    return best_value, best_score


def _spaced(text: str) -> str:
    """``text`` with a space before its unit ("25mm/s" -> "25 mm/s")."""
    i = text.index("mm")
    return f"{text[:i]} {text[i:]}"


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
    groups = _groups(text, px_per_mm, *_WORD_HEIGHT_MM)  # once, for both words and pairs
    words = [_cut(ink, box) for box in _wide(groups)]
    pairs = [(_cut(ink, a), _cut(ink, b)) for a, b in _number_unit_pairs(groups)]
    readings = {}
    for kind, texts in (("speed", SPEED_TEXTS), ("gain", GAIN_TEXTS)):
        joined = _best(words, texts, min_score, min_margin)
        apart = _best_apart(pairs, texts, min_score, min_margin)
        readings[kind] = max(joined, apart, key=lambda r: (r[0] is not None, r[1]))
    (speed, speed_score), (gain, gain_score) = readings["speed"], readings["gain"]
    return PrintedScales(speed, gain, speed_score, gain_score)


def _cut(ink: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return ink[y0:y1, x0:x1]


def _best_apart(
    pairs: list[tuple[np.ndarray, np.ndarray]], texts: dict[str, float], min_score: float, min_margin: float
) -> tuple[float | None, float]:
    """The best reading of numbers printed apart from their unit: the second word must match the unit (all of
    ``texts`` share one), and the first one number clearly better than the others (a number's share of the
    whole string is too small to tell "10 mm/mV" from "20 mm/mV" reliably)."""
    first = next(iter(texts))
    unit = first[first.index("mm") :]
    numbers = {t[: t.index("mm")]: v for t, v in texts.items()}
    best_value, best_score = None, 0.0
    for number, word in pairs:
        if _score(word, unit) < min_score - 0.1:  # a gate: the number decides, and must be clear
            continue
        value, score = _best([number], numbers, min_score, min_margin)
        if value is not None and score > best_score:
            best_value, best_score = value, score
    return best_value, best_score
