"""Test-suite setup.

hiddenpop is imported before anything else so that its Numba optimisation level
(``hiddenpop._numba``) is in place before PyMC loads Numba, as it is for the CLI.
"""

import hiddenpop  # noqa: F401
