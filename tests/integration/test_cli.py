"""The ``ecgdl`` command (:mod:`ecgdl.cli`): help, Hydra's help, one classical prediction in an empty folder, and
the packaging it relies on (every subpackage and the configs listed in pyproject.toml)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hydra.core.global_hydra import GlobalHydra

import ecgdl
from ecgdl import cli
from ecgdl.constants import LEADS
from ecgdl.render import RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _restore_hydra_and_logging():
    """A command run in-process leaves Hydra initialised and its log handlers on the root logger: undo both."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    GlobalHydra.instance().clear()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_help_lists_the_commands_and_every_config_group(capsys) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("train", "predict", "evaluate", "generate"):
        assert f"\n  {name} " in out
    conf = cli.config_dir()
    if Path(ecgdl.__file__).resolve().is_relative_to(REPO):
        assert conf == REPO / "conf"  # from the checkout (editable install): the configs users edit
    groups = cli.config_groups(conf)
    assert {"model", "data", "trainer", "hydra/launcher"} <= set(groups)
    assert "classical" in groups["model"] and "cnn" in groups["model"]
    for group, options in groups.items():
        assert f"  {group} " in out and ", ".join(options) in out


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys) -> None:
    assert cli.main([]) == 2
    assert "usage: ecgdl <command>" in capsys.readouterr().err
    assert cli.main(["digitise"]) == 2
    assert "unknown command 'digitise'" in capsys.readouterr().err


def test_command_help_is_hydras_help_for_that_config(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    argv = list(sys.argv)
    assert cli.main(["predict", "--help"]) == 0
    out = capsys.readouterr().out
    assert "predict is powered by Hydra" in out and "model: " in out and "fallback_ink: ink" in out
    assert sys.argv == argv  # the process's arguments are put back
    assert not (tmp_path / "outputs").exists()  # help runs nothing


def test_python_dash_m_ecgdl_help(tmp_path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-m", "ecgdl", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "usage: ecgdl <command>" in out.stdout and "hydra/launcher" in out.stdout


def test_predict_classical_writes_a_12_lead_csv_in_the_current_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    record = generate_ecg(np.random.default_rng(0))
    image, _ = render_ecg(record, RenderConfig(dpi=100.0), np.random.default_rng(0))
    assert cv2.imwrite(str(tmp_path / "page.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    status = cli.main(["predict", "input=page.png", "output_dir=out", "model=classical"])
    assert status == 0
    frame = pd.read_csv(tmp_path / "out" / "page.csv")
    assert list(frame.columns) == list(LEADS) and len(frame) == 5000  # 10 s at default_fs_hz=500
    assert np.isfinite(frame["II"].to_numpy()).all()  # the rhythm strip runs the whole 10 s
    report = pd.read_csv(tmp_path / "out" / "report.csv")
    assert report["status"].isin(["ok", "low_confidence"]).all()
    # Hydra's run folder is under the current folder, and its log is named as predict.py's
    assert len(list((tmp_path / "outputs" / "predict" / "runs").glob("*/predict.log"))) == 1


def test_the_job_sees_the_command_line_to_start_again(monkeypatch, tmp_path) -> None:
    """Lightning's DDP starts each extra process by running ``sys.argv`` again (with ``hydra.job.name=...``
    appended): during the job ``sys.argv`` is the ``ecgdl <command> ...`` line, and a given job name is kept."""
    from ecgdl.tasks import predict

    seen = {}

    def fake_run(cfg):
        seen["argv"] = list(sys.argv)
        return {"n_failed": 0}

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(predict, "run", fake_run)
    args = ["predict", "input=page.png", "output_dir=out", "hydra.job.name=predict_process_1"]
    assert cli.main(args) == 0
    assert seen["argv"] == [sys.argv[0], *args]
    assert list((tmp_path / "outputs" / "predict" / "runs").glob("*/predict_process_1.log"))


def test_every_subpackage_and_the_configs_are_packaged() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    on_disk = {
        ".".join(folder.relative_to(REPO).parts)
        for folder in [REPO / "ecgdl", *(REPO / "ecgdl").rglob("*")]
        if folder.is_dir() and any(folder.glob("*.py"))
    }
    missing = sorted(on_disk - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert setuptools["package-dir"] == {"ecgdl.conf": "conf"}
    stale = sorted(p for p in listed - {"ecgdl.conf"} if not (REPO / p.replace(".", "/")).is_dir())
    assert not stale, f"{stale} are listed in pyproject.toml but have no folder"
    assert "**/*.yaml" in setuptools["package-data"]["ecgdl.conf"]
