"""The package works installed from a wheel, away from the repository: render, degrade, digitize, score, and the
installed ``ecgdl`` command generates, predicts and evaluates with the configs the wheel ships.

A wheel is built from a copy of the sources (so the build leaves nothing in the checkout), installed with
``--no-deps`` into a throwaway venv that sees the dependencies through ``--system-site-packages``. From an empty
folder, a script run by that venv's python goes through the whole chain with the ``photo`` preset, read from the
wheel's package data; then ``ecgdl generate``, ``ecgdl predict`` and ``ecgdl evaluate`` run there with the
configs from the wheel's ``ecgdl/conf`` (there is no ``conf/`` anywhere near them), write under that folder and
leave the venv as installed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyedflib
import pytest
import wfdb
from PIL import Image

from ecgdl.constants import LEADS

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


def _files(root: Path) -> dict[str, int]:
    """Every file under ``root`` but Python's byte-code caches, with its modification time."""
    return {
        str(path): path.stat().st_mtime_ns
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.slow
def test_wheel_installs_and_runs_away_from_the_repository(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    env["PIP_NO_INDEX"] = "1"  # everything needed is local: the wheel, and the dependencies already installed

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("ecgdl", "conf"):  # conf/ ships as ecgdl/conf (pyproject's package-dir)
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
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

    installed = _files(venv)
    ecgdl = str(venv / ("Scripts/ecgdl.exe" if os.name == "nt" else "bin/ecgdl"))
    out = _run([ecgdl, "--help"], empty, env)
    assert "predict" in out and "model " in out and "classical" in out
    (conf,) = (line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("configs: "))
    assert Path(conf).is_relative_to(venv.resolve()) and Path(conf, "predict.yaml").is_file(), conf
    assert "predict is powered by Hydra" in _run([ecgdl, "predict", "--help"], empty, env)

    _run([ecgdl, "generate", "output_dir=gen", "num_records=1", "num_workers=0"], empty, env)
    (page,) = (empty / "gen" / "train").glob("*/*.png")
    pdf = empty / "cart.pdf"  # the page as a PDF from the cart
    Image.open(page).convert("RGB").save(pdf, resolution=200.0)
    _run(
        [ecgdl, "predict", "input=cart.pdf", "output_dir=out", "model=classical", "format=[csv,wfdb,edf]"],
        empty,
        env,
    )
    frame = pd.read_csv(empty / "out" / "cart.csv")
    assert list(frame.columns) == list(LEADS) and len(frame) == 5000
    values = frame.to_numpy()
    record = wfdb.rdrecord(str(empty / "out" / "cart"))
    np.testing.assert_allclose(record.p_signal, values, atol=1e-3, equal_nan=True)  # within 1 uV
    with pyedflib.EdfReader(str(empty / "out" / "cart.edf")) as edf:
        for k in range(12):
            printed = np.isfinite(values[:, k])
            np.testing.assert_allclose(
                edf.readSignal(k)[: len(values)][printed], values[printed, k], atol=1e-3
            )
    _run([ecgdl, "evaluate", "model=classical", "data.root=gen", "output_dir=ev", "overlays=0"], empty, env)
    assert math.isfinite(json.loads((empty / "ev" / "metrics.json").read_text())["snr_db"])
    for task in ("generate", "predict", "evaluate"):  # Hydra's run folders: under the folder it ran from
        assert list((empty / "outputs" / task / "runs").glob(f"*/{task}.log")), task
    changed = {path for path, stamp in _files(venv).items() if installed.get(path) != stamp}
    assert not changed, f"the commands wrote into the venv: {sorted(changed)[:10]}"
