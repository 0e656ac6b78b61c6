"""predict.py: one CSV per image in Kaggle semantics, report.csv, bad files reported, nothing overwritten."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgdl.constants import LEADS
from ecgdl.tasks import predict

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_kaggle_root(shared_data, tmp_path) -> Path:
    """Two dev records (Kaggle layout) plus a corrupt image in a scratch copy."""
    src = shared_data / "dev_eik_clean"
    dst = tmp_path / "in"
    (dst / "train").mkdir(parents=True)
    ids = ["841", "1612"]
    for rid in ids:
        shutil.copytree(src / "train" / rid, dst / "train" / rid)
    (dst / "train" / "999").mkdir()
    (dst / "train" / "999" / "999-0001.png").write_bytes(b"not a png")
    index = pd.read_csv(src / "train.csv", dtype={"id": str})
    extra = pd.DataFrame({"id": ["999"], "fs": [500], "sig_len": [5000]})
    pd.concat([index[index["id"].isin(ids)], extra]).to_csv(dst / "train.csv", index=False)
    return dst


def test_predict_classical_on_a_kaggle_root(make_cfg, small_kaggle_root, tmp_path) -> None:
    out = tmp_path / "out"
    cfg = make_cfg(
        "predict", ["model=classical", f"input={small_kaggle_root}", f"output_dir={out}", "save_overlay=true"]
    )
    metrics = predict.run(cfg)
    assert metrics["n_images"] == 3 and metrics["n_predicted"] == 2 and metrics["n_failed"] == 1
    report = pd.read_csv(out / "report.csv", dtype={"stem": str})
    bad = report.set_index("stem").loc["999-0001"]
    assert bad["status"] == "failed" and "999-0001.png" in bad["error"]
    for stem in ("841-0001", "1612-0001"):
        frame = pd.read_csv(out / f"{stem}.csv")
        assert list(frame.columns) == list(LEADS) and len(frame) == 5000
        values = frame.to_numpy()
        assert np.isfinite(values[:, 1]).all()  # lead II: the 10-s rhythm strip
        assert (
            np.isnan(values[1250:, 0]).all() and np.isfinite(values[:1250, 0]).mean() > 0.95
        )  # lead I: 0-2.5 s
        assert (out / f"{stem}-overlay.png").is_file()
    ok = report[report["status"] == "ok"]
    assert ok["layout"].eq("3x4+II").all() and (ok["px_per_mm"].sub(7.874).abs() < 0.1).all()
    # a second run keeps every existing output (nothing overwritten) unless overwrite=true
    before = (out / "841-0001.csv").stat().st_mtime_ns
    again = predict.run(
        make_cfg("predict", ["model=classical", f"input={small_kaggle_root}", f"output_dir={out}"])
    )
    assert again["n_skipped"] == 2 and (out / "841-0001.csv").stat().st_mtime_ns == before


def test_predict_cli_exit_code_says_whether_any_failed(small_kaggle_root, tmp_path) -> None:
    bad_only = tmp_path / "bad.png"
    bad_only.write_bytes(b"\x89PNG broken")
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "predict.py",
            "model=classical",
            f"input={bad_only}",
            f"output_dir={tmp_path / 'o'}",
            f"paths.log_dir={tmp_path}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "bad.png" in (tmp_path / "o" / "report.csv").read_text()


def test_predict_with_the_shipped_cnn_weights(make_cfg, shared_data, tmp_path) -> None:
    """predict.py model=cnn works on a fresh install: the weights in ecgdl/assets load with weights_only=True."""
    image = shared_data / "dev_eik_clean" / "train" / "841" / "841-0001.png"
    metrics = predict.run(make_cfg("predict", ["model=cnn", f"input={image}", f"output_dir={tmp_path}"]))
    assert metrics["n_predicted"] == 1, (tmp_path / "report.csv").read_text()
    values = pd.read_csv(tmp_path / "841-0001.csv").to_numpy()
    assert values.shape == (5000, 12) and np.isfinite(values[:, 1]).all()
    assert np.nanstd(values[:, 1]) > 0.05  # a real trace, not a flat line


@pytest.mark.parametrize("turn", [180, pytest.param(90, marks=pytest.mark.slow)])
def test_a_page_lying_turned_is_read_the_right_way_up(make_cfg, tmp_path, turn: int) -> None:
    """A generated page saved turned by 90 / 180 degrees: the upright reading breaks the limb-lead identities,
    so the page is read again turned, and the kept reading matches the page read upright."""
    import cv2

    from ecgdl.metrics import snr_kaggle
    from ecgdl.models.selfcheck import turn_image
    from ecgdl.render.renderer import RenderConfig, render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    record = generate_ecg(np.random.default_rng(11), 500.0)
    image, truth = render_ecg(record, RenderConfig(pulse="start"), np.random.default_rng(12))
    folder = tmp_path / "in"
    folder.mkdir()
    for name, img in (("upright", image), ("turned", turn_image(image, turn))):
        cv2.imwrite(str(folder / f"{name}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    predict.run(make_cfg("predict", ["model=classical", f"input={folder}", f"output_dir={out}"]))
    report = pd.read_csv(out / "report.csv").set_index("stem")
    assert report.loc["upright", "turned_deg"] == 0 and report.loc["upright", "status"] == "ok"
    assert (turn + report.loc["turned", "turned_deg"]) % 360 == 0
    assert report.loc["turned", "status"] == "ok" and report.loc["turned", "confidence"] >= 0.5
    for stem in ("upright", "turned"):
        pred = pd.read_csv(out / f"{stem}.csv").to_numpy()
        kept = np.where(np.isfinite(truth.record.signal_mv), np.nan_to_num(pred), np.nan)
        assert snr_kaggle(truth.record.signal_mv, kept, 500.0).snr_db > 15.0
    # without turns the turned page is written, flagged low_confidence
    out2 = tmp_path / "out2"
    predict.run(make_cfg("predict", ["model=classical", f"input={folder}", f"output_dir={out2}", "turns=[]"]))
    report = pd.read_csv(out2 / "report.csv").set_index("stem")
    assert report.loc["turned", "status"] == "low_confidence" and report.loc["turned", "turned_deg"] == 0


def test_page_readers_get_every_self_check_setting(make_cfg, tmp_path) -> None:
    """What a page worker builds from the config has the orientation classifier, the turns and the fallback
    that predict.yaml asks for (the workers get a resolved copy of those keys only)."""
    cfg = make_cfg("predict", ["model=classical", f"input={tmp_path}", f"output_dir={tmp_path}"])
    reader = predict.PageReader(predict.reader_config(cfg), "classical", str(tmp_path), False, None)
    checked = reader.digitizer
    assert checked.orientation is not None and checked.fallback is not None
    assert checked.turns == (180, 90, 270) and checked.turn_min_confidence == cfg.turn_min_confidence
