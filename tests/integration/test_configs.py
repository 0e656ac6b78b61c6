"""Every option of every config group composes, and its ``_target_`` instantiates."""

from __future__ import annotations

from pathlib import Path

import hydra
import pytest
from omegaconf import OmegaConf

CONF = Path(__file__).resolve().parents[2] / "conf"
SHARED_GROUPS = {"signals": ["ptbxl", "kaggle"], "data": ["kaggle"]}


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def _needs_shared(group: str, option: str) -> bool:
    return option in SHARED_GROUPS.get(group, [])


@pytest.mark.parametrize("option", _options("model"))
def test_every_model_instantiates(make_cfg, option: str) -> None:
    cfg = make_cfg("train", [f"model={option}"])
    model = hydra.utils.instantiate(cfg.model, _convert_="all")
    assert hasattr(model, "digitize") or hasattr(model, "training_step")


@pytest.mark.parametrize("option", _options("trainer"))
def test_every_trainer_composes(make_cfg, option: str) -> None:
    cfg = make_cfg("train", [f"trainer={option}"])
    assert cfg.trainer._target_ == "lightning.pytorch.trainer.Trainer"
    if cfg.trainer.accelerator == "cpu" and cfg.trainer.get("strategy") is None:
        trainer = hydra.utils.instantiate(cfg.trainer, logger=False, enable_checkpointing=False)
        assert trainer.max_epochs == cfg.trainer.max_epochs


def test_the_cpu_trainer_takes_bf16_only_where_the_cpu_computes_it_natively(make_cfg) -> None:
    from ecgdl.tasks.resolvers import cpu_has_native_bf16, cpu_precision

    cfg = make_cfg("train", [])
    expected = "bf16-mixed" if cpu_has_native_bf16() else "32-true"
    assert cfg.trainer.precision == cpu_precision() == expected
    assert make_cfg("train", ["trainer=gpu"]).trainer.precision == "bf16-mixed"


@pytest.mark.parametrize("option", _options("logger"))
def test_every_logger_instantiates(make_cfg, option: str, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = make_cfg("train", [f"logger={option}"])
    loggers = [hydra.utils.instantiate(v) for v in cfg.logger.values()]
    assert loggers and all(hasattr(lg, "log_metrics") for lg in loggers)
    if "wandb" in cfg.logger:
        assert cfg.logger.wandb.offline is True  # offline unless told otherwise


@pytest.mark.parametrize("option", _options("callbacks"))
def test_every_callback_set_instantiates(make_cfg, option: str) -> None:
    cfg = make_cfg("train", [f"callbacks={option}"])
    for name, value in (cfg.callbacks or {}).items():
        cb = hydra.utils.instantiate(value)
        if name == "last_checkpoint":  # every epoch, whatever the metric did (what resuming needs)
            assert cb.monitor is None and cb.save_top_k == 1
        elif hasattr(cb, "monitor"):
            assert cb.monitor == cfg.monitor == "val/snr_db"  # the one monitored metric, interpolated


@pytest.mark.parametrize("group", ["signals", "render", "data"])
def test_every_data_option_instantiates(make_cfg, group: str, request) -> None:
    for option in _options(group):
        if _needs_shared(group, option) and not (CONF.parent.parent / "shared" / "data").is_dir():
            continue
        cfg = make_cfg(
            "train",
            [f"{group}={option}", "data.num_workers=0"]
            if group != "data" or option == "synth"
            else [f"{group}={option}"],
        )
        obj = hydra.utils.instantiate(cfg[group], _convert_="all")
        assert obj is not None, f"{group}={option}"


@pytest.mark.parametrize("option", _options("aug"))
def test_every_aug_preset_is_a_valid_data_aug_override(make_cfg, option: str) -> None:
    cfg = make_cfg("train", [f"data.aug={option}", "data.num_workers=0", "data.train_size=1"])
    dm = hydra.utils.instantiate(cfg.data, _convert_="all")
    assert dm.train_factory.aug is not None and dm.train_factory.aug.name == option


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
    assert hasattr(model, "training_step")
    if cfg.model.get("weights"):  # an experiment that starts from weights has loaded them
        assert model.weights_loaded
    if option == "cnn_finetune":
        assert cfg.trainer.max_epochs == 3 and cfg.model.scheduler.T_max == 3  # cosine over the short run
        assert cfg.model.l2_weight == 0.02  # the sixth session's recipe
    if option == "cnn_finetune_eik":  # the recipe of the shipped weights
        assert list(cfg.signals.qrs_width_scale_range) == [0.4, 0.8] and cfg.model.l2_weight == 0.1
        assert cfg.render.stroke_supersample_share == 0.5 and list(cfg.render.pulses) == ["none", "start"]
        assert model.weights_loaded and cfg.model.scheduler.T_max == 3
