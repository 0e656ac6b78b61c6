"""Evaluation sets: images with their truth, from a Kaggle train-layout folder or freshly rendered pages.

Both yield :class:`EvalItem`; evaluate.py scores any digitizer over either the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgdl.constants import KAGGLE_IMAGE_TYPES
from ecgdl.data.images import load_image
from ecgdl.signals.io import KaggleLayout
from ecgdl.signals.record import EcgRecord


@dataclass
class EvalItem:
    """One image to score: ``truth.signal_mv`` is (n_samples, 12) in Kaggle semantics (NaN where not printed)."""

    image_id: str
    truth: EcgRecord
    image_type: str
    path: Path | None = None
    image: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fs_hz(self) -> float:
        return self.truth.fs_hz

    @property
    def n_samples(self) -> int:
        return self.truth.n_samples

    def load(self) -> np.ndarray:
        """The H x W x 3 uint8 RGB image (read from disk on first use)."""
        if self.image is None:
            if self.path is None:
                raise ValueError(f"{self.image_id}: no image and no path")
            self.image = load_image(self.path)
        return self.image


class KaggleImageSet:
    """Every image of a Kaggle train-layout folder (``train/<id>/<id>-<type>.png`` + ``<id>.csv``)."""

    def __init__(self, root: str, image_types: list[str] | None = None, limit: int | None = None) -> None:
        self.root = Path(root).expanduser()
        self.layout = KaggleLayout(self.root)
        self.image_types = None if image_types is None else [str(t).zfill(4) for t in image_types]
        self.limit = limit
        self._index = self.layout.read_index()  # fails early, naming the folder, if there is no train.csv

    def items(self, shard_index: int = 0, num_shards: int = 1) -> Iterator[EvalItem]:
        """The images in folder order (at most ``limit``), or block ``shard_index`` of ``num_shards`` of them
        (:func:`ecgdl.data.shards.shard_items`); a record's truth is read once, when its first image comes."""
        from ecgdl.data.shards import shard_items

        chosen = [
            (item, img_type, path)
            for item in self.layout.iter_items()
            for img_type, path in item.images
            if self.image_types is None or img_type in self.image_types
        ][: self.limit]
        truth_of: dict[str, object] = {}
        for item, img_type, path in shard_items(chosen, shard_index, num_shards):
            if item.id not in truth_of:
                truth_of.clear()  # one record's truth in memory at a time
                truth_of[item.id] = self.layout.read_signal(item.id, item.fs_hz, round(10 * item.fs_hz))
            name = KAGGLE_IMAGE_TYPES.get(img_type, img_type)
            yield EvalItem(
                path.stem,
                truth_of[item.id],
                name,
                path=path,
                extra={"record_id": item.id, "type_code": img_type},
            )

    def __iter__(self) -> Iterator[EvalItem]:
        return self.items()
