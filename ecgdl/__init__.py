"""ecgdl: turn pictures of paper electrocardiograms back into calibrated 12-lead time series."""

__version__ = "0.1.0"
