"""``python -m hiddenpop`` runs the command line."""

import sys

from hiddenpop.cli import main

sys.exit(main())
