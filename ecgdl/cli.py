"""The installed ``ecgdl`` command: ``ecgdl <train|predict|evaluate|generate> [Hydra overrides and flags]``.

Each subcommand is the repository script of the same name (``train.py``, ``predict.py``, ...): the same config
(``<name>.yaml``), the same ``group=option`` / ``key=value`` overrides and Hydra flags (``--help``, ``--cfg job``,
``-m``), the same ``ecgdl.tasks.<name>.run(cfg)`` and exit status. ``ecgdl --help`` lists the subcommands and
the config groups; ``ecgdl <name> --help`` is Hydra's help for that config.

The configs are the repository's ``conf/`` folder. A wheel ships it as package data ``ecgdl/conf`` (pyproject's
``package-dir`` maps ``ecgdl.conf`` to ``conf``); an editable install has no ``ecgdl/conf``, and the command reads
the checkout's ``conf/`` instead, so both see the same files as the scripts. Hydra's ``pkg://`` config source is
not used: it accepts only a package with an ``__init__.py``, and ``conf/`` holds configs only. Runs write under
``./outputs/<name>/`` of the folder the command is started from (``conf/paths/default.yaml``), never into the
installed package.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "config_dir", "config_groups", "main", "usage"]

#: subcommand -> (what it does, an example)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": (
        "train a digitizer (or validate a training-free one)",
        "ecgdl train model=cnn data.aug=photo",
    ),
    "predict": (
        "digitize ECG pictures: one 12-lead CSV per image and report.csv",
        "ecgdl predict input=<image|folder|Kaggle root> output_dir=<dir> [model=classical]",
    ),
    "evaluate": (
        "score a digitizer, or a folder of predictions, with the Kaggle SNR",
        "ecgdl evaluate model=classical data.root=<Kaggle train-layout root>",
    ),
    "generate": (
        "write a synthetic dataset in the Kaggle train layout, with exact truth",
        "ecgdl generate output_dir=<dir> num_records=<N> data.aug=photo",
    ),
}

# Hydra names a job (its log file <name>.log, its help's title) after the module of the task function, which
# would be "cli"; this variable, read once when the command starts, names it after the task, as the scripts are.
_MODULE_ENV = "HYDRA_MAIN_MODULE"

# How the process was started, put back when the job starts: sys.argv the `ecgdl <command> ...` line (Lightning's
# DDP starts each extra process by running sys.argv again) and the environment without _MODULE_ENV.
_started: tuple[list[str], str | None] | None = None


def config_dir() -> Path:
    """The folder of the Hydra configs: the package's ``ecgdl/conf`` (wheel), else the checkout's ``conf/``
    beside the package (editable install)."""
    package = Path(str(resources.files("ecgdl")))
    candidates = [package / "conf", package.parent / "conf"]
    for candidate in candidates:
        if all((candidate / f"{name}.yaml").is_file() for name in COMMANDS):
            return candidate.resolve()
    raise FileNotFoundError(
        f"no ecgdl configs in {' or '.join(map(str, candidates))}; reinstall the package (pip install ecgdl)"
    )


def config_groups(conf: Path | None = None) -> dict[str, list[str]]:
    """Every config group under ``conf`` (default :func:`config_dir`), e.g. ``hydra/launcher``, with its options."""
    conf = config_dir() if conf is None else conf
    groups: dict[str, list[str]] = {}
    for folder in sorted(p for p in conf.rglob("*") if p.is_dir()):
        options = sorted(f.stem for f in folder.glob("*.yaml"))
        if options:
            groups[folder.relative_to(conf).as_posix()] = options
    return groups


def usage() -> str:
    """``ecgdl --help``: the subcommands, the config groups and their options, where the configs live."""
    conf = config_dir()
    width = max(map(len, COMMANDS))
    lines = [
        "usage: ecgdl <command> [group=option ...] [key=value ...] [Hydra flags: --help, --cfg job, -m ...]",
        "",
        "Digitize pictures of paper ECGs into 12-lead signals; train, score and compare digitizers.",
        "",
        "commands:",
    ]
    for name, (what, example) in COMMANDS.items():
        lines += [f"  {name:<{width}}  {what}", f"  {'':<{width}}  e.g. {example}"]
    groups = config_groups(conf)
    gwidth = max(map(len, groups))
    lines += ["", "config groups (group=option):"]
    lines += [f"  {group:<{gwidth}}  {', '.join(options)}" for group, options in groups.items()]
    lines += [
        "",
        f"configs: {conf}",
        "  ecgdl <command> --help      Hydra's help: that command's config and its defaults",
        "  ecgdl <command> --cfg job   print the composed config",
        "  --config-dir <dir>          add a folder of your own configs (e.g. <dir>/model/mine.yaml -> model=mine)",
        "Runs write under ./outputs/<command>/ of the current folder.",
    ]
    return "\n".join(lines)


def _task(name: str) -> Any:
    """``ecgdl.tasks.<name>`` (imported when a command runs: torch and Lightning load slowly), with the process's
    arguments and environment as the command was started."""
    if _started is not None:
        sys.argv = list(_started[0])
        _set_env(_MODULE_ENV, _started[1])
    return importlib.import_module(f"ecgdl.tasks.{name}")


def _set_env(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


# One Hydra task function per command, module-level so that launchers can pickle them: each runs
# ``ecgdl.tasks.<name>.job``, which the repository script of the same name runs too.
def train_job(cfg: Any) -> float | None:
    return _task("train").job(cfg)


def predict_job(cfg: Any) -> None:
    return _task("predict").job(cfg)


def evaluate_job(cfg: Any) -> float:
    return _task("evaluate").job(cfg)


def generate_job(cfg: Any) -> None:
    return _task("generate").job(cfg)


_JOBS = {"train": train_job, "predict": predict_job, "evaluate": evaluate_job, "generate": generate_job}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ecgdl <command> <overrides>`` (``argv`` default: the process's arguments); returns the exit status."""
    global _started
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] == "--version":
        from importlib.metadata import version

        print(f"ecgdl {version('ecgdl')}")
        return 0
    name, overrides = args[0], args[1:]
    if name not in COMMANDS:
        print(
            f"ecgdl: unknown command {name!r}; choose one of {', '.join(COMMANDS)} (ecgdl --help)",
            file=sys.stderr,
        )
        return 2

    import hydra

    import ecgdl.tasks  # noqa: F401  (registers the configs' resolvers, ${cwd:} among them)

    job = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=name)(_JOBS[name])
    program = sys.argv[0] if sys.argv and sys.argv[0] else "ecgdl"
    saved, _started = sys.argv, ([program, *args], os.environ.get(_MODULE_ENV))
    sys.argv = [program, *overrides]  # what hydra.main parses
    os.environ[_MODULE_ENV] = f"ecgdl.tasks.{name}"
    try:
        job()
    except SystemExit as stop:  # Hydra's --help and config errors, a job's failure status
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    finally:
        sys.argv = saved
        _set_env(_MODULE_ENV, _started[1])
        _started = None
    return 0
