"""Numba's LLVM optimisation level for the models hiddenpop compiles.

nutpie compiles every model with Numba, and for a single fit that compilation is most of the
wait: at Numba's default level 3 the hotline trend fit spends 32-35 s compiling and 4-5 s
sampling (38 s in all); at level 0, 18-20 s compiling and 6 s sampling (25-26 s): gradients
cost about 1.5 times more, compilation about half (docs/performance.md).

So importing hiddenpop sets level 0 unless the user chose a level with ``NUMBA_OPT``. Numba
reads the variable when it is imported, and PyMC imports it: import hiddenpop before PyMC
(the command line, study workers, benchmarks and test suite do), or set ``NUMBA_OPT=0``
yourself. When Numba was loaded first, the level is also set in its config, which lowers
its optimisation passes but not the machine-code generator, created at import: measured,
that recovers little (hotline trend fit 37.8 s against 25 s). Results do not depend on the
level beyond floating-point rounding.
"""

from __future__ import annotations

import os
import sys

#: the level used when the user has not set NUMBA_OPT
DEFAULT_LEVEL = "0"


def prefer_fast_compilation() -> None:
    """Use Numba optimisation level 0 unless ``NUMBA_OPT`` says otherwise."""
    if "NUMBA_OPT" in os.environ:
        return
    os.environ["NUMBA_OPT"] = DEFAULT_LEVEL
    config = sys.modules.get("numba.core.config")
    if config is not None and hasattr(config, "_OptLevel"):
        config.OPT = config._OptLevel(int(DEFAULT_LEVEL))
