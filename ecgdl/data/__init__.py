"""Datasets and Lightning DataModules that render and degrade paper ECGs on the fly, plus the dataset writer."""
