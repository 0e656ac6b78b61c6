"""Join the reports of a sharded predict or evaluate job: ``python -m ecgdl.merge <output_dir>``.

A job run as ``num_shards`` shards (``shard_index=0..n-1``, e.g. a SLURM array through ``hydra/launcher=slurm``)
writes one report per shard into the same folder (``report.shard-000-of-004.csv`` for predict;
``per_image.shard-000-of-004.csv`` and friends for evaluate). This joins them, in shard order, into the files an
unsharded run writes (``report.csv`` + ``predict_metrics.json``; ``per_image.csv``, ``per_lead.csv``,
``per_lead_lag.csv``, ``per_type.csv``, ``per_condition.csv`` + ``metrics.json``), with the dataset figures
recomputed from the joined rows. It refuses, naming what is missing, while any shard has not finished.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ecgdl.tasks.batch import write_table_atomic
from ecgdl.tasks.common import write_metrics

_SHARD_RE = re.compile(r"^(?P<base>.+)\.shard-(?P<index>\d+)-of-(?P<total>\d+)\.(?P<ext>csv|json)$")


def _shards(folder: Path, base: str, ext: str) -> list[Path]:
    """The shard files ``<base>.shard-III-of-NNN.<ext>`` in shard order; every shard must be there."""
    found: dict[int, Path] = {}
    totals = set()
    for path in folder.iterdir():
        m = _SHARD_RE.match(path.name)
        if m and m["base"] == base and m["ext"] == ext:
            found[int(m["index"])] = path
            totals.add(int(m["total"]))
    if not found:
        return []
    if len(totals) != 1:
        raise ValueError(f"{folder}: {base} shards of different jobs ({sorted(totals)} shards); keep one job")
    (total,) = totals
    missing = [i for i in range(total) if i not in found]
    if missing:
        raise FileNotFoundError(
            f"{folder}: {len(missing)} of {total} {base} shards have not finished (missing shard_index "
            f"{', '.join(map(str, missing[:10]))}{' ...' if len(missing) > 10 else ''})"
        )
    return [found[i] for i in range(total)]


def _concat(paths: list[Path], **read_kwargs: Any) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, **read_kwargs) for p in paths], ignore_index=True)


def merge_predict(folder: Path) -> dict[str, Any] | None:
    """Join predict's shard reports into report.csv and predict_metrics.json (None if there are none)."""
    from ecgdl.tasks.predict import REPORT_COLUMNS, report_metrics

    reports = _shards(folder, "report", "csv")
    if not reports:
        return None
    table = _concat(reports, dtype={"stem": str})[REPORT_COLUMNS]
    shard_metrics = [json.loads(p.read_text()) for p in _shards(folder, "predict_metrics", "json")]
    metrics = {
        **report_metrics(table),
        **{
            key: sum(int(m.get(key, 0)) for m in shard_metrics)
            for key in ("n_images", "n_predicted", "n_skipped", "n_failed")
        },
        "report": str(write_table_atomic(table, folder / "report.csv")),
        "merged_shards": len(reports),
    }
    write_metrics(folder / "predict_metrics.json", metrics)
    return metrics


def merge_evaluate(folder: Path) -> dict[str, Any] | None:
    """Join evaluate's shard tables into the unsharded files and recompute metrics.json (None if none)."""
    from ecgdl.tasks.evaluate import dataset_metrics, per_condition_table

    per_image = _shards(folder, "per_image", "csv")
    if not per_image:
        return None
    frame = _concat(per_image, dtype={"image_id": str})
    write_table_atomic(frame, folder / "per_image.csv")
    for name in ("per_lead", "per_lead_lag"):
        parts = _shards(folder, name, "csv")
        if parts:
            write_table_atomic(_concat(parts, dtype={"image_id": str}), folder / f"{name}.csv")
    shard_metrics = [json.loads(p.read_text()) for p in _shards(folder, "metrics", "json")]
    metrics = dataset_metrics(frame)
    pd.Series(metrics["per_type"], name="snr_db").rename_axis("image_type").to_csv(folder / "per_type.csv")
    write_table_atomic(per_condition_table(frame), folder / "per_condition.csv")
    lows = [m.get("n_low_confidence") for m in shard_metrics]
    metrics["n_low_confidence"] = None if any(v is None for v in lows) else sum(lows)
    for key in ("model", "data", "eval_set", "aug"):  # the same in every shard of one job
        metrics[key] = shard_metrics[0].get(key) if shard_metrics else None
    metrics["merged_shards"] = len(per_image)
    write_metrics(folder / "metrics.json", metrics)
    return metrics


def merge(folder: str | Path) -> dict[str, Any]:
    """Join whatever sharded reports ``folder`` holds (predict's, evaluate's or both)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    out = {"predict": merge_predict(folder), "evaluate": merge_evaluate(folder)}
    if out["predict"] is None and out["evaluate"] is None:
        raise FileNotFoundError(f"{folder}: no shard reports (*.shard-III-of-NNN.csv) to join")
    return {k: v for k, v in out.items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgdl.merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir", help="the folder the shards wrote into")
    args = parser.parse_args(argv)
    try:
        result = merge(args.output_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for task, metrics in result.items():
        shown = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
        print(f"{task}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
