"""generate.py: N records in the Kaggle layout with full truth; resumes; never overwrites unless told."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgdl.render import RenderTruth
from ecgdl.signals.io import KaggleLayout
from ecgdl.tasks import generate


def test_generate_writes_kaggle_layout_and_resumes(make_cfg, tmp_path) -> None:
    out = tmp_path / "ds"
    overrides = [
        f"output_dir={out}",
        "num_records=3",
        "data.aug=clean",
        "seed=5",
        "num_workers=1",
        "render=kaggle",
    ]
    metrics = generate.run(make_cfg("generate", overrides))
    assert metrics["n_written"] == 3 and metrics["n_failed"] == 0
    index = pd.read_csv(out / "train.csv", dtype={"id": str})
    assert list(index["id"]) == ["1", "2", "3"]
    layout = KaggleLayout(out)
    for item in layout.iter_items():
        record = layout.read_signal(item.id)
        ((img_type, img_path),) = item.images
        assert img_type == "0001" and img_path.is_file()
        truth = RenderTruth.load(img_path.with_name(f"{img_path.stem}.truth.npz"))
        # the CSV is exactly the plotted signal of the truth (Kaggle semantics: lead II full, others 2.5 s)
        np.testing.assert_array_equal(record.signal_mv, truth.record.signal_mv)
        assert np.isfinite(record.signal_mv[:, 1]).all() and np.isnan(record.signal_mv[:, 0]).mean() > 0.7
        assert record.n_samples == round(10 * item.fs_hz)
    before = (out / "train" / "2" / "2.csv").stat().st_mtime_ns
    again = generate.run(make_cfg("generate", [*overrides[:1], "num_records=4", *overrides[2:]]))
    assert again["n_skipped"] == 3 and again["n_written"] == 1
    assert (out / "train" / "2" / "2.csv").stat().st_mtime_ns == before  # kept, not rewritten
    assert len(pd.read_csv(out / "train.csv")) == 4


def test_generate_same_seed_same_images(make_cfg, tmp_path) -> None:
    for name in ("a", "b"):
        generate.run(
            make_cfg(
                "generate",
                [
                    f"output_dir={tmp_path / name}",
                    "num_records=2",
                    "data.aug=scan",
                    "seed=9",
                    "num_workers=1",
                ],
            )
        )
    a = sorted((tmp_path / "a" / "train").rglob("*.png"))
    b = sorted((tmp_path / "b" / "train").rglob("*.png"))
    assert [p.name for p in a] == [p.name for p in b] and a
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_pool_processes_run_opencv_on_one_thread_and_the_single_process_keeps_its_own() -> None:
    import cv2

    before = cv2.getNumThreads()
    try:
        generate._init_worker(object(), 1)  # what each pool process runs
        assert cv2.getNumThreads() == 1 and generate._FACTORY is not None
        cv2.setNumThreads(before)
        generate._init_worker(object())  # num_workers=1: the main process, threads untouched
        assert cv2.getNumThreads() == before
    finally:
        cv2.setNumThreads(before)
        generate._FACTORY = None
