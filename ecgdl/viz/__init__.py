"""Visualisation: predicted traces drawn back onto the page and truth-vs-prediction lead plots."""

from ecgdl.viz.overlay import TraceSegment, draw_traces_on_page, overlay_prediction, plot_leads

__all__ = ["TraceSegment", "draw_traces_on_page", "overlay_prediction", "plot_leads"]
