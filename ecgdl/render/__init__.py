"""Signals -> paper ECG image + exact ground truth (grid, text, truth I/O; layouts: :mod:`ecgdl.layouts`)."""

from ecgdl.layouts import LAYOUTS, LayoutSpec, get_layout
from ecgdl.render.renderer import PAPER_SIZES_MM, RenderConfig, page_geometry, render_ecg
from ecgdl.render.sampler import RenderSampler
from ecgdl.render.truth import TRUTH_SUFFIX, GridGeometry, LeadPanel, RenderTruth

__all__ = [
    "LAYOUTS",
    "PAPER_SIZES_MM",
    "TRUTH_SUFFIX",
    "GridGeometry",
    "LayoutSpec",
    "LeadPanel",
    "RenderConfig",
    "RenderSampler",
    "RenderTruth",
    "get_layout",
    "page_geometry",
    "render_ecg",
]
