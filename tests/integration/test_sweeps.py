"""Multirun sweeps, the Optuna sweeper and W&B sweep files all drive train.py; the leaderboard ranks the runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

from ecgdl.leaderboard import collect_runs

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "debug=fdr",
    "data.num_workers=0",
    "data.train_size=1",
    "data.val_size=1",
    "data.test_size=1",
    "data.batch_size=1",
    "data.crops_per_page=2",
    "render.dpis=[100.0]",
]


def _train(args: list[str], log_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "1"}
    cmd = [sys.executable, "train.py", *args, *TINY, f"paths.log_dir={log_dir}"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_multirun_of_two_jobs_and_leaderboard(tmp_path) -> None:
    proc = _train(["-m", "model=oracle,cnn", "data.aug=clean"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = collect_runs(tmp_path)
    assert len(runs) == 2
    assert runs.iloc[0]["snr_db"] == pytest.approx(60.0)  # the oracle ranks first
    out = tmp_path / "board"
    done = subprocess.run(
        [sys.executable, "-m", "ecgdl.leaderboard", str(tmp_path), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == 2 and (out / "leaderboard.md").is_file() and (out / "leaderboard.html").is_file()


def test_optuna_sweeper_runs_trials(tmp_path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    proc = _train(
        [
            "-m",
            "hparams_search=optuna",
            "hydra.sweeper.n_trials=2",
            "hydra.sweeper.sampler.n_startup_trials=2",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list(tmp_path.rglob("metrics.json"))) == 2
    assert list(tmp_path.rglob("optimization_results.yaml"))


@pytest.mark.parametrize("sweep_file", sorted((ROOT / "sweeps").glob("*.yaml")), ids=lambda p: p.stem)
def test_wandb_sweep_parameters_are_hydra_overrides(make_cfg, sweep_file: Path) -> None:
    spec = yaml.safe_load(sweep_file.read_text())
    assert spec["program"] == "train.py" and spec["metric"]["name"] == "val/snr_db"
    assert "${args_no_hyphens}" in spec["command"]
    fixed = [a for a in spec["command"] if "=" in a and not a.startswith("$")]
    overrides = list(fixed)
    for key, param in spec["parameters"].items():
        value = param["values"][0] if "values" in param else param.get("min")
        overrides.append(f"{key}={value}")
    cfg = make_cfg("train", overrides)  # composes: every parameter is a valid override path
    for key, param in spec["parameters"].items():
        if "values" in param and "." in key:
            assert OmegaConf.select(cfg, key) == param["values"][0]
