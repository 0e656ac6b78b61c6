"""Learned digitizers: crop and page networks, their registry and losses, the signal decoder, the LightningModule."""

from ecgdl.models.autoencoder import TraceAutoencoder, trace_from_clean
from ecgdl.models.checkpoints import export_weights, load_net_weights
from ecgdl.models.decode import crops_to_signal, fill_nan_columns
from ecgdl.models.losses import heatmap_loss, mask_loss, masked_mae, regression_loss
from ecgdl.models.module import DigitizerModule
from ecgdl.models.networks import ColumnHeatmapNet, soft_argmax
from ecgdl.models.registry import (
    KINDS,
    MODELS,
    build_network,
    network_kind,
    network_spec,
    register_network,
)
from ecgdl.models.unet import PageUNet

__all__ = [
    "KINDS",
    "MODELS",
    "ColumnHeatmapNet",
    "DigitizerModule",
    "PageUNet",
    "TraceAutoencoder",
    "build_network",
    "crops_to_signal",
    "export_weights",
    "fill_nan_columns",
    "heatmap_loss",
    "load_net_weights",
    "mask_loss",
    "masked_mae",
    "network_kind",
    "network_spec",
    "register_network",
    "regression_loss",
    "soft_argmax",
    "trace_from_clean",
]
