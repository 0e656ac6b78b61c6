"""Tests of the classical digitizer, one module per stage (see ``ecgdl.classical``)."""
