"""Helpers shared by tasks: seeding, output folders, metrics files and batch-failure reporting."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("ecgdl")


def resolve_output_dir(cfg: DictConfig, key: str = "output_dir") -> Path:
    """``cfg.<key>`` if given, else Hydra's run folder (``paths.output_dir``)."""
    value = OmegaConf.select(cfg, key)
    if value is None:
        value = OmegaConf.select(cfg, "paths.output_dir")
    if value is None:
        raise ValueError(f"no {key} given and no Hydra run folder to fall back on")
    return Path(str(value)).expanduser()


def write_metrics(path: Path, metrics: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=float) + "\n", encoding="utf-8")
    return path


def report_failures(failures: list[tuple[str, str]], what: str) -> None:
    """Log every failed item at the end of a batch job (one bad item never stops the others)."""
    if not failures:
        return
    log.error("%d %s failed:", len(failures), what)
    for name, message in failures:
        log.error("  %s: %s", name, message)


def hydra_choice(group: str) -> str | None:
    """The option chosen for config group ``group`` in the running Hydra app (None outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return HydraConfig.get().runtime.choices.get(group)


def provenance() -> dict[str, str | None]:
    """When and from which code a run was made: ``date`` (ISO, UTC) and ``commit`` (the short git hash of the
    checkout the package runs from, with ``+dirty`` for uncommitted changes; None when installed from a wheel)."""
    import ecgdl

    root = Path(ecgdl.__file__).resolve().parents[1]
    commit = None
    if (root / ".git").exists():
        try:
            git = ["git", "-C", str(root)]
            commit = subprocess.run(
                [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            dirty = subprocess.run(
                [*git, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            commit += "+dirty" if dirty else ""
        except (OSError, subprocess.SubprocessError):
            commit = None
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": commit or None}
