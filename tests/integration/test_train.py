"""train.py end to end on composed configs: fast_dev_run for every model and preset, overfitting, resuming."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ecgdl.aug import PRESETS
from ecgdl.tasks import train

TINY = [
    "data.num_workers=0",
    "data.train_size=2",
    "data.val_size=1",
    "data.test_size=1",
    "data.batch_size=1",
    "data.crops_per_page=4",
    "render.dpis=[100.0]",
    "logger=csv",
    "test_pages=false",  # the end-to-end test-page reading is checked once below and in the recipes' tests
]


@pytest.mark.parametrize(
    ("model", "extra"),
    [("cnn", []), ("cnn_regression", []), ("autoencoder", []), ("unet", ["experiment=unet_page"])],
)
def test_fast_dev_run_every_model(make_cfg, model: str, extra: list[str]) -> None:
    metrics, objects = train.run(make_cfg("train", [f"model={model}", "debug=fdr", *TINY, *extra]))
    monitor = "val/iou" if model == "unet" else "val/snr_db"
    assert math.isfinite(metrics[monitor])
    assert math.isfinite(metrics["test/loss"])
    assert objects["trainer"].global_step == 1


#: presets whose fast_dev_run is in the default suite (every preset's transforms are unit-tested in test_aug*.py;
#: the others run here with -m slow, to keep the default suite under its time budget)
DEFAULT_SUITE_PRESETS = ("clean", "photo", "wild")


@pytest.mark.parametrize(
    "preset", [p if p in DEFAULT_SUITE_PRESETS else pytest.param(p, marks=pytest.mark.slow) for p in PRESETS]
)
def test_fast_dev_run_every_preset(make_cfg, preset: str) -> None:
    metrics, _ = train.run(make_cfg("train", ["model=cnn", "debug=fdr", f"data.aug={preset}", *TINY]))
    assert math.isfinite(metrics["val/snr_db"])


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("model", ["cnn_regression", "autoencoder"])
def test_fast_dev_run_every_model_and_preset(make_cfg, model: str, preset: str) -> None:
    metrics, _ = train.run(make_cfg("train", [f"model={model}", "debug=fdr", f"data.aug={preset}", *TINY]))
    assert math.isfinite(metrics["val/snr_db"])


def test_fine_tuning_learns_on_the_data_modules_crops(make_cfg) -> None:
    """Weights to start from bring the crop geometry they were trained on; a fine-tune on other crops (here
    160 px tall) learns, validates and records those, so the checkpoint is read the way it was trained."""
    overrides = ["experiment=cnn_finetune", "debug=fdr", *TINY, "data.crop.height_px=160"]
    _, objects = train.run(make_cfg("train", overrides))
    model = objects["model"]
    assert model.weights_loaded
    assert model.crop_spec == objects["datamodule"].train_set.crop and model.crop_spec.height_px == 160
    assert model.hparams.crop["height_px"] == 160


def test_training_free_digitizers_are_validated_in_the_same_loop(make_cfg) -> None:
    metrics, objects = train.run(make_cfg("train", ["model=oracle", "debug=fdr", *TINY, "test_pages=true"]))
    assert metrics["val/snr_db"] == pytest.approx(60.0) and metrics["test/snr_db"] == pytest.approx(60.0)
    # its test pages read end to end (test_pages=true): the truth itself, at the metric's cap
    assert metrics["snr_db"] == pytest.approx(60.0) and metrics["n_images"] == 1 and metrics["n_failed"] == 0
    assert (objects["output_dir"] / "per_image.csv").is_file()
    assert objects["trainer"].global_step == 0  # nothing to train


def test_resume_continues_the_epoch_count(make_cfg, tmp_path) -> None:
    common = [
        "model=cnn",
        "data.aug=clean",
        *TINY,
        "trainer.limit_train_batches=1",
        "trainer.limit_val_batches=1",
        "test=false",
        "callbacks.rich_progress_bar=null",
    ]
    metrics, objects = train.run(make_cfg("train", [*common, "trainer.max_epochs=2"]))
    last = objects["output_dir"] / "checkpoints" / "last.ckpt"
    # the latest epoch, whether or not it improved the monitored metric
    assert torch.load(last, weights_only=True, map_location="cpu")["epoch"] == 1
    summary = json.loads((objects["output_dir"] / "metrics.json").read_text())
    assert summary["snr_db"] == pytest.approx(metrics["val/snr_db"])
    _, resumed = train.run(make_cfg("train", [*common, "trainer.max_epochs=3", f"ckpt_path={last}"]))
    trainer = resumed["trainer"]
    assert trainer.current_epoch == 3 and trainer.global_step == 3  # epoch 2 added to the two saved ones


@pytest.mark.slow  # 25 epochs: 60-90 s on the 2-core machine
def test_overfitting_drives_the_loss_down(make_cfg) -> None:
    cfg = make_cfg(
        "train",
        [
            "model=cnn",
            "debug=overfit",
            "data.aug=clean",
            *TINY,
            "trainer.max_epochs=25",
            "test=false",
            "callbacks.rich_progress_bar=null",
            "data.crop.height_px=64",
            "data.crop.width_px=256",
        ],
    )
    _, objects = train.run(cfg)
    import pandas as pd

    (log_file,) = (objects["output_dir"] / "csv").rglob("metrics.csv")
    losses = pd.read_csv(log_file)["train/loss_epoch"].dropna().to_numpy()
    assert len(losses) == 25 and losses[-1] < 0.5 * losses[0], losses
