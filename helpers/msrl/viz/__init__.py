"""Figures and widgets for the notebooks."""
