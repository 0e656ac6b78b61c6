"""The README's recipes exactly as a user types them, in a fresh folder (not the checkout): the scripts are called
by their absolute path and nothing is added to the command line but what the README shows (W&B stays offline).

Each recipe writes where its config says, relative to the folder it was started from: ``outputs/<task>/runs/<time>``
for a run, ``outputs/<task>/multiruns/<time>/<job>`` for a sweep (``debug=fdr`` names the task ``debug``).
Measured on the 2-core development machine, alone and beside other jobs: ``train.py debug=fdr`` 26-30 s, the
two-model multirun and its leaderboard 35-47 s, the Optuna search of two trials 38-60 s, the oracle evaluation
13-34 s; none is over the 90 s that would make it ``slow``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _python(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"python {' '.join(args)} failed:\n{proc.stderr[-4000:]}"
    return proc


def _only_outputs(cwd: Path) -> None:
    """A recipe writes nothing in the user's folder but ``outputs/`` (no lightning_logs/, wandb/, multirun/)."""
    assert sorted(p.name for p in cwd.iterdir()) == ["outputs"]


def _one(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def _overrides(run_dir: Path) -> list[str]:
    return yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())


def test_multirun_of_two_models_then_the_leaderboard_ranks_them(tmp_path) -> None:
    """``python train.py -m model=cnn,classical debug=fdr`` then ``python -m ecgdl.leaderboard outputs/``."""
    _python([str(ROOT / "train.py"), "-m", "model=cnn,classical", "debug=fdr"], tmp_path)
    sweep = _one(sorted((tmp_path / "outputs" / "debug" / "multiruns").iterdir()))
    jobs = {}
    for job in ("0", "1"):
        metrics = _metrics(sweep / job)
        assert math.isfinite(metrics["test/snr_db"]) and metrics["eval_set"] == "synth/kaggle_eik"
        # the run's snr_db is its test page read end to end; its tables and overlays are in the run folder
        pages = pd.read_csv(sweep / job / "per_image.csv")
        assert len(pages) == metrics["n_images"] == 1 and metrics["snr_db"] == pytest.approx(
            pages["snr_db"][0]
        )
        assert pd.read_csv(sweep / job / "per_lead.csv").shape == (1, 13)
        assert (sweep / job / "overlays" / "best-test-00000-overlay.png").is_file()
        jobs[metrics["model"]] = metrics
        assert f"model={metrics['model']}" in _overrides(sweep / job) and "debug=fdr" in _overrides(
            sweep / job
        )
    assert set(jobs) == {"cnn", "classical"}
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]  # nothing else swept

    _python(["-m", "ecgdl.leaderboard", "outputs/"], tmp_path)
    _dashboard_draws(tmp_path / "outputs" / "leaderboard.html", tmp_path.parent / "chromium")
    board = pd.read_csv(tmp_path / "outputs" / "leaderboard.csv")
    assert len(board) == 2 and set(board["model"]) == {"cnn", "classical"}
    assert board["rank"].tolist() == [1, 2]
    assert board["snr_db"].is_monotonic_decreasing
    for row in board.itertuples():
        assert row.snr_db == pytest.approx(jobs[row.model]["snr_db"])
        assert row.path == f"debug/multiruns/{sweep.name}/{'0' if row.model == 'cnn' else '1'}"
    assert (tmp_path / "outputs" / "leaderboard.md").is_file()
    assert (tmp_path / "outputs" / "leaderboard.html").is_file()
    _only_outputs(tmp_path)


def _dashboard_draws(page: Path, scratch: Path) -> None:
    """The dashboard of the multirun, opened in headless Chromium where there is one: heatmap, per-lead bars and
    the page gallery drew (the page's own self-check)."""
    from tests.integration.test_dashboards_browser import CHROMIUM, open_in_chromium, selftest

    if CHROMIUM is None:
        return
    scratch.mkdir(exist_ok=True)
    dom = open_in_chromium(page, "selftest=1", scratch / "board.png", scratch / "profile")
    report = selftest(dom)
    assert 'data-selftest="pass"' in dom, report
    for check in ("heatmap drew", "per-lead bars drew", "per-page box plot drew", "gallery has 2 thumbnails"):
        assert f"ok   {check}" in report, report


def test_optuna_search_runs_its_trials(tmp_path) -> None:
    """``python train.py -m hparams_search=optuna hydra.sweeper.n_trials=2 debug=fdr``."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    _python(
        [str(ROOT / "train.py"), "-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2", "debug=fdr"],
        tmp_path,
    )
    sweep = _one(sorted((tmp_path / "outputs" / "debug" / "multiruns").iterdir()))
    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in trials] == ["0", "1"]
    space = yaml.safe_load((ROOT / "conf" / "hparams_search" / "optuna.yaml").read_text())
    params = list(space["hydra"]["sweeper"]["params"])
    sampled = []
    for trial in trials:
        overrides = dict(o.split("=", 1) for o in _overrides(trial))
        assert set(params) <= set(overrides) and overrides["debug"] == "fdr"
        sampled.append(tuple(overrides[p] for p in params))
        assert math.isfinite(_metrics(trial)["val/snr_db"])
    assert sampled[0] != sampled[1]  # two trials, two points of the search space
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert list(results["best_params"]) == params
    # train.py returns the monitored val/snr_db, which the sweeper maximises
    best = max(_metrics(trial)["val/snr_db"] for trial in trials)
    assert results["best_value"] == pytest.approx(best)
    _only_outputs(tmp_path)


def test_fast_dev_run_of_the_default_training(tmp_path) -> None:
    """``python train.py debug=fdr``: one batch of train, val and test of the default cnn."""
    _python([str(ROOT / "train.py"), "debug=fdr"], tmp_path)
    _only_outputs(tmp_path)
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == ["debug"]
    run = _one(sorted((tmp_path / "outputs" / "debug" / "runs").iterdir()))
    metrics = _metrics(run)
    assert metrics["model"] == "cnn" and metrics["aug"] == "mixed"
    for key in ("train/loss", "val/snr_db", "test/snr_db"):
        assert math.isfinite(metrics[key]), key
    assert metrics["best_checkpoint"] is None  # fast_dev_run saves no checkpoint
    assert (run / "train.log").is_file() and (run / ".hydra" / "config.yaml").is_file()


@pytest.mark.slow  # 30-40 s; test_evaluate.py scores the oracle in-process in the default suite
def test_the_oracle_evaluation_scores_the_cap(tmp_path, shared_data) -> None:
    """``python evaluate.py model=oracle data.root=../shared/data/dev_eik_clean`` (the pipeline self-check)."""
    root = shared_data / "dev_eik_clean"
    _python([str(ROOT / "evaluate.py"), "model=oracle", f"data.root={root}"], tmp_path)
    run = _one(sorted((tmp_path / "outputs" / "evaluate" / "runs").iterdir()))
    metrics = _metrics(run)
    assert metrics["snr_db"] == pytest.approx(60.0)
    assert metrics["n_images"] == 10 and metrics["n_failed"] == 0
    assert (run / "per_image.csv").is_file() and (run / "per_lead.csv").is_file()
    _only_outputs(tmp_path)
