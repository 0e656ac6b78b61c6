"""Regression tests: what the shipped digitizers score on fixed page sets, against floors.

Every test in this folder is marked ``regression`` (they run by default; ``pytest -m regression`` runs only
them). :func:`evaluate_set` scores a set the way ``python evaluate.py <overrides>`` does (Hydra's compose API,
:func:`ecgdl.tasks.evaluate.run`), without the overlays and the lead-II extras, which do not change ``snr_db``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

import ecgdl.tasks  # noqa: F401  (registers the configs' resolvers, as evaluate.py's import does)

HERE = Path(__file__).resolve().parent
CONF_DIR = HERE.parents[1] / "conf"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.regression)


@pytest.fixture
def evaluate_set(tmp_path) -> Callable[[list[str]], dict[str, Any]]:
    """``evaluate_set(overrides) -> metrics``: ``python evaluate.py <overrides>``'s metrics.json content."""
    from ecgdl.tasks import evaluate

    def _run(overrides: list[str]) -> dict[str, Any]:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                config_name="evaluate",
                overrides=[*overrides, "overlays=0", "extra_metrics=false"],
                return_hydra_config=True,
            )
        HydraConfig.instance().set_config(cfg)  # hydra_choice("model") names the shipped weights to load
        with open_dict(cfg):
            del cfg["hydra"]
            cfg.paths.root_dir = str(CONF_DIR.parent)
            cfg.paths.log_dir = str(tmp_path / "logs")
            cfg.paths.output_dir = cfg.output_dir = str(tmp_path / f"eval{len(list(tmp_path.iterdir()))}")
        return evaluate.run(cfg)

    yield _run
    GlobalHydra.instance().clear()
