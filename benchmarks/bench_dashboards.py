"""How long the two dashboards take to build and to load in headless Chromium, at scale.

Synthesizes, in a temporary folder, ``--runs`` evaluation runs shaped like evaluate.py's (metrics.json, .hydra/
overrides and config, per_image.csv, per_lead.csv, 3 best and 3 worst overlay PNGs) and a prediction folder of
``--pages`` pages shaped like predict.py's (report.csv, a CSV of 12 leads at 500 Hz and an overlay PNG per page);
builds the leaderboard dashboard and the review page (first build: thumbnails and signal files made; second:
kept), then opens each ``--repeat`` times in headless Chromium and reads when its ``load`` event fired and when
its plots / table were drawn (``performance.now()`` since navigation, which each page writes into the DOM).
A blank page is timed the same way as the machine's floor.

Usage: ``python benchmarks/bench_dashboards.py [--runs 500] [--pages 2000] [--repeat 3] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ecgdl.constants import LEADS
from ecgdl.leaderboard import collect_runs, write_leaderboard
from ecgdl.review import write_review

MODELS = ("cnn", "classical", "unet", "crop_ae")
PRESETS = ("clean", "scan", "bw_scan", "photo", "screen", "stained", "damaged", "mold", "wrinkled", "turned")


def _overlay_images(folder: Path, n: int, size: tuple[int, int], rng: np.random.Generator) -> list[Path]:
    """``n`` distinct page-like PNGs (grid and a trace) to copy as overlays."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    paths = []
    for i in range(n):
        page = np.full((height, width, 3), 255, np.uint8)
        page[:, ::10] = page[::10, :] = (200, 200, 240)
        x = np.arange(width)
        y = (height / 2 + 40 * np.sin(x / (15 + i)) + rng.normal(0, 2, width)).astype(np.int32)
        cv2.polylines(page, [np.stack([x, y], 1).astype(np.int32)], False, (200, 60, 20), 2)
        paths.append(folder / f"src-{i}.png")
        cv2.imwrite(str(paths[-1]), page)
    return paths


