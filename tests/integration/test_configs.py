"""Every option of every config group composes and means what its file says; what the configs instantiate is of the
type the tasks use (ecgdl/tasks/*.py): Digitizers, signal sources, render samplers, data modules with batches of
the right shapes, Lightning trainers, loggers and callbacks that watch the one monitored metric."""

from __future__ import annotations

import inspect
from pathlib import Path

import hydra
import lightning as L
import numpy as np
import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from ecgdl.aug import PRESETS
from ecgdl.digitizer import Digitizer
from ecgdl.signals.record import EcgRecord
from tests.conftest import SHARED_DATA

CONF = Path(__file__).resolve().parents[2] / "conf"
#: options that read the development data beside the checkout (skipped without it)
NEEDS_SHARED = {("signals", "ptbxl"), ("signals", "kaggle"), ("data", "kaggle")}
#: options of a top-level config other than train's: Kaggle folders are scored by evaluate.py (training needs a data
#: module that renders pages; train.yaml's tags read data.aug, which a Kaggle folder has not)
CONFIG_OF = {("data", "kaggle"): "evaluate", ("confidence", "default"): "predict"}
#: data module overrides that keep a batch small: 2 pages of 3 training crops each, one validation page
TINY_DATA = [
    "data.num_workers=0",
    "data.train_size=2",
    "data.val_size=1",
    "data.test_size=1",
    "data.batch_size=2",
    "data.crops_per_page=3",
]


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra")
OPTIONS = [(group, option) for group in GROUPS for option in _options(group)]


def _skip_unavailable(group: str, option: str) -> None:
    if (group, option) in NEEDS_SHARED and not SHARED_DATA.is_dir():
        pytest.skip(f"{group}={option} reads {SHARED_DATA}, which is absent")
    if (group, option) == ("hparams_search", "optuna"):
        pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")


def _plain(value):
    return OmegaConf.to_container(value) if isinstance(value, DictConfig | ListConfig) else value


