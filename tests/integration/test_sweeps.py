"""W&B sweep files drive train.py with Hydra overrides: every parameter names a real override path and every value
composes. (Hydra multiruns, the Optuna search and the leaderboard run as a user types them in test_recipes.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
SWEEPS = sorted((ROOT / "sweeps").glob("*.yaml"))


def _fixed_overrides(spec: dict) -> list[str]:
    return [a for a in spec["command"] if "=" in a and not a.startswith("$")]


def _values(param: dict) -> list:
    return list(param["values"]) if "values" in param else [param["min"], param["max"]]


@pytest.mark.parametrize("sweep_file", SWEEPS, ids=lambda p: p.stem)
def test_wandb_sweep_runs_train_py_on_the_monitored_metric(sweep_file: Path) -> None:
    spec = yaml.safe_load(sweep_file.read_text())
    assert spec["program"] == "train.py" and spec["metric"] == {"name": "val/snr_db", "goal": "maximize"}
    assert spec["command"][-1] == "${args_no_hyphens}" and "${program}" in spec["command"]
    assert "logger=wandb" in _fixed_overrides(spec)


@pytest.mark.parametrize("sweep_file", SWEEPS, ids=lambda p: p.stem)
def test_wandb_sweep_parameters_are_hydra_overrides(make_cfg, sweep_file: Path) -> None:
    spec = yaml.safe_load(sweep_file.read_text())
    fixed = _fixed_overrides(spec)
    base = make_cfg("train", fixed)
    for key, param in spec["parameters"].items():
        if "." not in key:  # a config group: every value is one of its options
            options = {p.stem for p in (CONF / key).glob("*.yaml")}
            assert set(param["values"]) <= options, f"{key}: {set(param['values']) - options} are not options"
        else:  # a value that the composed config has (Hydra would refuse a new key without '+')
            assert OmegaConf.select(base, key, default="missing") != "missing", f"{key}: no such config key"
        for value in _values(param):
            cfg = make_cfg("train", [*fixed, f"{key}={value}"])
            if "." in key:
                assert OmegaConf.select(cfg, key) == value
            if key == "data.aug":
                from ecgdl.aug import PRESETS

                assert value in PRESETS


def test_the_bayes_sweep_searches_the_optuna_space() -> None:
    """sweeps/cnn_bayes.yaml says it searches the same space as ``hparams_search=optuna``."""
    wandb = yaml.safe_load((ROOT / "sweeps" / "cnn_bayes.yaml").read_text())["parameters"]
    optuna = yaml.safe_load((CONF / "hparams_search" / "optuna.yaml").read_text())["hydra"]["sweeper"][
        "params"
    ]
    assert set(wandb) == set(optuna)
    for key, text in optuna.items():
        kind, args = re.fullmatch(r"(\w+)\((.*)\)", text).groups()
        numbers = [float(a) for a in args.split(",")]
        if kind == "choice":
            assert [float(v) for v in wandb[key]["values"]] == numbers, key
        else:
            assert kind == "interval" and [wandb[key]["min"], wandb[key]["max"]] == numbers, key
