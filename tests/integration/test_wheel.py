"""The package works installed from a wheel, away from the repository: render, degrade, digitize, score.

A wheel is built from a copy of the sources (so the build leaves nothing in the checkout), installed with
``--no-deps`` into a throwaway venv that sees the dependencies through ``--system-site-packages``, and a
script run by that venv's python from an empty folder goes through the whole chain with the ``photo`` preset,
which is read from the wheel's package data (there is no ``conf/`` anywhere near it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import math
    import sys
    from pathlib import Path

    import numpy as np

    import ecgdl
    from ecgdl.aug import load_preset, preset_dir
    from ecgdl.classical import ClassicalDigitizer
    from ecgdl.metrics import snr_kaggle
    from ecgdl.render import RenderConfig, render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    venv = Path(sys.argv[1]).resolve()
    for where in (ecgdl.__file__, str(preset_dir())):
        assert Path(where).resolve().is_relative_to(venv), f"{where} is not the venv's copy"

    record = generate_ecg(np.random.default_rng(0))
    image, truth = render_ecg(record, RenderConfig(dpi=200.0), np.random.default_rng(0))
    image, truth = load_preset("photo")(image, truth, np.random.default_rng(0))
    assert truth.meta["aug"] == "photo" and truth.meta["geometric"]
    pred = ClassicalDigitizer().digitize(image, record.fs_hz, record.n_samples)
    snr_db = float(snr_kaggle(truth.record.signal_mv, np.nan_to_num(pred.signal_mv), record.fs_hz).snr_db)
    assert math.isfinite(snr_db), snr_db
    print(f"ecgdl={ecgdl.__file__} snr_db={snr_db:.2f}")
    """
)


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    )
    return out.stdout


@pytest.mark.slow
def test_wheel_installs_and_runs_away_from_the_repository(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    env["PIP_NO_INDEX"] = "1"  # everything needed is local: the wheel, and the dependencies already installed

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "ecgdl", src / "ecgdl", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(src),
        ],
        tmp_path,
        env,
    )
    (wheel,) = dist.glob("ecgdl-*.whl")

    venv = tmp_path / "venv"
    # no pip of its own: the system pip, seen through --system-site-packages, installs into the venv
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], tmp_path, env)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", str(wheel)], tmp_path, env)

    empty = tmp_path / "empty"
    empty.mkdir()
    out = _run([str(python), "-c", SCRIPT, str(venv)], empty, env)  # sys.path[0] is the empty folder
    assert "snr_db=" in out and str(venv.resolve()) in out