def _literal_leaves(node, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, value) of every value an option file sets itself (no interpolation; lists whole)."""
    out = []
    for key, value in node.items_ex(resolve=False) if isinstance(node, DictConfig) else node.items():
        path = f"{prefix}{key}"
        if isinstance(value, DictConfig) and len(value):
            out += _literal_leaves(value, f"{path}.")
        elif not (isinstance(value, str) and "${" in value) and not OmegaConf.is_interpolation(node, key):
            out.append((path, _plain(value)))
    return out


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_of_every_group_composes_into_what_its_file_says(
    make_cfg, group: str, option: str
) -> None:
    _skip_unavailable(group, option)
    cfg = make_cfg(CONFIG_OF.get((group, option), "train"), [f"{group}={option}"])
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)  # every interpolation resolves
    assert HydraConfig.get().runtime.choices[group] == option
    spec = OmegaConf.load(CONF / group / f"{option}.yaml")
    is_global = "# @package _global_" in (CONF / group / f"{option}.yaml").read_text()
    with open_dict(spec):
        spec.pop("defaults", None)
        hydra_part = spec.pop("hydra", None) if is_global else None
    node = cfg if is_global else cfg[group]
    for key, value in _literal_leaves(spec):
        assert _plain(OmegaConf.select(node, key)) == value, f"{group}={option}: {key}"
    if hydra_part is not None:  # hparams_search: the sweeper and its search space
        assert _plain(HydraConfig.get().sweeper.params) == _plain(hydra_part.sweeper.params)
        assert HydraConfig.get().mode.name == "MULTIRUN"


def test_the_option_check_sees_a_value_an_option_sets(make_cfg) -> None:
    """The check above compares real values: an override of a value the option file sets shows up."""
    spec = OmegaConf.load(CONF / "debug" / "fdr.yaml")
    leaves = dict(_literal_leaves(spec))
    assert leaves["trainer.fast_dev_run"] is True and leaves["data.train_size"] == 2
    assert "logger" in leaves and leaves["logger"] is None
    cfg = make_cfg("train", ["debug=fdr", "data.train_size=5"])
    assert OmegaConf.select(cfg, "data.train_size") != leaves["data.train_size"]


@pytest.mark.parametrize("option", _options("model"))
def test_every_model_is_a_digitizer_the_train_task_can_run(make_cfg, option: str) -> None:
    from ecgdl.models.wrapper import DigitizerEvalModule
    from ecgdl.tasks.train import TARGET_FOR_KIND

    cfg = make_cfg("train", [f"model={option}"])
    model = hydra.utils.instantiate(cfg.model, _convert_="all")
    assert isinstance(model, Digitizer)
    inspect.signature(model.digitize).bind(np.zeros((8, 8, 3), np.uint8), 500.0, 5000)
    if isinstance(model, L.LightningModule):  # trained: its kind picks the data module's target
        assert model.kind in TARGET_FOR_KIND
        assert any(p.requires_grad for p in model.parameters())
    else:  # training-free: train.py validates and tests it through the wrapper, which has nothing to train
        assert not any(p.requires_grad for p in DigitizerEvalModule(model).parameters())


@pytest.mark.parametrize("option", ["classical", "oracle"])
def test_the_training_free_models_read_a_rendered_page(make_cfg, option: str) -> None:
    from ecgdl.render import RenderConfig, render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    record = generate_ecg(np.random.default_rng(0), fs_hz=500.0)
    image, truth = render_ecg(record, RenderConfig(dpi=100), np.random.default_rng(0))
    model = hydra.utils.instantiate(make_cfg("train", [f"model={option}"]).model, _convert_="all")
    extra = {"truth": truth.record} if getattr(model, "needs_truth", False) else {}
    out = model.digitize(image, 500.0, record.n_samples, **extra)
    assert isinstance(out, EcgRecord) and out.fs_hz == 500.0
    assert out.signal_mv.shape == (record.n_samples, 12) and out.signal_mv.dtype == np.float64
    printed = np.isfinite(truth.record.signal_mv)
    assert np.isfinite(out.signal_mv[printed]).all()


@pytest.mark.parametrize("option", _options("signals"))
def test_every_signal_source_gives_records(make_cfg, option: str) -> None:
    _skip_unavailable("signals", option)
    cfg = make_cfg("train", [f"signals={option}"])
    source = hydra.utils.instantiate(cfg.signals, _convert_="all")
    assert len(source) > 0
    record = source.get(0, np.random.default_rng(0))
    assert isinstance(record, EcgRecord) and record.signal_mv.shape == (round(10 * record.fs_hz), 12)
    if option.startswith("synthetic"):  # drawn from the listed rates; Einthoven and Goldberger hold exactly
        assert record.fs_hz in cfg.signals.fs_hz
        i, ii, iii, avr, avl, avf = record.signal_mv[:, :6].T
        np.testing.assert_allclose(iii, ii - i, atol=1e-9)
        np.testing.assert_allclose(avr + avl + avf, 0.0, atol=1e-9)


@pytest.mark.parametrize("option", _options("render"))
def test_every_render_option_draws_pages_of_its_settings(make_cfg, option: str) -> None:
    from ecgdl.render import RenderSampler

    cfg = make_cfg("train", [f"render={option}"])
    sampler = hydra.utils.instantiate(cfg.render, _convert_="all")
    assert isinstance(sampler, RenderSampler)
    rng = np.random.default_rng(0)
    for _ in range(20):
        page = sampler.sample(rng)
        assert page.layout in cfg.render.layouts and page.dpi in cfg.render.dpis
        assert page.grid_colour in cfg.render.grid_colours and page.pulse in cfg.render.pulses
        assert page.speed_mm_per_s in cfg.render.speeds_mm_per_s
        assert page.gain_mm_per_mv in cfg.render.gains_mm_per_mv


@pytest.mark.parametrize("target", ["clean", "page"])  # "clean" items are the "crops" items plus clean crops
def test_the_synth_data_module_yields_batches_of_the_right_shapes(make_cfg, target: str) -> None:
    from ecgdl.data.datamodule import EcgDataModule

    cfg = make_cfg("train", ["data=synth", *TINY_DATA])
    dm = hydra.utils.instantiate(cfg.data, _convert_="all")
    assert isinstance(dm, EcgDataModule) and dm.target == "auto"  # train.py lets the model choose
    dm.set_target(target)
    batch = next(iter(dm.train_dataloader()))
    common = {"index", "fs_hz", "n_samples", "signal_mv", "image"}
    n_pages = 2
    assert batch["signal_mv"].dtype == torch.float32 and batch["signal_mv"].shape[0] == n_pages
    assert batch["signal_mv"].shape[2] == 12
    for k in range(n_pages):  # every record from the listed rates, 10 s, padded with NaN
        fs, n = float(batch["fs_hz"][k]), int(batch["n_samples"][k])
        assert fs in cfg.signals.fs_hz and n == round(10 * fs)
        assert torch.isfinite(batch["signal_mv"][k, :n, 1]).all()  # lead II: printed all along (3x4+II)
        assert torch.isnan(batch["signal_mv"][k, n:]).all()
    image = batch["image"]
    assert image.dtype == torch.float32 and float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    if target == "page":
        h, w = cfg.data.page_size_hw
        assert set(batch) == common | {"mask"}
        assert image.shape == (n_pages, 3, h, w) and batch["mask"].shape == (n_pages, 1, h, w)
        assert set(torch.unique(batch["mask"]).tolist()) == {0.0, 1.0}  # trace pixels, and paper
        return
    n_crops, h, w = n_pages * cfg.data.crops_per_page, cfg.data.crop.height_px, cfg.data.crop.width_px
    per_crop = {"trace_y", "px_per_mv", "baseline_y", "lead_index", "t0_s", "s_per_col", "page"}
    assert set(batch) == common | per_crop | {"clean"}
    assert image.shape == (n_crops, 3, h, w)
    assert batch["trace_y"].shape == (n_crops, w) and batch["trace_y"].dtype == torch.float32
    assert batch["page"].tolist() == [0, 0, 0, 1, 1, 1]
    lead = batch["lead_index"]
    assert lead.dtype == torch.int64 and ((lead >= 0) & (lead < 12)).all()
    assert batch["t0_s"].dtype == torch.float64 and batch["s_per_col"].dtype == torch.float64
    # the crop calibration: 2.5 s over the crop's width, 40 mm over its height at the page's gain (10 mm/mV)
    torch.testing.assert_close(
        batch["s_per_col"] * w, torch.full((n_crops,), 2.5, dtype=torch.float64), rtol=0.05, atol=0
    )
    torch.testing.assert_close(batch["px_per_mv"], torch.full((n_crops,), h / 4.0), rtol=0.05, atol=0)
    clean = batch["clean"]
    assert clean.shape == (n_crops, 1, h, w) and clean.dtype == torch.float32
    assert float(clean.min()) >= 0.0 and float(clean.max()) <= 1.0
    # the cnn's target, "crops", on a validation page, which keeps every crop: all 12 leads are read
    dm.set_target("crops")
    val = next(iter(dm.val_dataloader()))
    assert set(val) == common | per_crop
    assert set(val["lead_index"].tolist()) == set(range(12)) and (val["page"] == 0).all()


@pytest.mark.parametrize("option", _options("trainer"))
def test_every_trainer_composes(make_cfg, option: str) -> None:
    cfg = make_cfg("train", [f"trainer={option}"])
    assert cfg.trainer._target_ == "lightning.pytorch.trainer.Trainer"
    if cfg.trainer.accelerator == "cpu" and cfg.trainer.get("strategy") is None:
        trainer = hydra.utils.instantiate(cfg.trainer, logger=False, enable_checkpointing=False)
        assert isinstance(trainer, L.Trainer) and trainer.max_epochs == cfg.trainer.max_epochs


def test_the_cpu_trainer_takes_bf16_only_where_the_cpu_computes_it_natively(make_cfg) -> None:
    from ecgdl.tasks.resolvers import cpu_has_native_bf16, cpu_precision

    cfg = make_cfg("train", [])
    expected = "bf16-mixed" if cpu_has_native_bf16() else "32-true"
    assert cfg.trainer.precision == cpu_precision() == expected
    assert make_cfg("train", ["trainer=gpu"]).trainer.precision == "bf16-mixed"


@pytest.mark.parametrize("option", _options("logger"))
def test_every_logger_instantiates(make_cfg, option: str, monkeypatch) -> None:
    from lightning.pytorch.loggers import Logger

    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = make_cfg("train", [f"logger={option}"])
    loggers = [hydra.utils.instantiate(v) for v in cfg.logger.values()]
    assert loggers and all(isinstance(lg, Logger) for lg in loggers)
    if "wandb" in cfg.logger:
        assert cfg.logger.wandb.offline is True  # offline unless told otherwise


@pytest.mark.parametrize("option", _options("callbacks"))
def test_every_callback_set_instantiates(make_cfg, option: str) -> None:
    from lightning.pytorch.callbacks import Callback

    cfg = make_cfg("train", [f"callbacks={option}"])
    for name, value in (cfg.callbacks or {}).items():
        cb = hydra.utils.instantiate(value)
        assert isinstance(cb, Callback), name
        if name == "last_checkpoint":  # every epoch, whatever the metric did (what resuming needs)
            assert cb.monitor is None and cb.save_top_k == 1
        elif hasattr(cb, "monitor"):
            assert cb.monitor == cfg.monitor == "val/snr_db"


def test_the_monitored_metric_is_interpolated_into_callbacks_and_model(make_cfg) -> None:
    """``monitor`` is set once (conf/objective/default.yaml): an experiment that monitors another metric moves every
    callback that watches it, and the model, with it."""
    for overrides, monitor in (([], "val/snr_db"), (["experiment=unet_page"], "val/iou")):
        cfg = make_cfg("train", overrides)
        assert cfg.monitor == monitor and cfg.mode == "max"
        callbacks = {k: hydra.utils.instantiate(v) for k, v in cfg.callbacks.items() if v is not None}
        assert (
            callbacks["model_checkpoint"].monitor == monitor and callbacks["model_checkpoint"].mode == "max"
        )
        assert callbacks["early_stopping"].monitor == monitor
        assert cfg.model.monitor == monitor
    with open_dict(cfg):
        cfg.monitor, cfg.mode = "val/loss", "min"  # one value, read lazily everywhere it is used
    assert cfg.callbacks.model_checkpoint.monitor == cfg.callbacks.early_stopping.monitor == "val/loss"
    assert cfg.callbacks.model_checkpoint.mode == cfg.callbacks.early_stopping.mode == "min"


@pytest.mark.parametrize("option", sorted(PRESETS))
def test_every_aug_preset_is_a_valid_data_aug_override(make_cfg, option: str) -> None:
    cfg = make_cfg("train", [f"data.aug={option}", "data.num_workers=0", "data.train_size=1"])
    dm = hydra.utils.instantiate(cfg.data, _convert_="all")
    assert dm.train_factory.aug is not None and dm.train_factory.aug.name == option
    assert dm.eval_factory.aug is dm.train_factory.aug  # eval_aug null: the same degradation


@pytest.mark.parametrize("option", _options("debug"))
def test_every_debug_option_composes(make_cfg, option: str) -> None:
    cfg = make_cfg("train", [f"debug={option}"])
    assert cfg.task_name == "debug" and OmegaConf.to_container(cfg.trainer, resolve=True)


@pytest.mark.parametrize("config_name", ["train", "generate", "predict", "evaluate"])
def test_top_level_configs_resolve(make_cfg, config_name: str) -> None:
    cfg = make_cfg(config_name, ["output_dir=/tmp/x"] if config_name == "generate" else [])
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


@pytest.mark.parametrize("option", _options("experiment"))
def test_every_experiment_composes_and_its_model_instantiates(make_cfg, option: str) -> None:
    cfg = make_cfg("train", [f"experiment={option}"])
    model = hydra.utils.instantiate(cfg.model, _convert_="all")
    assert isinstance(model, L.LightningModule) and isinstance(model, Digitizer)
    if cfg.model.get("weights"):  # an experiment that starts from weights has loaded them
        assert model.weights_loaded
    if cfg.model.get("scheduler"):  # cosine decay over the whole (short) run
        assert cfg.model.scheduler.T_max == cfg.trainer.max_epochs
    if option == "cnn_finetune":
        assert cfg.trainer.max_epochs == 3 and cfg.model.l2_weight == 0.02
    if option == "cnn_finetune_eik":  # the recipe of the shipped weights
        assert list(cfg.signals.qrs_width_scale_range) == [0.4, 0.8] and cfg.model.l2_weight == 0.1
        assert cfg.render.stroke_supersample_share == 0.5 and list(cfg.render.pulses) == ["none", "start"]
        assert model.weights_loaded and cfg.model.scheduler.T_max == 3
