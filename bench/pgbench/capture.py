"""Capture the SQL of one order placement, with its parameters and its
transaction boundaries, to keep bench/pgbench/placement.sql in step with the
real intake path.

    .venv/bin/python -m bench.pgbench.capture            # writes bench/results/placement-sql-<stamp>.txt

It recreates the database of DATABASE_URL (its name must contain `bench`;
default oms_bench_capture), seeds it with bench.order_intake's seed (small
catalogue), and places through the Django test client (in process, full
middleware, DEBUG off) a warm-up order, then an order for a new customer and
one for the same, now returning, customer. Each statement is listed with its
number, its parameters and whether it opened a transaction, ran in autocommit
or continued a transaction; a COMMIT line closes each transaction. The
gunicorn query log (OMS_QUERY_LOG=true) has the statements too, but neither
their parameters nor where each transaction starts and ends.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import UTC, datetime

from bench.common import RESULTS_DIR, ROOT, BenchError, Database, configure_environment


class Recorder:
    """An execute wrapper noting, before each statement, whether the connection
    is inside a transaction (psycopg begins one implicitly when Django has
    turned autocommit off, and Django sends no BEGIN)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.rows: list[dict] = []

    def __call__(self, execute, sql, params, many, context):
        from psycopg.pq import TransactionStatus

        state = "in transaction"
        if self.connection.connection.info.transaction_status == TransactionStatus.IDLE:
            state = "autocommit" if self.connection.get_autocommit() else "begin"
        self.rows.append({"sql": " ".join(str(sql).split()), "params": params, "many": many, "state": state})
        return execute(sql, params, many, context)


def listing(title: str, rows: list[dict]) -> str:
    out = [f"== {title}: {len(rows)} statements"]
    open_txn = False
    txn = 0
    for n, row in enumerate(rows, start=1):
        if row["state"] != "in transaction" and open_txn:
            out.append("-- COMMIT")
            open_txn = False
        if row["state"] == "begin":
            txn += 1
            out.append(f"-- BEGIN (transaction {txn})")
            open_txn = True
        elif row["state"] == "autocommit":
            out.append("-- (autocommit)")
        out.append(f"#{n} {row['sql']}")
        out.append(f"   params: {row['params']!r}")
    if open_txn:
        out.append("-- COMMIT")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pgbench.capture", description=__doc__.split("\n\n")[0])
    p.add_argument("--skus", type=int, default=50)
    p.add_argument("--lines", type=int, default=3)
    args = p.parse_args(argv)
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_capture")
    configure_environment()
    db = Database.from_url(os.environ["DATABASE_URL"])
    db.recreate()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from bench.order_intake import BENCH_API_KEY, Plan, seed

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    seed_args = argparse.Namespace(seed=1, skus=args.skus, hot=False, hot_stock=1)
    dataset = seed(seed_args)
    plan = Plan(port=0, prefix="capture-", sku_codes=dataset.sku_codes, hot_code=None, lines=args.lines,
                customers=1, seed=1, timeout=10)  # fmt: skip
    client = Client(HTTP_AUTHORIZATION=f"Bearer {BENCH_API_KEY}")
    rng = random.Random(1)

    def place(key: str, email: str) -> list[dict]:
        payload = plan.payload(rng, with_hot=False)
        payload["customer"]["email"] = email
        recorder = Recorder(connection)
        with connection.execute_wrapper(recorder):
            response = client.post(
                "/api/v1/orders/", json.dumps(payload), content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=key,
            )  # fmt: skip
        if response.status_code != 201:
            raise BenchError(f"order {key}: HTTP {response.status_code} {response.content[:500]!r}")
        return recorder.rows

    place("capture-warmup", "warmup@bench.example.com")
    new = place("capture-new", "capture@bench.example.com")
    returning = place("capture-returning", "capture@bench.example.com")
    text = "\n\n".join(
        [
            listing("new customer", new),
            listing("returning customer", returning),
        ]
    )
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"placement-sql-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.txt"
    path.write_text(text + "\n")
    print(f"\nwritten: {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
