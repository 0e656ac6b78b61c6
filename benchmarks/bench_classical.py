"""Speed (and, where truth exists, Kaggle SNR) of the classical digitizer on a folder of pages in Kaggle train layout.

    python benchmarks/bench_classical.py                       # ../shared/data/dev_eik_clean, one core
    python benchmarks/bench_classical.py --data PATH --repeat 3 --threads 1

Prints one row per image (size, seconds, layout, SNR when ``<id>.csv`` truth is there) and a summary line. Times are
wall-clock seconds of ``ClassicalDigitizer.digitize`` (image decoding excluded), best of ``--repeat`` runs, with
OpenCV limited to ``--threads`` threads (and BLAS to one) so the number means "one core".
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def _default_data() -> Path:
    root = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("ECGDL_SHARED_DATA", root.parent / "shared" / "data"))
    return shared / "dev_eik_clean"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=_default_data(), help="folder with train.csv and train/<id>/"
    )
    ap.add_argument("--repeat", type=int, default=2, help="runs per image; the best time is reported")
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads (1 = single core)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N images (0 = all)")
    ap.add_argument("--no-score", action="store_true", help="skip the SNR even when truth is available")
    args = ap.parse_args(argv)

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    import cv2
    import numpy as np
    import pandas as pd

    from ecgdl.classical import ClassicalDigitizer, load_image
    from ecgdl.constants import LEADS
    from ecgdl.digitizer import DigitizationError

    cv2.setNumThreads(args.threads)
    table = pd.read_csv(args.data / "train.csv")
    if args.limit:
        table = table.head(args.limit)
    dig = ClassicalDigitizer()
    rows, truths, preds, fss = [], [], [], []
    for _, item in table.iterrows():
        rid = str(item.id)
        folder = args.data / "train" / rid
        images = sorted(p for p in folder.glob(f"{rid}-*") if p.suffix.lower() != ".json")
        if not images:
            continue
        image = load_image(images[0])
        fs, n = float(item.fs), int(item.sig_len)
        best, rec, error = float("inf"), None, ""
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            try:
                rec = dig.digitize(image, fs, n, rid)
            except DigitizationError as exc:
                rec, error = None, str(exc)
            best = min(best, time.perf_counter() - t0)
        snr = float("nan")
        truth_csv = folder / f"{rid}.csv"
        if not args.no_score and truth_csv.is_file():
            from ecgdl.metrics.snr import snr_kaggle

            truth = pd.read_csv(truth_csv)[list(LEADS)].to_numpy()
            pred = np.zeros_like(truth) if rec is None else np.nan_to_num(rec.signal_mv)
            snr = float(snr_kaggle(truth, pred, fs).snr_db)
            truths.append(truth)
            preds.append(pred)
            fss.append(fs)
        rows.append(
            {
                "id": rid,
                "size": f"{image.shape[1]}x{image.shape[0]}",
                "seconds": best,
                "layout": rec.meta["layout"] if rec is not None else "error",
                "snr_db": snr,
                "note": error[:60],
            }
        )
    if not rows:
        print(f"no images found under {args.data}")
        return 1
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 120, "display.max_colwidth", 60):
        print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    summary = (
        f"\n{len(df)} images  mean {df.seconds.mean():.3f} s  median {df.seconds.median():.3f} s  "
        f"max {df.seconds.max():.3f} s  (threads={args.threads})"
    )
    if truths:
        from ecgdl.metrics.snr import snr_kaggle

        summary += f"  Kaggle SNR {snr_kaggle(truths, preds, np.asarray(fss)).snr_db:.2f} dB"
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
