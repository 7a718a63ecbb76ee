"""`python -m bench`: every benchmark, one report (see bench/run.py)."""

import sys

from bench.common import terminate_as_interrupt
from bench.run import main

with terminate_as_interrupt():
    sys.exit(main())
