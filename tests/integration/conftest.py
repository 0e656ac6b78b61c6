"""Compose the project's real Hydra configs for task-level tests (no command line, no chdir)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import ecgdl.tasks  # noqa: F401  (registers the configs' resolvers, as train.py's import does)

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose_cfg(config_name: str, overrides: list[str], output_dir: Path) -> DictConfig:
    """The config that ``python <config_name>.py <overrides>`` would get, writing under ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # so ${hydra:...} interpolations resolve as in a real run
    with open_dict(cfg):
        del cfg["hydra"]  # a real run's cfg has no hydra node (it lives in HydraConfig)
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.root_dir = str(CONF_DIR.parent)
        cfg.paths.log_dir = str(output_dir / "logs")
    return cfg


@pytest.fixture
def make_cfg(tmp_path):
    def _make(config_name: str, overrides: list[str] | None = None) -> DictConfig:
        return compose_cfg(config_name, overrides or [], tmp_path)

    yield _make
    GlobalHydra.instance().clear()
