"""Train the page-orientation classifier (ecgdl.models.orientation) on generated pages and ship its weights.

Generates its own data: synthetic records (``generate_ecg``) drawn by a ``RenderSampler`` built like
``conf/render/varied.yaml`` (plus a few more page styles: fonts, dotted grids, header and footer blocks, trace
colours) at 75-150 dpi, degraded by one preset each from ``clean scan bw_scan photo screen stained damaged mold
wrinkled``; every page is scaled down once (:func:`~ecgdl.models.orientation.letterbox_gray`) and shown turned by
all four quarter turns, so the labels are exact. Training adds small rotations (up to 10 degrees), zooms, crops
to other page shapes and photometric jitter. A held-out test split of fresh pages (other seeds, every preset
equally) gives per-class and per-preset accuracy and the confusion matrix. The downscaled pages are cached in an
``.npz`` (``--cache-dir``), so a retraining skips the rendering.

    python scripts/train_orientation.py --threads 1           # about 18 min on 2 busy cores; writes ecgdl/assets/orientation.pt
    python scripts/train_orientation.py --check ../shared/data/dev_eik_clean/train   # accuracy on upright pictures
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ecgdl.models.orientation import (
    TURNS_DEG,
    OrientationClassifier,
    OrientationNet,
    letterbox_gray,
    page_channels,
)

PRESETS_USED = ("clean", "scan", "bw_scan", "photo", "screen", "stained", "damaged", "mold", "wrinkled")
DPIS = (75.0, 100.0, 125.0, 150.0)
FONTS = ("sans", "sans-bold", "mono", "serif", "serif-bold", "times")
TRACE_COLOURS = ((0, 0, 0), (0, 0, 0), (20, 20, 90), (0, 60, 0), (90, 20, 20), (60, 60, 60))
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
ROOT = Path(__file__).resolve().parents[1]

_WORKER: dict = {}


def _init_worker() -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from ecgdl.aug import load_preset

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    # the sampler of conf/render/varied.yaml, field for field
    _WORKER["sampler"] = instantiate(OmegaConf.load(ROOT / "conf/render/varied.yaml"), _convert_="all")
    _WORKER["presets"] = {name: load_preset(name) for name in PRESETS_USED}


def _page_style(config, rng: np.random.Generator):
    """``config`` at a low dpi, with some of the page styles varied.yaml leaves at their defaults."""
    change: dict = {"dpi": float(rng.choice(DPIS))}
    if rng.random() < 0.4:
        change["font"] = str(rng.choice(FONTS))
    if rng.random() < 0.15:
        change["grid_style"] = "dotted"
    if rng.random() < 0.25:
        change["header_lines"] = int(rng.integers(1, 7))
    if rng.random() < 0.2:
        change["footer_lines"] = int(rng.integers(1, 4))
    if rng.random() < 0.3:
        change["trace_rgb"] = TRACE_COLOURS[int(rng.integers(len(TRACE_COLOURS)))]
    if rng.random() < 0.3:
        change["font_pt"] = float(rng.uniform(7.0, 16.0))
    return dataclasses.replace(config, **change)


def _make_page(job: tuple[int, int, int, str | None, int]) -> tuple[np.ndarray, int]:
    """One generated page, degraded and letterboxed: (S x S uint8 grey, preset index)."""
    from ecgdl.render import render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    seed, split, index, preset, size_px = job
    rng = np.random.default_rng([seed, split, index])
    name = preset or PRESETS_USED[int(rng.integers(len(PRESETS_USED)))]
    record = generate_ecg(rng, 500.0)
    config = _page_style(_WORKER["sampler"].sample(rng), rng)
    image, truth = render_ecg(record, config, rng)
    image, _ = _WORKER["presets"][name](image, truth, rng)
    return letterbox_gray(image, size_px), PRESETS_USED.index(name)


def generate_split(seed: int, split: int, n_pages: int, balanced: bool, size_px: int, workers: int):
    """``n_pages`` upright pages (N x S x S uint8) and their preset indices; ``balanced``: presets in turn."""
    jobs = [
        (seed, split, i, PRESETS_USED[i % len(PRESETS_USED)] if balanced else None, size_px)
        for i in range(n_pages)
    ]
    t0 = time.time()
    with get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        out = []
        for i, page in enumerate(pool.imap(_make_page, jobs, chunksize=4)):
            out.append(page)
            if (i + 1) % 200 == 0:
                print(f"  {i + 1}/{n_pages} pages, {time.time() - t0:.0f} s", flush=True)
    return np.stack([p for p, _ in out]), np.array([k for _, k in out], np.int64)


def load_or_generate(args) -> dict[str, np.ndarray]:
    key = json.dumps(
        [args.seed, args.train_pages, args.test_pages_per_preset, args.size_px, PRESETS_USED, DPIS, "v1"]
    )
    cache = Path(args.cache_dir) / f"orientation-pages-{hashlib.sha1(key.encode()).hexdigest()[:10]}.npz"
    if cache.is_file():
        print(f"pages from {cache}")
        return dict(np.load(cache))
    print(f"rendering {args.train_pages} training pages ...", flush=True)
    x_train, p_train = generate_split(args.seed, 0, args.train_pages, False, args.size_px, args.workers)
    n_test = args.test_pages_per_preset * len(PRESETS_USED)
    print(f"rendering {n_test} test pages (other seeds) ...", flush=True)
    x_test, p_test = generate_split(args.seed, 1, n_test, True, args.size_px, args.workers)
    data = {"x_train": x_train, "p_train": p_train, "x_test": x_test, "p_test": p_test}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **data)
    print(f"cached in {cache}")
    return data


def _content_box(square: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the page inside its letterbox (the rows / columns that are not all fill)."""
    fill = square[0, 0] if square[0, 0] == square[-1, -1] else None
    if fill is None:
        return 0, square.shape[0], 0, square.shape[1]
    rows = np.flatnonzero((square != fill).any(1))
    cols = np.flatnonzero((square != fill).any(0))
    if not len(rows) or not len(cols):
        return 0, square.shape[0], 0, square.shape[1]
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def augment(square: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A training view of an upright letterboxed page: sometimes cropped to another shape, then turned up to 10
    degrees, zoomed, shifted, and jittered in brightness, contrast, blur and noise (still upright)."""
    size = square.shape[0]
    draw = rng.random()
    if draw < 0.5:  # part of the page out of frame, letterboxed again
        top, bottom, left, right = _content_box(square)
        h, w = bottom - top, right - left
        if draw < 0.3:  # a band of rows across the page (header and footer cut off): a wide picture
            fh, fw = rng.uniform(0.4, 0.85), rng.uniform(0.75, 1.0)
        else:  # any other shape
            fh, fw = rng.uniform(0.5, 1.0), rng.uniform(0.45, 1.0)
        ch, cw = max(16, int(h * fh)), max(16, int(w * fw))
        y0, x0 = top + int(rng.integers(0, h - ch + 1)), left + int(rng.integers(0, w - cw + 1))
        piece = np.ascontiguousarray(square[y0 : y0 + ch, x0 : x0 + cw])
        square = letterbox_gray(np.repeat(piece[..., None], 3, axis=2), size)
    fill = float(square.mean())
    angle = rng.uniform(-10.0, 10.0)
    scale = rng.uniform(0.85, 1.2)
    m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    m[:, 2] += rng.uniform(-0.06, 0.06, 2) * size
    view = cv2.warpAffine(
        square.astype(np.float32), m, (size, size), flags=cv2.INTER_LINEAR, borderValue=fill
    )
    if rng.random() < 0.3:
        view = cv2.GaussianBlur(view, (0, 0), rng.uniform(0.3, 1.0))
    view = (view - 128.0) * rng.uniform(0.7, 1.3) + 128.0 + rng.uniform(-25, 25)
    if rng.random() < 0.3:
        view = view + rng.normal(0.0, rng.uniform(2.0, 10.0), view.shape)
    return np.clip(view, 0, 255).astype(np.uint8)


def batch_inputs(squares: list[np.ndarray], turns: np.ndarray, sigma: float) -> torch.Tensor:
    """Network inputs of upright squares shown as lying turned: label k = needs k counter-clockwise quarter turns,
    so the picture is the upright page turned clockwise k times."""
    return torch.from_numpy(
        np.stack([page_channels(np.rot90(s, -int(k)), sigma) for s, k in zip(squares, turns, strict=True)])
    )


def evaluate(net: nn.Module, x: np.ndarray, sigma: float) -> np.ndarray:
    """(N, 4) predicted class of every page under every turn (rows: pages, columns: true class)."""
    net.eval()
    pred = np.zeros((len(x), 4), np.int64)
    with torch.inference_mode():
        for k in range(4):
            for i in range(0, len(x), 128):
                chunk = list(x[i : i + 128])
                logits = net(batch_inputs(chunk, np.full(len(chunk), k), sigma))
                pred[i : i + len(chunk), k] = logits.argmax(1).numpy()
    return pred


def report(pred: np.ndarray, presets: np.ndarray) -> None:
    truth = np.tile(np.arange(4), (len(pred), 1))
    print(f"test accuracy {np.mean(pred == truth):.4f} on {pred.size} views of {len(pred)} pages")
    for k, deg in enumerate(TURNS_DEG):
        print(f"  class {deg:3d}: {np.mean(pred[:, k] == k):.4f}")
    for j, name in enumerate(PRESETS_USED):
        sel = presets == j
        if sel.any():
            print(f"  {name:9s}: {np.mean(pred[sel] == truth[sel]):.4f} ({sel.sum()} pages)")
    conf = np.zeros((4, 4), np.int64)
    np.add.at(conf, (truth.ravel(), pred.ravel()), 1)
    print("confusion (rows: true turn, columns: predicted turn, degrees)")
    print("       " + " ".join(f"{d:5d}" for d in TURNS_DEG))
    for k, deg in enumerate(TURNS_DEG):
        print(f"  {deg:3d}  " + " ".join(f"{v:5d}" for v in conf[k]))


def train(args) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = load_or_generate(args)
    x_train, x_test = data["x_train"], data["x_test"]
    widths = tuple(args.widths)
    net = OrientationNet(widths=widths)
    n_params = sum(p.numel() for p in net.parameters())
    print(f"OrientationNet{widths}: {n_params} parameters; {len(x_train)} training pages x 4 turns")
    rng = np.random.default_rng([args.seed, 2])
    steps_per_epoch = (4 * len(x_train)) // args.batch_size
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.15
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    t0 = time.time()
    for epoch in range(args.epochs):
        net.train()
        order = rng.permutation(4 * len(x_train))
        total, correct, seen = 0.0, 0, 0
        for step in range(steps_per_epoch):
            idx = order[step * args.batch_size : (step + 1) * args.batch_size]
            pages, turns = idx // 4, idx % 4
            x = batch_inputs([augment(x_train[p], rng) for p in pages], turns, args.contrast_sigma_px)
            y = torch.from_numpy(turns.astype(np.int64))
            logits = net(x)
            loss = loss_fn(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(idx)
        print(
            f"epoch {epoch + 1}/{args.epochs}: loss {total / seen:.4f}, train accuracy {correct / seen:.4f}, "
            f"{time.time() - t0:.0f} s",
            flush=True,
        )
    report(evaluate(net, x_test, args.contrast_sigma_px), data["p_test"])
    settings = {
        "size_px": args.size_px,
        "contrast_sigma_px": args.contrast_sigma_px,
        "widths": list(widths),
        "turns_deg": list(TURNS_DEG),
        "train_pages": args.train_pages,
        "epochs": args.epochs,
        "seed": args.seed,
        "presets": list(PRESETS_USED),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": net.state_dict(), "settings": settings}, out)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB); training took {time.time() - t0:.0f} s")


def check(folders: list[str], weights: str) -> None:
    """Every picture under ``folders`` taken as upright: its class and probabilities, as it lies and turned."""
    from ecgdl.models.selfcheck import turn_image

    classifier = OrientationClassifier(weights)
    paths = sorted(p for f in folders for p in Path(f).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    right = [0, 0, 0, 0]
    for path in paths:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            print(f"{path}: unreadable")
            continue
        image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        row = []
        for k, deg in enumerate(TURNS_DEG):
            # lying turned clockwise by deg, so it needs deg counter-clockwise
            prob = classifier.probabilities(turn_image(image, (360 - deg) % 360))
            right[k] += int(np.argmax(prob) == k)
            if k == 0:
                row.append(f"upright p={np.round(prob, 3).tolist()}")
            row.append(f"{deg}->{TURNS_DEG[int(np.argmax(prob))]}")
        print(f"{path}: " + " ".join(row))
    n = max(1, len(paths))
    print(
        f"{len(paths)} pictures; accuracy per turn "
        + ", ".join(f"{d}: {r / n:.3f}" for d, r in zip(TURNS_DEG, right, strict=True))
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train-pages", type=int, default=1000)
    parser.add_argument("--test-pages-per-preset", type=int, default=30)
    parser.add_argument("--size-px", type=int, default=256)
    parser.add_argument("--contrast-sigma-px", type=float, default=2.0)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 64, 96])
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes that render pages")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for training")
    parser.add_argument("--cache-dir", default="/tmp/ecgdl-orientation")
    parser.add_argument("--out", default=str(ROOT / "ecgdl/assets/orientation.pt"))
    parser.add_argument(
        "--check", nargs="+", metavar="DIR", help="only report on the upright pictures under DIR"
    )
    args = parser.parse_args()
    if args.check:
        check(args.check, args.out)
    else:
        train(args)


if __name__ == "__main__":
    main()
