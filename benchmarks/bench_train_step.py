"""Speed of one cnn training step (forward, heatmap loss, backward, AdamW) by precision and memory layout.

The step is the default run's: a batch of 2 pages x 16 lead crops of 320 x 1024 px through ``model=cnn``'s
network and :class:`ecgdl.models.DigitizerModule`'s loss, on random crops (the speed does not depend on what
they show). Variants: float32 or bfloat16 autocast (Lightning's ``bf16-mixed``), contiguous (NCHW) or
channels-last (NHWC) tensors. They run interleaved, ``--repeats`` rounds, so that a busy machine slows them all
alike; the ratios to float32/contiguous are what to compare. ``${cpu_precision:}`` (conf/trainer/cpu.yaml) picks
bf16 only where the CPU computes it natively (AMX / AVX512-BF16): elsewhere it is emulated and slow.

    python benchmarks/bench_train_step.py [--batch 32] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

from ecgdl.models import DigitizerModule, build_network
from ecgdl.tasks.resolvers import cpu_has_native_bf16

VARIANTS = {
    "fp32 / NCHW": (False, False),
    "fp32 / NHWC": (False, True),
    "bf16 / NCHW": (True, False),
    "bf16 / NHWC": (True, True),
}


def make_modules(base_channels: int) -> dict[str, DigitizerModule]:
    """One module per variant, all starting from the same weights."""
    net = build_network("cnn", base_channels=base_channels, depth=4, stem_stride=4)
    modules = {}
    for name, (_, channels_last) in VARIANTS.items():
        module = DigitizerModule(
            copy.deepcopy(net), sigma_px=3.0, l1_weight=0.05, channels_last=channels_last
        )
        module.on_fit_start()
        modules[name] = module
    return modules


def step(module: DigitizerModule, optimizer: torch.optim.Optimizer, batch: dict, bf16: bool) -> float:
    """Seconds for one optimiser step."""
    t0 = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss, _, _ = module._loss_and_rows(batch, need_rows=False)
    loss.backward()
    optimizer.step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--batch", type=int, default=32, help="crops per step (the default run: 2 pages x 16)"
    )
    parser.add_argument("--height", type=int, default=320)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--base-channels", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    gen = torch.Generator().manual_seed(args.seed)
    batch = {
        "image": torch.rand(args.batch, 3, args.height, args.width, generator=gen),
        "trace_y": args.height * (0.2 + 0.6 * torch.rand(args.batch, args.width, generator=gen)),
    }
    modules = make_modules(args.base_channels)
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=1e-4) for name, m in modules.items()}
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for name, (bf16, _) in VARIANTS.items():  # warm-up: oneDNN builds its kernels on the first call
        step(modules[name], optimizers[name], batch, bf16)
    for _ in range(args.repeats):
        for name, (bf16, _) in VARIANTS.items():
            times[name].append(step(modules[name], optimizers[name], batch, bf16))

    print(
        f"{args.batch} crops of {args.height} x {args.width}, {torch.get_num_threads()} threads, "
        f"native bf16: {cpu_has_native_bf16()}, {args.repeats} rounds"
    )
    base = float(np.median(times["fp32 / NCHW"]))
    for name, ts in times.items():
        med = float(np.median(ts))
        print(f"  {name}: median {med:.2f} s / step, min {min(ts):.2f}, speed-up x{base / med:.2f}")


if __name__ == "__main__":
    main()
