"""Page factory: signal source + randomised render settings + degradation -> (image, truth), reproducibly.

Item ``i`` of a split is fully determined by ``(seed, split, i)``: the generator for it is
``np.random.default_rng([seed, split_id, i])``, so an epoch renders the same pages whichever worker draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from ecgdl.render import RenderTruth, render_ecg
from ecgdl.render.sampler import RenderSampler
from ecgdl.signals.record import EcgRecord

SPLIT_IDS = {"train": 0, "val": 1, "test": 2, "generate": 3}
#: first generator stream of a page's degradation drawn again (streams 1-3 are the datasets')
RETRY_STREAM = 100


Degrader = Callable[
    [np.ndarray, RenderTruth | None, np.random.Generator], tuple[np.ndarray, RenderTruth | None]
]


def trace_contrast(image_rgb: np.ndarray, truth: RenderTruth) -> float:
    """How dark the page's trace is against the paper around it: the median over the trace's pixels (the truth's
    :meth:`~ecgdl.render.RenderTruth.page_mask`) of 1 - darkest channel / the brightest darkest-channel value
    within about 2 mm (1 for a black pen on white paper, about 0.5 for a mid-grey one, 0 for a trace that is
    gone)."""
    on = truth.page_mask()
    if not on.any():
        return 0.0
    image = np.asarray(image_rgb)
    # OpenCV's per-pixel minimum: numpy's min over the channel axis is 25 times slower on a page
    low = cv2.min(cv2.min(image[:, :, 0], image[:, :, 1]), image[:, :, 2])
    k = max(5, round(2.0 * float(truth.px_per_mm))) | 1
    paper = cv2.dilate(low, np.ones((k, k), np.uint8))[on].astype(np.float32)
    dark = 1.0 - low[on].astype(np.float32) / np.maximum(paper, 1.0)
    return float(np.median(dark))


@dataclass
class PageFactory:
    """Makes page ``index`` of a split: a record from ``source``, drawn with ``render``, degraded by ``aug``.

    A degradation that all but erases the trace (its :func:`trace_contrast` under ``min_contrast_ratio`` of the
    undegraded page's: a black-and-white scan's threshold above a thin grey pen) leaves a page with nothing to
    read, which no test set of real pages holds; it is drawn again from another stream of the page's generator,
    at most ``max_aug_tries`` times in all (the first draw is the page's own, so pages that keep their trace do
    not change)."""

    source: object  # ecgdl.signals.sources.SignalSource: __len__, get(index, rng) -> EcgRecord
    render: RenderSampler = field(default_factory=RenderSampler)
    aug: Degrader | None = None
    seed: int = 42
    min_contrast_ratio: float = 0.25
    max_aug_tries: int = 4

    def rng_for(self, split: str, index: int, stream: int = 0) -> np.random.Generator:
        """The generator of item ``index`` of ``split``; other ``stream`` numbers give independent ones."""
        return np.random.default_rng([int(self.seed), SPLIT_IDS[split], int(index), int(stream)])

    def record(self, split: str, index: int, rng: np.random.Generator) -> EcgRecord:
        n = len(self.source)
        return self.source.get(index % n, rng)

    def make(self, split: str, index: int) -> tuple[np.ndarray, RenderTruth, RenderTruth]:
        """(degraded image, its truth, the truth of the undegraded render) for page ``index`` of ``split``."""
        rng = self.rng_for(split, index)
        record = self.record(split, index, rng)
        image, clean_truth = render_ecg(record, self.render.sample(rng), rng)
        if self.aug is None:
            return image, clean_truth, clean_truth
        degraded, truth = self.aug(image, clean_truth, rng)
        clean_contrast = None
        for attempt in range(1, self.max_aug_tries):
            contrast = trace_contrast(degraded, truth)
            if contrast >= self.min_contrast_ratio:  # at least that share of any clean contrast (<= 1)
                break
            if clean_contrast is None:
                clean_contrast = trace_contrast(image, clean_truth)
            if contrast >= self.min_contrast_ratio * clean_contrast:
                break
            degraded, truth = self.aug(image, clean_truth, self.rng_for(split, index, RETRY_STREAM + attempt))
        return degraded, truth, clean_truth
