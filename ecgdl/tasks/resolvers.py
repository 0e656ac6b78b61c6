"""OmegaConf resolvers the configs use; registered when :mod:`ecgdl.tasks` is imported (as train.py does).

- ``${cpu_precision:}``: Lightning's ``precision`` for CPU training: ``bf16-mixed`` where the processor computes
  in bfloat16 natively (AMX or AVX512-BF16: on the 2-core development machine a training step then runs 1.5-1.7
  times as fast, ``benchmarks/bench_train_step.py``), else ``32-true`` (emulated bfloat16 is slower than float32).
- ``${cwd:}``: the directory the command was started from. Unlike ``${hydra:runtime.cwd}`` it resolves before
  Hydra's runtime config exists, which is when a sweeper or launcher builds ``hydra.sweep.dir`` from it.
"""

from __future__ import annotations

import os

import torch
from omegaconf import OmegaConf

__all__ = ["cpu_has_native_bf16", "cpu_precision", "register_resolvers", "start_dir"]


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bfloat16 arithmetic (AMX tiles or AVX512-BF16). torch answers only through private
    helpers, so a torch without them counts as no."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    try:
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    except RuntimeError:
        return False


def cpu_precision() -> str:
    """``'bf16-mixed'`` on a CPU with native bfloat16, else ``'32-true'``."""
    return "bf16-mixed" if cpu_has_native_bf16() else "32-true"


def start_dir() -> str:
    """The process's working directory (the configs never change it: ``hydra.job.chdir`` is false)."""
    return os.getcwd()


def register_resolvers() -> None:
    """Register the resolvers above (idempotent)."""
    if not OmegaConf.has_resolver("cpu_precision"):
        OmegaConf.register_new_resolver("cpu_precision", cpu_precision)
    if not OmegaConf.has_resolver("cwd"):
        OmegaConf.register_new_resolver("cwd", start_dir)
