"""Batches split over a cluster: shards of predict / evaluate joined by ``python -m ecgdl.merge`` give exactly
the unsharded run's outputs; page workers; a per-page time limit; a missing shard is named."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ecgdl.merge import main as merge_main
from ecgdl.merge import merge
from ecgdl.tasks import evaluate, predict
from ecgdl.tasks.batch import PageTimeout, shard_items, shard_suffix, time_limit

ROOT = Path(__file__).resolve().parents[2]


def test_shards_are_contiguous_blocks_that_join_into_the_whole() -> None:
    items = list(range(11))
    for n in (1, 2, 3, 4, 11, 13):
        blocks = [shard_items(items, i, n) for i in range(n)]
        assert [x for block in blocks for x in block] == items
        assert max(map(len, blocks)) - min(map(len, blocks)) <= 1
    with pytest.raises(ValueError, match=r"shard_index must be in 0\.\.2"):
        shard_items(items, 3, 3)
    with pytest.raises(ValueError, match="num_shards must be >= 1"):
        shard_items(items, 0, 0)
    assert shard_suffix(0, 1) == "" and shard_suffix(2, 16) == ".shard-002-of-016"


def test_time_limit_stops_a_runaway_page_and_lets_a_quick_one_finish() -> None:
    t0 = time.perf_counter()
    with pytest.raises(PageTimeout, match=r"per-page limit of 0\.2 s"), time_limit(0.2):
        while True:  # a tracing loop that never ends
            pass
    assert time.perf_counter() - t0 < 2.0
    with time_limit(5.0):
        total = sum(range(1000))
    assert total == 499500
    time.sleep(0.3)  # the alarm was cancelled: nothing fires after the block


def test_a_page_over_its_time_limit_is_reported_and_the_batch_goes_on(tmp_path: Path) -> None:
    from ecgdl.data.inputs import InputImage

    class Stuck:
        confidence = None

        def digitize(self, image, fs_hz, n_samples):
            while True:
                pass

    image = tmp_path / "page.png"
    cv2.imwrite(str(image), np.full((40, 60, 3), 255, np.uint8))
    reader = object.__new__(predict.PageReader)  # a reader around a digitizer that never returns
    reader.digitizer, reader.out_dir, reader.page_timeout_s = Stuck(), tmp_path, 0.3
    reader.save_overlay, reader.formats, reader.overwrite = False, ("csv",), False
    row = reader(InputImage("page", image, 500.0, 5000, "page"))
    assert row["status"] == "failed" and "PageTimeout" in row["error"] and row["seconds"] < 3


@pytest.fixture
def page_folder(tmp_path: Path) -> Path:
    """Three generated pages and one file that is not an image."""
    from ecgdl.render.renderer import RenderConfig, render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    folder = tmp_path / "pages"
    folder.mkdir()
    for k in range(3):
        record = generate_ecg(np.random.default_rng(100 + k), 500.0)
        image, _ = render_ecg(record, RenderConfig(dpi=150.0), np.random.default_rng(200 + k))
        cv2.imwrite(str(folder / f"page{k}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    (folder / "broken.png").write_bytes(b"not a png at all")
    return folder


def test_two_shard_multirun_then_merge_equals_one_run(make_cfg, page_folder: Path, tmp_path: Path) -> None:
    single = tmp_path / "single"
    metrics = predict.run(
        make_cfg("predict", ["model=classical", f"input={page_folder}", f"output_dir={single}"])
    )
    assert metrics["n_predicted"] == 3 and metrics["n_failed"] == 1

    sharded = tmp_path / "sharded"
    cmd = [
        sys.executable,
        str(ROOT / "predict.py"),
        "-m",
        "model=classical",
        f"input={page_folder}",
        f"output_dir={sharded}",
        "num_shards=2",
        "shard_index=0,1",
    ]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]  # a failed page in one shard does not stop the other
    assert sorted(p.name for p in sharded.glob("report.shard-*")) == [
        "report.shard-000-of-002.csv",
        "report.shard-001-of-002.csv",
    ]
    assert merge_main([str(sharded)]) == 0

    one = pd.read_csv(single / "report.csv").drop(columns="seconds")
    joined = pd.read_csv(sharded / "report.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(one, joined)
    for k in range(3):
        assert (single / f"page{k}.csv").read_bytes() == (sharded / f"page{k}.csv").read_bytes()
    merged = json.loads((sharded / "predict_metrics.json").read_text())
    for key in ("n_images", "n_predicted", "n_failed", "einthoven_db_median", "n_low_confidence"):
        assert merged[key] == metrics[key], key


def test_merge_names_the_shards_that_have_not_finished(tmp_path: Path) -> None:
    frame = pd.DataFrame({"stem": ["a"], "status": ["ok"]})
    frame.to_csv(tmp_path / "report.shard-000-of-003.csv", index=False)
    frame.to_csv(tmp_path / "report.shard-002-of-003.csv", index=False)
    with pytest.raises(
        FileNotFoundError, match=r"1 of 3 report shards have not finished \(missing shard_index 1\)"
    ):
        merge(tmp_path)
    with pytest.raises(FileNotFoundError, match="no shard reports"):
        merge(tmp_path / "..")


@pytest.mark.slow
def test_evaluate_shards_merge_into_the_unsharded_scores(make_cfg, tmp_path: Path) -> None:
    common = ["model=classical", "data=synth", "data.test_size=3", "overlays=0", "extra_metrics=false"]
    single = evaluate.run(make_cfg("evaluate", [*common, f"output_dir={tmp_path / 'one'}"]))
    out = tmp_path / "sharded"
    for i in range(2):
        evaluate.run(make_cfg("evaluate", [*common, f"output_dir={out}", "num_shards=2", f"shard_index={i}"]))
    merged = merge(out)["evaluate"]
    assert merged["n_images"] == single["n_images"] == 3
    for key in ("snr_db", "snr_db_ok", "rmse_mv", "n_failed", "n_low_confidence"):
        assert merged[key] == pytest.approx(single[key], rel=1e-9, abs=1e-12), key
    assert merged["per_type"] == pytest.approx(single["per_type"])
    one = pd.read_csv(tmp_path / "one" / "per_image.csv").drop(columns="seconds")
    joined = pd.read_csv(out / "per_image.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(one, joined)


@pytest.mark.slow
def test_page_workers_write_what_one_process_writes(make_cfg, page_folder: Path, tmp_path: Path) -> None:
    outs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        cfg = make_cfg(
            "predict", ["model=classical", f"input={page_folder}", f"output_dir={out}", f"workers={workers}"]
        )
        outs[workers] = (predict.run(cfg), out)
    (m1, o1), (m2, o2) = outs[1], outs[2]
    assert m1["n_predicted"] == m2["n_predicted"] == 3 and m2["n_failed"] == 1
    pd.testing.assert_frame_equal(
        pd.read_csv(o1 / "report.csv").drop(columns="seconds"),
        pd.read_csv(o2 / "report.csv").drop(columns="seconds"),
    )
    for k in range(3):
        assert (o1 / f"page{k}.csv").read_bytes() == (o2 / f"page{k}.csv").read_bytes()
