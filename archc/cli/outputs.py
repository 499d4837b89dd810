"""Output names are decided in the application layer (archc/app/outputs.py); kept here for callers of the
CLI's old name."""
from archc.app import graph_format, plot_targets  # noqa: F401
