"""Signals -> paper ECG image + exact ground truth."""
