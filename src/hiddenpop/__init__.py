"""hiddenpop: Bayesian estimation of hidden populations.

Capture-recapture and multiple-systems models on sufficient statistics that separate the
true growth of a hidden population from growth in its reporting.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from hiddenpop._numba import prefer_fast_compilation

prefer_fast_compilation()

try:
    __version__ = version("hiddenpop")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
