"""Torch datasets over the page factory: full pages, per-lead crops or crop -> clean-trace pairs.

Every item is computed from ``(seed, split, index)`` alone, so it is the same in any worker. The training split
is indexed by a global index ``epoch * size + i`` (see :class:`EpochSampler`), so each epoch shows new pages
and a rerun of an epoch shows the same ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ecgdl.constants import DEFAULT_DURATION_S, KAGGLE_FS_HZ
from ecgdl.data.pages import PageFactory
from ecgdl.data.targets import CropSpec, crop_windows, cut_crop, page_target, rectify_to_clean

TARGETS = ("page", "crops", "clean", "raw")
#: Longest signal a page item carries (10 s at the highest Kaggle rate); shorter ones are NaN-padded.
MAX_SAMPLES = int(DEFAULT_DURATION_S * max(KAGGLE_FS_HZ))


def _to_chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)


class PageDataset(Dataset):
    """``size`` pages of one split; ``target`` picks what an item holds (see module docstring)."""

    def __init__(
        self,
        factory: PageFactory,
        split: str,
        size: int,
        target: str = "crops",
        page_size_hw: tuple[int, int] = (850, 1100),
        crop: CropSpec | None = None,
        crops_per_page: int | None = None,
        patch_hw: tuple[int, int] | None = None,
        patches_per_page: int = 1,
    ) -> None:
        self.set_target(target)
        if size < 1:
            raise ValueError(f"a {split} set needs at least one page, got size={size}")
        self.factory, self.split, self.size = factory, split, int(size)
        self.page_size_hw = tuple(page_size_hw)
        self.crop = crop or CropSpec()
        self.crops_per_page = crops_per_page
        self.patch_hw = None if patch_hw is None else tuple(int(v) for v in patch_hw)
        self.patches_per_page = int(patches_per_page)

    def set_target(self, target: str) -> None:
        if target not in TARGETS:
            raise KeyError(f"unknown target {target!r}; valid: {', '.join(TARGETS)}")
        self.target = target

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        image, truth, clean = self.factory.make(self.split, int(index))
        fs = truth.fs_hz
        signal = np.full((MAX_SAMPLES, 12), np.nan, np.float32)
        n = min(MAX_SAMPLES, truth.record.n_samples)
        signal[:n] = truth.record.signal_mv[:n]
        item: dict = {
            "index": int(index),
            "fs_hz": float(fs),
            "n_samples": n,
            "signal_mv": torch.from_numpy(signal),
        }
        if self.target == "raw":  # the full-resolution page as it is (for training-free digitizers)
            item["image"] = image
            return item
        if self.target == "page":
            t = page_target(image, truth, self.page_size_hw)
            if self.patch_hw is not None:  # training on patches of the page: several per rendered page
                rng = self.factory.rng_for(self.split, int(index), stream=3)
                boxes = page_patches(t["mask"], self.patch_hw, self.patches_per_page, rng)
                item.update(
                    image=torch.stack(
                        [_to_chw(t["image"][y : y + ph, x : x + pw]) for y, x, ph, pw in boxes]
                    ),
                    mask=torch.stack(
                        [
                            torch.from_numpy(t["mask"][y : y + ph, x : x + pw] > 0)[None].float()
                            for y, x, ph, pw in boxes
                        ]
                    ),
                )
                return item
            item.update(image=_to_chw(t["image"]), mask=torch.from_numpy(t["mask"] > 0)[None].float())
            return item
        canon = rectify_to_clean(image, truth, clean)
        windows = crop_windows(clean, self.crop)
        if self.crops_per_page is not None and self.crops_per_page < len(windows):
            rng = self.factory.rng_for(self.split, int(index), stream=2)
            keep = np.sort(rng.choice(len(windows), self.crops_per_page, replace=False))
            windows = [windows[k] for k in keep]
        jitter = self.factory.rng_for(self.split, int(index), stream=1) if self.split == "train" else None
        crops = [cut_crop(canon, clean, i, t0, t1, self.crop, jitter) for i, t0, t1 in windows]
        item.update(
            image=torch.stack([_to_chw(c["image"]) for c in crops]),
            trace_y=torch.from_numpy(np.stack([c["trace_y"] for c in crops])),
            px_per_mv=torch.tensor([c["px_per_mv"] for c in crops], dtype=torch.float32),
            baseline_y=torch.tensor([c["baseline_y"] for c in crops], dtype=torch.float32),
            lead_index=torch.tensor([c["lead_index"] for c in crops]),
            t0_s=torch.tensor([c["t0_s"] for c in crops], dtype=torch.float64),
            s_per_col=torch.tensor([c["s_per_col"] for c in crops], dtype=torch.float64),
        )
        if self.target == "clean":
            item["clean"] = torch.stack([torch.from_numpy(c["clean"])[None].float() / 255.0 for c in crops])
        return item


def page_patches(
    mask: np.ndarray, patch_hw: tuple[int, int], n: int, rng: np.random.Generator, on_trace: float = 0.75
) -> list[tuple[int, int, int, int]]:
    """``n`` boxes (y, x, h, w) of ``patch_hw`` (clipped to the page) inside a page whose trace ``mask`` is
    given: a share ``on_trace`` centred on a random trace pixel (the trace covers about 1 % of a page), the
    others anywhere (grid, text, margins and background are what the network must learn to leave out)."""
    h, w = mask.shape[:2]
    ph, pw = min(patch_hw[0], h), min(patch_hw[1], w)
    ys, xs = np.nonzero(mask)
    boxes = []
    for _ in range(n):
        if ys.size and rng.random() < on_trace:
            k = int(rng.integers(ys.size))
            cy, cx = int(ys[k]), int(xs[k])
        else:
            cy, cx = int(rng.integers(h)), int(rng.integers(w))
        y = int(np.clip(cy - ph // 2, 0, h - ph))
        x = int(np.clip(cx - pw // 2, 0, w - pw))
        boxes.append((y, x, ph, pw))
    return boxes


def collate_pages(items: list[dict]) -> dict:
    """Stack page-level fields; crops from all pages are concatenated, with ``page`` saying which page each is.
    Raw pages (target ``raw``) differ in size and stay a list of H x W x 3 uint8 arrays."""
    out: dict = {}
    if isinstance(items[0]["image"], np.ndarray):
        out["image"] = [it["image"] for it in items]
        items = [{k: v for k, v in it.items() if k != "image"} for it in items]
    crops = "image" in items[0] and items[0]["image"].dim() == 4
    for key in items[0]:
        values = [it[key] for it in items]
        if crops and key in _PER_CROP:
            out[key] = torch.cat(values)
        elif isinstance(values[0], torch.Tensor):
            out[key] = torch.stack(values)
        else:
            out[key] = torch.tensor(values)
    if crops:
        out["page"] = torch.cat([torch.full((it["image"].shape[0],), k) for k, it in enumerate(items)])
    return out


_PER_CROP = (
    "image",
    "mask",
    "trace_y",
    "px_per_mv",
    "baseline_y",
    "lead_index",
    "t0_s",
    "s_per_col",
    "clean",
)


class EpochSampler(Sampler[int]):
    """Yields global indices ``epoch * n + i`` (shuffled with a per-epoch seed); Lightning calls ``set_epoch``."""

    def __init__(self, n: int, shuffle: bool = True, seed: int = 0) -> None:
        self.n, self.shuffle, self.seed, self.epoch = int(n), shuffle, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
            if self.shuffle
            else np.arange(self.n)
        )
        base = self.epoch * self.n
        return iter((base + order).tolist())
