"""Page factory: signal source + randomised render settings + degradation -> (image, truth), reproducibly.

Item ``i`` of a split is fully determined by ``(seed, split, i)``: the generator for it is
``np.random.default_rng([seed, split_id, i])``, so an epoch renders the same pages whichever worker draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ecgdl.render import RenderTruth, render_ecg
from ecgdl.render.sampler import RenderSampler
from ecgdl.signals.record import EcgRecord

SPLIT_IDS = {"train": 0, "val": 1, "test": 2, "generate": 3}


Degrader = Callable[
    [np.ndarray, RenderTruth | None, np.random.Generator], tuple[np.ndarray, RenderTruth | None]
]


@dataclass
class PageFactory:
    """Makes page ``index`` of a split: a record from ``source``, drawn with ``render``, degraded by ``aug``."""

    source: object  # ecgdl.signals.sources.SignalSource: __len__, get(index, rng) -> EcgRecord
    render: RenderSampler = field(default_factory=RenderSampler)
    aug: Degrader | None = None
    seed: int = 42

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
        truth = clean_truth
        if self.aug is not None:
            image, truth = self.aug(image, clean_truth, rng)
        return image, truth, clean_truth
