"""The raw-SQL (pgbench) baseline of order placement."""
