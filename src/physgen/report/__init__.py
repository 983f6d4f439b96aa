"""Plots and the self-contained HTML report."""
from physgen.report.html import Report, figure_png

__all__ = ["Report", "figure_png"]
