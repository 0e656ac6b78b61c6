"""Data engine: reproducible items in any worker, crop targets that lie on the stroke, epoch sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ecgdl.constants import LEADS
from ecgdl.data.datamodule import EcgDataModule
from ecgdl.data.datasets import EpochSampler, PageDataset, collate_pages
from ecgdl.data.pages import PageFactory
from ecgdl.data.targets import CropSpec
from ecgdl.render import RenderSampler
from ecgdl.signals.sources import SyntheticSource

SMALL = dict(dpis=(100.0,), layouts=("3x4+II", "6x2", "12x1", "3x4+3"), pulses=("start", "none"))


def _factory(seed: int = 3) -> PageFactory:
    return PageFactory(SyntheticSource(num_records=50), RenderSampler(**SMALL), None, seed)


def test_items_depend_only_on_seed_split_and_index() -> None:
    ds = PageDataset(_factory(), "train", 4, target="crops", crop=CropSpec(64, 256))
    a, b = ds[1], ds[1]
    assert torch.equal(a["image"], b["image"]) and torch.equal(
        a["trace_y"],
        b["trace_y"],
    )
    assert not torch.equal(ds[2]["signal_mv"].nan_to_num(), a["signal_mv"].nan_to_num())
    other_seed = PageDataset(_factory(seed=4), "train", 4, target="crops", crop=CropSpec(64, 256))
    assert not torch.equal(other_seed[1]["signal_mv"].nan_to_num(), a["signal_mv"].nan_to_num())
    # two worker processes produce exactly what the main process does
    loader = DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate_pages)
    first = next(iter(loader))
    ref = collate_pages([ds[0], ds[1]])
    assert torch.equal(first["image"], ref["image"])
    assert torch.equal(first["trace_y"].nan_to_num(-1), ref["trace_y"].nan_to_num(-1))


@pytest.mark.parametrize("index", range(4))
def test_crop_trace_targets_lie_on_the_dark_stroke(index: int) -> None:
    ds = PageDataset(_factory(), "val", 4, target="clean", crop=CropSpec(96, 384, height_mm=25.0))
    item = ds[index]
    img = item["image"].numpy().max(axis=1)  # (N, h, w): darkest channel is the trace
    ty = item["trace_y"].numpy()
    n, w = ty.shape
    cols = np.arange(w)
    hits = []
    for k in range(n):
        ok = np.isfinite(ty[k]) & (ty[k] >= 0) & (ty[k] <= img.shape[1] - 1)
        rows = np.round(ty[k, ok]).astype(int)
        # min over the pixel and its vertical neighbours: a resampled 1-2 px stroke may straddle two rows
        v = np.minimum.reduce([img[k, np.clip(rows + d, 0, img.shape[1] - 1), cols[ok]] for d in (-1, 0, 1)])
        hits.append((v < 0.55).mean())
        # and the clean target image is bright exactly there
        clean = item["clean"][k, 0].numpy()
        c = np.maximum.reduce([clean[np.clip(rows + d, 0, clean.shape[0] - 1), cols[ok]] for d in (-1, 0, 1)])
        assert (c > 0.3).mean() > 0.97
    assert np.mean(hits) > 0.97, hits


@pytest.mark.parametrize("split", ["val", "train"])
def test_crops_decode_back_to_the_plotted_signal(split: str) -> None:
    # the training split jitters the crop windows; targets and calibration must follow exactly
    spec = CropSpec(128, 512, jitter_y_px=8, jitter_scale=0.08, jitter_x_cols=20)
    ds = PageDataset(_factory(), split, 2, target="crops", crop=spec)
    item = ds[0]
    if split == "train":
        assert len(set(item["baseline_y"].tolist())) > 1  # jittered
    sig = item["signal_mv"].numpy()
    fs = item["fs_hz"]
    for k in range(item["image"].shape[0]):
        lead = int(item["lead_index"][k])
        t = float(item["t0_s"][k]) + np.arange(512) * float(item["s_per_col"][k])
        mv = (float(item["baseline_y"][k]) - item["trace_y"][k].numpy()) / float(item["px_per_mv"][k])
        ok = np.isfinite(mv)
        n = np.round(t[ok] * fs).astype(int)
        truth = sig[n, lead]
        good = np.isfinite(truth)
        # column-sampled truth vs the record at the nearest sample: equal up to in-between-sample slope
        assert np.median(np.abs(mv[ok][good] - truth[good])) < 0.03, LEADS[lead]


def test_epoch_sampler_gives_new_pages_each_epoch_and_is_reproducible() -> None:
    s = EpochSampler(5, shuffle=True, seed=1)
    e0 = list(s)
    s.set_epoch(1)
    e1 = list(s)
    assert sorted(e0) == list(range(5)) and sorted(e1) == list(range(5, 10))
    s.set_epoch(0)
    assert list(s) == e0


def test_datamodule_batches_and_bad_target() -> None:
    dm = EcgDataModule(
        SyntheticSource(num_records=10),
        RenderSampler(**SMALL),
        aug=None,
        target="page",
        train_size=2,
        val_size=1,
        test_size=1,
        batch_size=2,
        page_size_hw=(170, 220),
    )
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (2, 3, 170, 220) and batch["mask"].shape == (2, 1, 170, 220)
    assert batch["mask"].sum() > 100
    assert batch["signal_mv"].shape[2] == 12
    with pytest.raises(KeyError, match="valid: page, crops, clean"):
        PageDataset(_factory(), "train", 2, target="pixels")


def test_loader_workers_run_opencv_on_one_thread_each() -> None:
    import cv2

    from ecgdl.data.datamodule import _init_worker

    before = cv2.getNumThreads()
    try:
        _init_worker(0, cv2_threads=1)
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)
    dm = EcgDataModule(SyntheticSource(num_records=2), num_workers=2, worker_cv2_threads=1)
    init = dm.train_dataloader().worker_init_fn
    assert init.keywords == {"cv2_threads": 1}


def test_a_degradation_that_erases_the_trace_is_drawn_again() -> None:
    from ecgdl.data.pages import trace_contrast

    calls = []

    def bleach_first(image, truth, rng):
        # the first draw washes the page out (a black-and-white scan's threshold above the pen); later ones
        # only lighten it
        calls.append(rng)
        out = np.full_like(image, 255) if len(calls) == 1 else (image // 2 + 100).astype(np.uint8)
        return out, truth

    factory = _factory()
    factory.aug = bleach_first
    image, truth, clean_truth = factory.make("test", 1)
    assert len(calls) == 2 and calls[1] is not calls[0]
    plain, _, _ = _factory().make("test", 1)
    assert trace_contrast(plain, clean_truth) > 0.8  # a black pen on white paper
    assert trace_contrast(image, truth) == pytest.approx(0.5 * trace_contrast(plain, clean_truth), abs=0.1)
    np.testing.assert_array_equal(image, (plain // 2 + 100).astype(np.uint8))
    # the redraw is reproducible, and a degradation that keeps the trace is drawn once
    calls.clear()
    again, _, _ = factory.make("test", 1)
    np.testing.assert_array_equal(again, image)
    calls.clear()
    factory.aug = lambda image, truth, rng: (calls.append(rng) or (image // 2 + 100).astype(np.uint8), truth)
    factory.make("test", 1)
    assert len(calls) == 1


def test_a_trace_every_draw_erases_gives_up_after_the_last_try() -> None:
    calls = []
    factory = _factory()
    factory.aug = lambda image, truth, rng: (calls.append(rng) or np.full_like(image, 255), truth)
    image, _, _ = factory.make("test", 2)
    assert len(calls) == factory.max_aug_tries and (image == 255).all()
