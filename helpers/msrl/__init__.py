"""MSRL: open reference implementation of "Breaking the SFT Plateau: Multimodal Structured
Reinforcement Learning for Chart-to-Code Generation" (arXiv 2508.13587).

The package holds all logic; the notebooks in ``notebooks/`` only set parameters, call it, and show
results. Importing ``msrl`` is cheap: heavy libraries (torch, transformers, trl) are imported by the
sub-modules that need them.
"""

__version__ = "0.1.0"
