"""Lightning DataModule: synthetic (or PTB-XL) records rendered and degraded on the fly in worker processes.

Validation and test sets are fixed (their pages depend only on the seed); the training split draws new pages
every epoch, reproducibly. Batches are dicts (see :mod:`ecgdl.data.datasets`).
"""

from __future__ import annotations

from functools import partial

import lightning as L
from torch.utils.data import DataLoader

from ecgdl.data.datasets import EpochSampler, PageDataset, collate_pages
from ecgdl.data.pages import PageFactory
from ecgdl.data.targets import CropSpec
from ecgdl.render.sampler import RenderSampler


def _init_worker(_worker_id: int, cv2_threads: int) -> None:
    """Runs in each loader worker: OpenCV's own thread pool (one thread per core by default) would compete with
    the other workers and with the training process for the same cores."""
    import cv2

    cv2.setNumThreads(cv2_threads)


def _load_preset(name: str):
    from ecgdl.aug import (
        load_preset,  # deferred: builds the preset from package data (ecgdl/aug/presets) with Hydra's instantiate
    )

    return load_preset(name)


class EcgDataModule(L.LightningDataModule):
    """Rendered paper-ECG pages for training and validation.

    ``source`` gives records (``__len__``, ``get(index, rng)``); ``render`` draws page settings; ``aug`` degrades
    training pages and ``eval_aug`` (default: the same) the fixed validation/test pages. Each loader worker runs
    OpenCV on ``worker_cv2_threads`` threads. With target ``page``, ``page_patch_hw`` trains on
    ``patches_per_page`` patches of each (``page_size_hw``) page instead of the whole page (validation and test
    keep whole pages).
    """

    def __init__(
        self,
        source,
        render: RenderSampler | None = None,
        aug=None,
        eval_aug=None,
        target: str = "crops",
        train_size: int = 256,
        val_size: int = 16,
        test_size: int = 16,
        batch_size: int = 4,
        num_workers: int = 0,
        page_size_hw: tuple[int, int] = (850, 1100),
        crop: CropSpec | dict | None = None,
        crops_per_page: int | None = 8,
        seed: int = 42,
        eval_source=None,
        worker_cv2_threads: int = 1,
        page_patch_hw: tuple[int, int] | None = None,
        patches_per_page: int = 1,
    ) -> None:
        super().__init__()
        if isinstance(aug, str):
            aug = _load_preset(aug)
        if isinstance(eval_aug, str):
            eval_aug = _load_preset(eval_aug)
        if crop is not None and not isinstance(crop, CropSpec):
            crop = CropSpec(**dict(crop))
        if render is not None and not isinstance(render, RenderSampler):
            render = RenderSampler(**dict(render))
        self.render = render or RenderSampler()
        self.train_factory = PageFactory(source, self.render, aug, seed)
        self.eval_factory = PageFactory(
            eval_source or source, self.render, eval_aug if eval_aug is not None else aug, seed
        )
        self.target = target
        first = "crops" if target == "auto" else target
        common = dict(target=first, page_size_hw=tuple(page_size_hw), crop=crop or CropSpec())
        self.train_set = PageDataset(
            self.train_factory,
            "train",
            train_size,
            crops_per_page=crops_per_page,
            patch_hw=None if page_patch_hw is None else tuple(page_patch_hw),
            patches_per_page=patches_per_page,
            **common,
        )
        self.val_set = PageDataset(self.eval_factory, "val", val_size, **common)
        self.test_set = PageDataset(self.eval_factory, "test", test_size, **common)
        self.batch_size, self.num_workers, self.seed = int(batch_size), int(num_workers), int(seed)
        self.worker_cv2_threads = int(worker_cv2_threads)

    def set_target(self, target: str) -> None:
        """What items hold: ``page``, ``crops`` or ``clean`` (``auto`` in the config lets the model decide)."""
        for ds in (self.train_set, self.val_set, self.test_set):
            ds.set_target(target)
        self.target = target

    def _loader(self, dataset: PageDataset, sampler=None) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=collate_pages,
            persistent_workers=False,
            pin_memory=False,
            worker_init_fn=partial(_init_worker, cv2_threads=self.worker_cv2_threads),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, EpochSampler(len(self.train_set), shuffle=True, seed=self.seed))

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set)

    def eval_items(
        self, split: str = "test", limit: int | None = None, shard_index: int = 0, num_shards: int = 1
    ):
        """Full-resolution pages of the fixed ``split`` with their truth, for evaluate.py (see ecgdl.data.evalsets);
        with ``num_shards > 1`` only block ``shard_index`` of them (:func:`ecgdl.data.shards.shard_items`)."""
        from ecgdl.data.evalsets import EvalItem
        from ecgdl.data.shards import shard_items

        size = len(self.test_set if split == "test" else self.val_set)
        for i in shard_items(
            range(size if limit is None else min(size, int(limit))), shard_index, num_shards
        ):
            image, truth, _ = self.eval_factory.make(split, i)
            name = f"{split}-{i:05d}"
            yield EvalItem(
                name, truth.record, str(truth.meta.get("aug", "clean")), image=image, extra={"truth": truth}
            )

    def __iter__(self):
        return self.eval_items()
