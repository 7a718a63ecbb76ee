"""`python -m bench.pgbench`: the raw-SQL baseline (see run.py)."""

from bench.pgbench.run import entry

entry()
