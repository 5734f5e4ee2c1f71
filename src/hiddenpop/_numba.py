"""Numba's LLVM optimisation level for the models hiddenpop compiles.

nutpie compiles every model with Numba, and for a single fit that compilation is most of the
wait: at Numba's default level 3 the hotline trend fit spends 32-35 s compiling and 4-5 s
sampling (38 s in all); at level 0, 18-20 s compiling and 6 s sampling (25-26 s): gradients
cost about 1.5 times more, compilation about half (docs/performance.md).

So importing hiddenpop sets level 0 unless the user chose a level with ``NUMBA_OPT``. Numba
reads the variable when it is imported, and PyMC imports it: import hiddenpop before PyMC
(the command line, study workers, benchmarks and test suite do), or set ``NUMBA_OPT=0``
yourself. Once Numba is loaded its level is left alone: its machine-code generator is built
at import, and lowering only the optimisation passes afterwards was measured to recover
nothing (hotline trend fit 37.8 s against 38.8 s at level 3, 25 s at level 0). Results do
not depend on the level beyond floating-point rounding.
"""

from __future__ import annotations

import os

#: the level used when the user has not set NUMBA_OPT
DEFAULT_LEVEL = "0"


def prefer_fast_compilation() -> None:
    """Use Numba optimisation level 0 unless ``NUMBA_OPT`` says otherwise."""
    os.environ.setdefault("NUMBA_OPT", DEFAULT_LEVEL)
