"""Numba's LLVM optimisation level for the models hiddenpop compiles.

nutpie compiles every model with Numba, and for a single fit that compilation is most of the
wait: at Numba's default level 3, a closed Mh fit spends about 15 s of its 28 s compiling and
1 s sampling, and the hotline trend fit 34.5 s compiling and 4 s sampling. At level 0 the
same fits take 15.7 s (Mh) and 20.8 s (trend: 14.6 s compile, 6.0 s sampling): gradients
run about 1.5 times slower, compilation twice as fast (docs/performance.md,
``benchmarks/closed.py`` and ``benchmarks/trend.py`` with ``NUMBA_OPT`` set).

So importing hiddenpop sets level 0 unless the user chose a level with ``NUMBA_OPT``. Numba
reads the level when its code generator starts, at the first compilation of the process;
when Numba was imported earlier (PyMC imports it) the level is set in its config as well,
which takes effect if nothing has been compiled yet. Results do not depend on the level
beyond floating-point rounding.
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
