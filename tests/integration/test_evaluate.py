"""evaluate.py with the oracle digitizer: the cap when exact, the analytic SNR when noisy; predictions folders."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ecgdl.data.evalsets import KaggleImageSet
from ecgdl.signals.io import write_kaggle_signal_csv
from ecgdl.signals.record import EcgRecord
from ecgdl.tasks import evaluate


@pytest.fixture
def dev_root(shared_data):
    return shared_data / "dev_eik_clean"


def test_oracle_scores_the_cap(make_cfg, dev_root, tmp_path) -> None:
    metrics = evaluate.run(
        make_cfg(
            "evaluate",
            [
                "model=oracle",
                f"data.root={dev_root}",
                f"output_dir={tmp_path}/o",
                "extra_metrics=false",
                "overlays=1",
            ],
        )
    )
    assert metrics["snr_db"] == pytest.approx(60.0) and metrics["n_images"] == 10 and metrics["n_failed"] == 0
    saved = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert saved["snr_db"] == pytest.approx(60.0) and saved["per_type"] == {"clean": pytest.approx(60.0)}
    assert saved["eval_set"] == "dev_eik_clean"  # the folder's name; set_name= names it otherwise (below)
    assert (tmp_path / "o" / "per_lead.csv").is_file() and (tmp_path / "o" / "per_image.csv").is_file()
    assert list((tmp_path / "o" / "overlays").glob("*-leads.png"))


def test_noisy_oracle_scores_the_analytic_snr(make_cfg, dev_root, tmp_path) -> None:
    sigma = 0.05
    metrics = evaluate.run(
        make_cfg(
            "evaluate",
            [
                "model=oracle",
                f"model.noise_mv={sigma}",
                f"data.root={dev_root}",
                f"output_dir={tmp_path}",
                "overlays=0",
            ],
        )
    )
    # white noise of variance sigma^2 on every printed sample; the metric removes its mean per lead, so the
    # expected noise energy of a lead with n samples is (n - 1) sigma^2; the lag search keeps lag 0.
    ratios = []
    for item in KaggleImageSet(str(dev_root)):
        t = item.truth.signal_mv
        n = np.isfinite(t).sum(axis=0)
        ratios.append(np.nansum(t**2) / (sigma**2 * (n - 1).sum()))
    expected = 10 * math.log10(np.mean(ratios))
    assert metrics["snr_db"] == pytest.approx(expected, abs=0.1)
    assert metrics["rmse_mv"] == pytest.approx(sigma, rel=0.03)
    assert metrics["rpeak_f1"] > 0.95


def test_scoring_a_predictions_folder(make_cfg, dev_root, tmp_path) -> None:
    preds = tmp_path / "preds"
    items = list(KaggleImageSet(str(dev_root)))
    for item in items[:-1]:  # the last image has no prediction: a failure, scored as zeros
        write_kaggle_signal_csv(
            EcgRecord(item.truth.signal_mv + 0.3, item.fs_hz), preds / f"{item.path.stem}.csv"
        )
    metrics = evaluate.run(
        make_cfg(
            "evaluate", [f"data.root={dev_root}", f"predictions_dir={preds}", f"output_dir={tmp_path}/s"]
        )
    )
    assert metrics["n_images"] == 10 and metrics["n_failed"] == 1
    # nine perfect images (a constant offset is forgiven) and one all-zero one (ratio 1)
    assert metrics["snr_db"] == pytest.approx(10 * math.log10((9 * 1e6 + 1) / 10), abs=1e-6)


def test_synthetic_pages_report_how_they_were_drawn(make_cfg, tmp_path) -> None:
    """per_image.csv of rendered pages carries each page's layout, speed, gain, dpi, pulse and grid (to break
    scores down by condition); the values are those of the pages' own truth."""
    import hydra
    import pandas as pd

    overrides = ["model=oracle", "data=synth", "data.aug=clean", "render=varied", "data.test_size=3"]
    overrides.append(f"output_dir={tmp_path}/s")
    cfg = make_cfg("evaluate", [*overrides, "extra_metrics=false", "overlays=0"])
    metrics = evaluate.run(cfg)
    assert metrics["snr_db"] == pytest.approx(60.0) and metrics["aug"] == "clean"
    assert metrics["eval_set"] == "synth/varied"
    named = make_cfg("evaluate", [*overrides[:-1], f"output_dir={tmp_path}/n", "set_name=mine", "overlays=0"])
    assert evaluate.run(named)["eval_set"] == "mine"
    frame = pd.read_csv(tmp_path / "s" / "per_image.csv")
    truths = [item.extra["truth"] for item in hydra.utils.instantiate(cfg.data).eval_items("test")]
    assert list(frame["true_layout"]) == [t.layout for t in truths]
    assert list(frame["speed_mm_per_s"]) == [t.speed_mm_per_s for t in truths]
    assert list(frame["gain_mm_per_mv"]) == [t.gain_mm_per_mv for t in truths]
    assert list(frame["dpi"]) == [t.dpi for t in truths]
    assert list(frame["pulse"].fillna("none")) == [str(t.meta["pulse"]) for t in truths]
    assert list(frame["has_grid"]) == [t.grid is not None for t in truths]


@pytest.mark.slow  # reads the 10 dev pages: 15 s; the regression floor reads them by default
def test_classical_reports_the_clean_page_figure(make_cfg, dev_root, tmp_path) -> None:
    """per_image.csv carries the classical digitizer's split-stroke noise figure: ECG-Image-Kit's clean renders
    lie under the limit that enables split-stroke tracing (0.5 %)."""
    import pandas as pd

    cfg = make_cfg(
        "evaluate",
        [
            "model=classical",
            f"data.root={dev_root}",
            f"output_dir={tmp_path}/c",
            "extra_metrics=false",
            "overlays=0",
        ],
    )
    evaluate.run(cfg)
    frame = pd.read_csv(tmp_path / "c" / "per_image.csv")
    assert len(frame) == 10 and (frame["split_stroke_noise"] < 0.005).all()
    assert (frame["split_stroke_noise"] >= 0).all()
