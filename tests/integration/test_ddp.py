"""A 2-process DDP run on CPU (gloo): Lightning's launcher re-runs train.py under Hydra in each process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path) -> None:
    args = [
        "trainer=ddp_cpu",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        "data.num_workers=0",
        "data.train_size=4",
        "data.val_size=2",
        "data.test_size=2",
        "data.batch_size=1",
        "data.crops_per_page=2",
        "render.dpis=[100.0]",
        "data.aug=clean",
        "callbacks.rich_progress_bar=null",
        f"paths.log_dir={tmp_path}",
    ]
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run(
        [sys.executable, "train.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    (metrics_file,) = tmp_path.rglob("metrics.json")  # written once, by rank 0
    metrics = json.loads(metrics_file.read_text())
    assert metrics["snr_db"] is not None
    assert "distributed_backend=gloo" in proc.stderr + proc.stdout