def synth_runs(root: Path, n_runs: int, n_pages: int, rng: np.random.Generator) -> None:
    """``n_runs`` evaluate.py-shaped run folders under ``root/multirun/<sweep>/<job>``."""
    sources = _overlay_images(root / "_src", 8, (550, 425), rng)
    pages = [f"{1000 + i}-0001" for i in range(n_pages)]
    base_config = {f"group{g}": {f"key{k}": float(k) for k in range(15)} for g in range(10)}
    for r in range(n_runs):
        model, preset = MODELS[r % len(MODELS)], PRESETS[(r // len(MODELS)) % len(PRESETS)]
        run = root / "multirun" / f"sweep{r // 50}" / str(r % 50)
        (run / ".hydra").mkdir(parents=True)
        (run / "overlays").mkdir()
        page_db = rng.normal(18 - 2 * (r % len(MODELS)), 5, n_pages)
        metrics = {
            "snr_db": float(np.mean(page_db)),
            "rmse_mv": 0.05,
            "n_images": n_pages,
            "n_failed": 0,
            "model": model,
            "eval_set": "synth/kaggle",
            "per_type": {preset: float(np.mean(page_db))},
        }
        (run / "metrics.json").write_text(json.dumps(metrics))
        overrides = [f"model={model}", f"data.aug={preset}", f"seed={r}"]
        (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
        config = {**base_config, "model": {"name": model, "width": 8 + r % 5}, "seed": r}
        (run / ".hydra" / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
        pd.DataFrame({"image_id": pages, "snr_db": page_db}).to_csv(run / "per_image.csv", index=False)
        lead = page_db[:, None] + rng.normal(0, 2, (n_pages, len(LEADS)))
        pd.DataFrame(lead, index=pd.Index(pages, name="image_id"), columns=list(LEADS)).to_csv(
            run / "per_lead.csv"
        )
        order = np.argsort(page_db)
        for tag, chosen in (("worst", order[:3]), ("best", order[::-1][:3])):
            for i in chosen:
                shutil.copyfile(
                    sources[int(i) % len(sources)], run / "overlays" / f"{tag}-{pages[i]}-overlay.png"
                )


def synth_predictions(out: Path, n_pages: int, rng: np.random.Generator) -> None:
    """A predict.py-shaped folder of ``n_pages`` pages (CSVs and overlays are copies of a few distinct ones)."""
    out.mkdir(parents=True)
    sources = _overlay_images(out / "_src", 8, (1100, 850), rng)
    fs_hz, n = 500.0, 5000
    t = np.arange(n) / fs_hz
    csv_sources = []
    for j in range(4):
        signal = np.full((n, len(LEADS)), np.nan)
        for k, lead in enumerate(LEADS):
            span = slice(None) if lead == "II" else slice((k // 3) * n // 4, (k // 3 + 1) * n // 4)
            signal[span, k] = np.sin(2 * np.pi * (1 + 0.1 * j) * t[span] + k)
        csv_sources.append(out / "_src" / f"sig-{j}.csv")
        pd.DataFrame(signal, columns=list(LEADS)).to_csv(csv_sources[-1], index=False, float_format="%.4f")
    rows = []
    for i in range(n_pages):
        stem = f"{i:05d}-0001"
        confidence = float(rng.uniform())
        failed = rng.uniform() < 0.02
        if not failed:
            shutil.copyfile(csv_sources[i % 4], out / f"{stem}.csv")
            shutil.copyfile(sources[i % len(sources)], out / f"{stem}-overlay.png")
        rows.append(
            {
                "stem": stem,
                "image": f"/data/in/{stem}.png",
                "status": "failed" if failed else ("ok" if confidence >= 0.5 else "low_confidence"),
                "seconds": 1.2,
                "layout": "3x4+II",
                "px_per_mm": 7.87,
                "gain_mm_per_mv": 10.0,
                "fs_hz": fs_hz,
                "einthoven_db": float(rng.normal(12, 6)),
                "goldberger_db": float(rng.normal(18, 6)),
                "confidence": None if failed else confidence,
                "turned_deg": 0,
                "reader": "reader",
                "error": "ValueError: no grid" if failed else None,
            }
        )
    pd.DataFrame(rows).to_csv(out / "report.csv", index=False)


def chromium_times(chromium: str, page: Path, profile: Path, repeat: int) -> dict[str, float]:
    """Median ms to the ``load`` event and to the drawn page (``data-ready-ms``) over ``repeat`` opens, and the
    median wall and CPU (user + system, all its processes) seconds of the whole headless run, Chromium's start
    included: the CPU seconds do not grow when other work shares the machine, the wall times do."""
    load, ready, wall, cpu = [], [], [], []
    for _ in range(repeat):
        cmd = [chromium, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}"]
        cmd += ["--window-size=1400,1000", "--dump-dom", page.resolve().as_uri()]
        t0, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
        wall.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
        found = dict(re.findall(r'data-(load|ready)-ms="(\d+)"', dom))
        load.append(float(found.get("load", "nan")))
        ready.append(float(found.get("ready", found.get("load", "nan"))))
    return {
        "load ms": statistics.median(load),
        "drawn ms": statistics.median(ready),
        "chromium wall s": statistics.median(wall),
        "chromium cpu s": statistics.median(cpu),
    }


def _floor_page(folder: Path) -> Path:
    stamp = (
        "<script>window.addEventListener('load',function(){document.body.setAttribute('data-load-ms',"
        "Math.round(performance.now()));});</script>"
    )
    blank = folder / "blank.html"
    blank.write_text(f"<!DOCTYPE html><html><body>{stamp}</body></html>")
    return blank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--pages", type=int, default=2000, help="pages of the prediction folder")
    parser.add_argument("--pages-per-run", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3, help="opens per page in Chromium (median)")
    parser.add_argument(
        "--keep", type=Path, default=None, help="build here and keep it (default: a temp dir)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_dashboards_"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        t0 = time.perf_counter()
        if not (work / "runs").exists():  # --keep DIR a second time reuses what it holds
            synth_runs(work / "runs", args.runs, args.pages_per_run, rng)
            synth_predictions(work / "pred", args.pages, rng)
        print(f"synthesized {args.runs} runs and {args.pages} pages in {time.perf_counter() - t0:.1f} s")
        builds = {}
        for label in ("first build", "rebuild"):
            t0 = time.perf_counter()
            board = write_leaderboard(collect_runs(work / "runs"), work / "reports", runs_root=work / "runs")[
                "html"
            ]
            builds[("leaderboard", label)] = time.perf_counter() - t0
            t0 = time.perf_counter()
            review = write_review(work / "pred")
            builds[("review", label)] = time.perf_counter() - t0
        chromium = next(
            (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
        )
        pages = {
            f"leaderboard ({args.runs} runs)": board,
            f"review ({args.pages} pages)": review,
        }
        pages["blank page (floor)"] = _floor_page(work)
        for name, path in pages.items():
            kind = name.split(" ")[0]
            row = {
                "page": name,
                "MB": path.stat().st_size / 1e6,
                "first build s": builds.get((kind, "first build"), float("nan")),
                "rebuild s": builds.get((kind, "rebuild"), float("nan")),
            }
            if chromium:
                row.update(chromium_times(chromium, path, work / "profile", args.repeat))
            rows.append(row)
        table = pd.DataFrame(rows)
        print(
            table.to_markdown(index=False, floatfmt=".2f")
            if _has_tabulate()
            else table.to_string(index=False)
        )
        if not chromium:
            print("no chromium on PATH: load times not measured (apt-get install -y chromium)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
