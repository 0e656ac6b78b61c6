"""One fusion stage for trace readers: each reading comes with a per-sample variance from a calibrated error
model, and one rule combines them (inverse-variance mean where they agree, the surer reading where not)."""

from ecgdl.fusion.calibrate import FusionFit, centred_residuals, fit_error_model, fit_fusion
from ecgdl.fusion.features import FEATURES, context_masks, lead_joins, page_noise, sample_features
from ecgdl.fusion.model import ErrorModel, FusionConfig, agreement, fuse_readings

__all__ = [
    "FEATURES",
    "ErrorModel",
    "FusionConfig",
    "FusionFit",
    "agreement",
    "centred_residuals",
    "context_masks",
    "fit_error_model",
    "fit_fusion",
    "fuse_readings",
    "lead_joins",
    "page_noise",
    "sample_features",
]
