"""Signals: the 12-lead record type, a synthetic generator, and readers/writers for WFDB, PTB-XL and the Kaggle layout."""
