"""The page's ink as the layout, pulse and tracing stages read it, made from the rectified page.

* :func:`page_ink_map`: trace ink without specks, from the page's colours
  (:func:`~ecgdl.classical.gridremoval.extract_ink`) or from a learned trace probability (an ``ink_model``'s,
  :func:`ink_probability`).
* :func:`page_ink`: that ink once the rows are known: the lead-separator bars blanked, the character-sized
  components flagged (lead labels, which the tracker avoids), the stroke thickness measured, and the ink with
  thin split strokes added (:func:`~ecgdl.classical.gridremoval.with_split_strokes`) made once for the pulse
  search's retry and the tracing of a clean page (:func:`with_split_strokes_if_clean`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ecgdl.classical.gridremoval import (
    InkMap,
    extract_ink,
    remove_separator_bars,
    remove_small_components,
    text_like_components,
    with_split_strokes,
)
from ecgdl.classical.trace import column_runs, stroke_width
from ecgdl.digitizer import DigitizationError

__all__ = [
    "INK_MODEL_MODES",
    "VETO_REACH_MM",
    "PageInk",
    "ink_probability",
    "page_ink",
    "page_ink_map",
    "stroke_estimate",
    "with_split_strokes_if_clean",
]

#: A separator bar's box on the page: (x, y, w, h) px.
Box = tuple[int, int, int, int]


@dataclass
class PageInk:
    """The ink of a page whose rows are known.

    ``ink``: trace ink with the separator bars blanked (when asked); ``bars``: the blanked bars' boxes;
    ``stroke_px``: the trace's thickness (measured before the bars went); ``text``: bool mask of
    character-sized components (None when not asked); ``thin``: ``ink`` with split thin strokes added (None
    when not asked).
    """

    ink: InkMap
    bars: list[Box]
    stroke_px: float
    text: np.ndarray | None
    thin: InkMap | None


#: how a learned trace probability is used (:func:`page_ink_map`)
INK_MODEL_MODES = ("replace", "veto")
#: ``veto``: colour ink this far (mm) from the learned trace is dropped
VETO_REACH_MM = 1.0


def ink_probability(ink_model: Callable[[np.ndarray], np.ndarray], page: np.ndarray) -> np.ndarray:
    """The ``ink_model``'s trace probability of the page, checked and clipped to [0, 1]."""
    prob = np.asarray(ink_model(page), dtype=np.float32)
    if prob.shape != page.shape[:2]:
        raise DigitizationError(
            f"gridremoval: ink_model returned shape {prob.shape} for a {page.shape[:2]} page"
        )
    return np.clip(np.nan_to_num(prob, nan=0.0), 0.0, 1.0)


def page_ink_map(
    page: np.ndarray,
    px_per_mm: float,
    threshold: float | None,
    prob: np.ndarray | None = None,
    paper: np.ndarray | None = None,
    prob_mode: str = "replace",
) -> InkMap:
    """Trace ink with specks (dust, noise, grid-crossing remnants) under ~0.6 mm removed: from the page's
    colours, or from a trace probability ``prob`` (an ``ink_model``'s, thresholded at 0.5 by default);
    ``paper``: the page's paper mask (None: all), see :func:`~ecgdl.classical.gridremoval.extract_ink`.
    ``prob_mode`` ``"veto"``: the colour ink, kept only within ``VETO_REACH_MM`` of where ``prob`` reaches 0.5
    (the probability comes from a coarser page: it says where the trace runs, the colours how much of each
    pixel it covers)."""
    if prob is None or prob_mode == "veto":
        ink = extract_ink(page, px_per_mm=px_per_mm, threshold=threshold, paper=paper)
        if prob is not None:
            reach = max(1, round(VETO_REACH_MM * px_per_mm))
            near = cv2.dilate(
                (prob >= 0.5).astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
            )
            keep = near.astype(bool)
            ink = InkMap(
                np.where(keep, ink.weight, 0.0).astype(np.float32),
                ink.mask & keep,
                ink.threshold,
                ink.grid_residual,
            )
    else:
        t = 0.5 if threshold is None else float(threshold)
        ink = InkMap(prob, prob >= t, t)
    specks = ink.mask & ~remove_small_components(ink.mask, max(3, round(0.6 * px_per_mm)))
    if specks.any():
        weight = ink.weight.copy()
        weight[specks] = 0.0
        ink = InkMap(weight, ink.mask & ~specks, ink.threshold, ink.grid_residual)
    return ink


def stroke_estimate(ink: InkMap) -> float:
    """Trace stroke thickness (px) from a sample of the page's columns (see :func:`stroke_width`)."""
    step = max(1, ink.mask.shape[1] // 300)
    return stroke_width(column_runs(ink.mask[:, ::step], ink.weight[:, ::step]))


def page_ink(
    ink: InkMap, px_per_mm: float, *, mask_separators: bool, flag_text: bool, split_strokes: bool
) -> PageInk:
    """The ink the pulse and tracing stages read (see :class:`PageInk`): separator bars blanked when
    ``mask_separators``, text flagged when ``flag_text``, the split-stroke ink made when ``split_strokes``."""
    bars: list[Box] = []
    stroke = stroke_estimate(ink)
    if mask_separators:
        ink, bars = remove_separator_bars(ink, stroke, px_per_mm)
    text = text_like_components(ink.mask, px_per_mm) if flag_text else None
    thin = with_split_strokes(ink) if split_strokes else None
    return PageInk(ink, bars, stroke, text, thin)


def with_split_strokes_if_clean(
    ink: InkMap, max_noise: float, thin: InkMap | None = None
) -> tuple[InkMap | None, float]:
    """(``ink`` with split thin strokes added, or None when the page is too noisy for that; the noise figure).
    ``thin``: that map when already made (:func:`with_split_strokes` of ``ink``).

    The noise figure is the share of the pixels :func:`with_split_strokes` would add that lie more than 2 px
    from any ink (mid-grey mottle that pairs up into "strokes"). Measured: ECG-Image-Kit renders 0.2-0.4 %,
    our clean renders under 0.1 %, synthetic scans 0.1-5 %, photos, screen photos, stained and black-and-white
    copies mostly 6-80 %. Split strokes made steep QRS strokes whole on the clean pages (dev_eik_clean +0.8
    dB) but cost 0.4-2.7 dB on the cleanest-looking degraded pages (blurred strokes grow), hence the low
    default limit.
    """
    thin = with_split_strokes(ink) if thin is None else thin
    added = thin.mask & ~ink.mask
    n_added = int(added.sum())
    if n_added == 0:
        return thin, 0.0
    near = cv2.dilate(ink.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    noise = float((added & ~near).sum()) / n_added
    return (thin if noise <= max_noise else None), noise
