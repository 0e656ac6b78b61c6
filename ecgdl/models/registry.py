"""Network registry: ``build_network(name, **kwargs)`` for configs and scripts that pick a network by name.

``None`` keyword values are dropped, so ``null`` in a YAML config means "the network's default". Each entry also
records the :class:`~ecgdl.models.module.DigitizerModule` ``kind`` that trains it. Every network built here
remembers its name and keyword arguments (:func:`network_spec`); checkpoints store that spec, so weights load into
the architecture that produced them whatever the current config builds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from torch import nn

from ecgdl.models.autoencoder import TraceAutoencoder
from ecgdl.models.networks import ColumnHeatmapNet
from ecgdl.models.unet import PageUNet

__all__ = [
    "KINDS",
    "MODELS",
    "NetworkEntry",
    "build_network",
    "network_kind",
    "network_spec",
    "register_network",
]

#: What a network is trained on (see :class:`~ecgdl.models.module.DigitizerModule`): crop -> row per column,
#: crop -> clean trace image, page -> trace mask.
KINDS = ("column", "autoencoder", "page")


@dataclass(frozen=True)
class NetworkEntry:
    """A registered network: how to build it and which training ``kind`` it belongs to."""

    builder: Callable[..., nn.Module]
    kind: str  # one of KINDS


MODELS: dict[str, NetworkEntry] = {
    # stride-4 stems: the architecture of the shipped weights (320 x 1024 crops, ecgdl/assets/cnn.pt)
    "cnn": NetworkEntry(partial(ColumnHeatmapNet, head="heatmap", stem_stride=4), "column"),
    "cnn_regression": NetworkEntry(partial(ColumnHeatmapNet, head="regression", stem_stride=4), "column"),
    "autoencoder": NetworkEntry(TraceAutoencoder, "autoencoder"),
    "unet": NetworkEntry(PageUNet, "page"),
}


def _entry(name: str) -> NetworkEntry:
    if name not in MODELS:
        raise KeyError(f"unknown network {name!r}; valid: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def register_network(name: str, builder: Callable[..., nn.Module], kind: str) -> None:
    """Add a network under ``name`` (an existing name is an error, so plug-ins cannot shadow built-ins)."""
    if name in MODELS:
        raise KeyError(f"network {name!r} is already registered")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    MODELS[name] = NetworkEntry(builder, kind)


#: attribute holding the spec (registry name + keyword arguments) of a network built by :func:`build_network`
_SPEC_ATTR = "ecgdl_network_spec"


def _plain(value: Any) -> Any:
    """``value`` as plain Python (lists for sequences such as OmegaConf's ListConfig), or a ValueError when it
    cannot go into a checkpoint that loads with ``weights_only=True``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    raise ValueError(f"{type(value).__name__} is not a plain value")


def build_network(name: str, **kwargs: Any) -> nn.Module:
    """Build the network registered as ``name`` with ``kwargs`` (``None`` values dropped)."""
    entry = _entry(name)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    net = entry.builder(**kwargs)
    try:
        spec = {"name": name, **{k: _plain(v) for k, v in kwargs.items()}}
    except ValueError:
        spec = None  # e.g. a module passed as an argument: the checkpoint then holds weights only
    object.__setattr__(net, _SPEC_ATTR, spec)
    return net


def network_spec(net: nn.Module) -> dict[str, Any] | None:
    """``{"name": ..., **kwargs}`` that rebuilds ``net`` with :func:`build_network`; None when it was built
    otherwise (or with arguments that are not plain values)."""
    spec = getattr(net, _SPEC_ATTR, None)
    return dict(spec) if spec else None


def network_kind(name: str) -> str:
    """The :class:`~ecgdl.models.module.DigitizerModule` ``kind`` that trains network ``name``."""
    return _entry(name).kind
