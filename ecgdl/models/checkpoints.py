"""Checkpoint I/O for the learned digitizers: shipped weights by name, exported weight files, loading a network's
weights (always ``weights_only=True``).

Checkpoints keep only plain hyperparameters (the optimizer/scheduler factories are not stored), so they load with
``torch.load(path, weights_only=True)``. They also keep the network's registry spec under ``"network"``
(:func:`~ecgdl.models.registry.network_spec`), so a loader can rebuild the architecture they were trained with.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ecgdl.models.registry import build_network

__all__ = ["ASSETS", "export_weights", "load_net_state", "load_net_weights", "resolve_weights"]

#: trained weights that ship with the package (``weights=cnn`` or ``ckpt_path=cnn``)
ASSETS = Path(__file__).resolve().parents[1] / "assets"


def resolve_weights(name_or_path: str | Path) -> Path:
    """A checkpoint path, or the name of one shipped in ``ecgdl/assets`` (e.g. ``cnn``)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = ASSETS / f"{name_or_path}.pt"
    if shipped.is_file():
        return shipped
    available = sorted(p.stem for p in ASSETS.glob("*.pt"))
    raise FileNotFoundError(
        f"{name_or_path}: no such checkpoint file, nor a shipped one (shipped: {available})"
    )


def export_weights(ckpt_path: str | Path, out_path: str | Path, network: dict | None = None) -> Path:
    """Strip a training checkpoint down to the network weights and the facts needed to use them (what ships in
    ``ecgdl/assets``): hyperparameters (crop geometry) and the network spec (``network``, default: the
    checkpoint's own record; give it for checkpoints written before specs were recorded)."""
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in ckpt.get("state_dict", ckpt).items() if k.startswith("net.")}
    if not state:
        raise ValueError(f"{ckpt_path}: no network weights (net.*) in this checkpoint")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    exported = {"state_dict": state, "hyper_parameters": dict(ckpt.get("hyper_parameters", {}))}
    network = network or ckpt.get("network")
    if network:
        net = build_network(**network)  # the spec must rebuild a network the weights fit
        load_net_state(net, {"state_dict": state}, ckpt_path)
        exported["network"] = dict(network)
    torch.save(exported, out)
    return out


def load_net_weights(net: nn.Module, ckpt_path: str | Path, strict: bool = True) -> nn.Module:
    """Load the ``net.*`` weights of a :class:`~ecgdl.models.module.DigitizerModule` checkpoint (or a bare state dict) into ``net``."""
    return load_net_state(
        net, torch.load(ckpt_path, map_location="cpu", weights_only=True), ckpt_path, strict
    )


def load_net_state(net: nn.Module, ckpt: dict, ckpt_path: str | Path, strict: bool = True) -> nn.Module:
    """Load the network weights of an already loaded checkpoint ``ckpt`` (read from ``ckpt_path``) into ``net``."""
    state = ckpt.get("state_dict", ckpt)
    prefix = "net."
    if any(k.startswith(prefix) for k in state):
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    try:
        net.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        raise RuntimeError(
            f"{ckpt_path}: these weights do not fit the {type(net).__name__} built from the config; the checkpoint"
            f" was trained with another architecture (e.g. model.net.stem_stride / base_channels / depth): {exc}"
        ) from exc
    return net
