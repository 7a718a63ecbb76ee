"""Raw-SQL baseline of order placement: pgbench runs bench/pgbench/placement.sql
(the SQL of one 3-line order, statement for statement) on the order-intake
data set, to say what the database alone can do on this machine.

    .venv/bin/python -m bench.pgbench                       # 16 then 64 clients, 30 s each
    .venv/bin/python -m bench.pgbench --clients 16 --duration 60

Steps: (re)create the database (DATABASE_URL, default oms_bench_pgbench; its
name must contain `bench`), migrate, seed with bench.order_intake's seed;
then for each client count `pgbench -n -M prepared -c N -j 2 -T s -r -l`;
verify the database as order_intake does (ledger == levels, no oversell,
every order complete, no hold or claim left); write
bench/results/pgbench-<stamp>.json. See bench/README.md, "Raw SQL baseline".
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    BenchError,
    Database,
    configure_environment,
    machine_info,
    report_write,
    run_main,
    summarize,
)

SCRIPT = Path(__file__).resolve().parent / "placement.sql"
CUSTOMER_DOMAIN = "@pgbench.example.com"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.pgbench", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", default="16,64", help="client counts, one pgbench run each (default 16,64)")
    p.add_argument("--duration", type=int, default=30, help="seconds per pgbench run (default 30)")
    p.add_argument("--jobs", type=int, default=2, help="pgbench -j threads (default 2)")
    p.add_argument(
        "--skus", type=int, default=500, help="SKUs in the catalogue (default 500, as order_intake)"
    )
    p.add_argument(
        "--customers",
        type=int,
        default=1000,
        help="distinct customers, split among the clients (default 1000, as order_intake)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-json", action="store_true")
    args = p.parse_args(argv)
    try:
        args.clients = [int(c) for c in str(args.clients).split(",") if c.strip()]
    except ValueError:
        p.error("--clients must be a comma-separated list of integers, e.g. 16,64")
    if not args.clients or any(not 1 <= c <= 1000 for c in args.clients):
        p.error("--clients: each between 1 and 1000")
    if not 1 <= args.duration <= 3600:
        p.error("--duration must be 1..3600 s")
    if args.skus < 3:
        p.error("--skus must be at least 3 (one order takes one SKU from each third of the catalogue)")
    return args


def variables() -> dict[str, str]:
    """The ids the script needs: the seed makes SKUs BENCH-00001.. with consecutive ids
    and three warehouses with consecutive ids; checked here, not assumed. The token is
    found by its stored prefix, as authentication (placement.sql #1) looks it up."""
    from django.db.models import Max, Min

    from bench.order_intake import BENCH_API_KEY, CHANNEL_CODE, WAREHOUSES
    from inventory.models import SKU, Warehouse
    from oms.models import Channel, ChannelToken, hash_token

    channel = Channel.objects.get(code=CHANNEL_CODE)
    warehouses = list(
        Warehouse.objects.filter(code__in=[w[0] for w in WAREHOUSES])
        .order_by("id")
        .values_list("id", flat=True)
    )
    if len(warehouses) != 3 or warehouses[-1] - warehouses[0] != 2:
        raise BenchError(f"expected three bench warehouses with consecutive ids, got {warehouses}")
    skus = SKU.objects.filter(code__regex=r"^BENCH-[0-9]{5}$")
    bounds = skus.aggregate(first=Min("id"), last=Max("id"))
    count = skus.count()
    if bounds["last"] - bounds["first"] + 1 != count:
        raise BenchError("the bench SKUs' ids are not consecutive")
    first = skus.get(code="BENCH-00001").pk
    if first != bounds["first"]:
        raise BenchError("BENCH-00001 does not have the lowest id")
    return {
        "channel": str(channel.pk),
        "prefix": ChannelToken.objects.get(key_hash=hash_token(BENCH_API_KEY), channel=channel).prefix,
        "wh_first": str(warehouses[0]),
        "sku_first": str(first),
        "skus": str(count),
    }


def parse_output(text: str) -> dict:
    """tps, latency and per-statement latencies from pgbench's summary (-r)."""

    def number(pattern: str) -> float | None:
        m = re.search(pattern, text, re.MULTILINE)
        return float(m.group(1)) if m else None

    statements = []
    in_statements = False
    for line in text.splitlines():
        if line.startswith("statement latencies"):
            in_statements = True
            continue
        m = re.match(r"\s+([\d.]+)\s+(\d+)\s+(.*)$", line) if in_statements else None
        if m and not m.group(3).startswith("\\"):
            statements.append(
                {"n": len(statements) + 1, "ms": float(m.group(1)), "failures": int(m.group(2)),
                 "sql": m.group(3)[:90]}
            )  # fmt: skip
    return {
        "transactions": number(r"^number of transactions actually processed: (\d+)"),
        "failed_transactions": number(r"^number of failed transactions: (\d+)"),
        "tps": number(r"^tps = ([\d.]+)"),
        "latency_average_ms": number(r"^latency average = ([\d.]+) ms"),
        "statements": statements,
    }


def log_latencies(directory: Path) -> list[float]:
    """Per-transaction latencies (ms) from pgbench -l logs: `client_id transaction_no
    time_us script_no time_epoch time_us_part [schedule_lag]`."""
    values = []
    for path in directory.glob("pgbench_log*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                values.append(int(fields[2]) / 1000)
    return values


def count_orders() -> int:
    from orders.models import Order

    return Order.objects.filter(email__endswith=CUSTOMER_DOMAIN).count()


def run_pgbench(*, database: Database, clients: int, args: argparse.Namespace, values: dict) -> dict:
    from django.db import connections

    connections.close_all()  # pgbench gets the database to itself
    before = count_orders()
    connections.close_all()
    per_client = max(1, -(-args.customers // clients))
    cmd = [
        shutil.which("pgbench") or "pgbench", "-n", "-M", "prepared",
        "-c", str(clients), "-j", str(min(args.jobs, clients)), "-T", str(args.duration),
        "-r", "-l", "-f", str(SCRIPT),
        "-h", database.host, "-p", str(database.port), "-U", database.user,
        *[a for k, v in {**values, "customers": str(per_client)}.items() for a in ("-D", f"{k}={v}")],
        database.name,
    ]  # fmt: skip
    env = {**os.environ, "PGPASSWORD": database.password} if database.password else dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as tmp:
        print(f"pgbench: {clients} clients for {args.duration} s ...", flush=True)
        started = time.perf_counter()
        done = subprocess.run(
            cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=args.duration + 120
        )
        elapsed = time.perf_counter() - started
        latencies = log_latencies(Path(tmp))
    if done.returncode != 0:
        raise BenchError(
            f"pgbench exited with {done.returncode}:\n{done.stderr[-2000:]}\n{done.stdout[-2000:]}"
        )
    out = parse_output(done.stdout)
    created = count_orders() - before
    transactions = int(out["transactions"] or 0)
    seconds = float(args.duration)
    lat = summarize(latencies, 2)
    return {
        "clients": clients,
        "jobs": min(args.jobs, clients),
        "duration_s": args.duration,
        "wall_s": round(elapsed, 1),
        "customers_per_client": per_client,
        "transactions": transactions,
        "failed_transactions": int(out["failed_transactions"] or 0),
        "orders_created": created,
        "refused_insufficient_stock": transactions - created,
        "tps": out["tps"],
        "orders_per_s": round(created / seconds, 1),
        "latency_ms": {**lat, "average_pgbench": out["latency_average_ms"]},
        "statements": out["statements"],
        "command": " ".join(cmd),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which("pgbench"):
        raise BenchError(
            "pgbench is not on PATH (Debian: apt-get install postgresql-contrib / postgresql-client)"
        )
    started_at = datetime.now(UTC)
    load_before = [round(x, 2) for x in os.getloadavg()]
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_pgbench")
    configure_environment()
    database = Database.from_url(os.environ["DATABASE_URL"])
    print(f"database {database.name}: recreating, migrating, seeding ...", flush=True)
    t0 = time.perf_counter()
    database.recreate()
    import django

    django.setup()
    from django.core.management import call_command

    from bench.order_intake import postgres_version, seed, stock_checks

    call_command("migrate", verbosity=0, interactive=False)
    seed(argparse.Namespace(seed=args.seed, skus=args.skus, hot=False, hot_stock=1))
    setup_s = time.perf_counter() - t0
    values = variables()
    pg_version = postgres_version()
    runs = [run_pgbench(database=database, clients=c, args=args, values=values) for c in args.clients]

    from django.db import connections

    from orders.models import IdempotencyKey

    connections.close_all()
    checks = [c.__dict__ for c in stock_checks(3)]
    dangling = IdempotencyKey.objects.filter(key__startswith="key:pgbench-", order__isnull=True).count()
    checks.append(
        {
            "name": "idempotency: no claim left without an order",
            "ok": dangling == 0,
            "detail": f"{dangling} dangling claims",
        }
    )
    checks.append(
        {
            "name": "pgbench: no failed transaction (errors abort a client)",
            "ok": all(r["failed_transactions"] == 0 and r["transactions"] > 0 for r in runs),
            "detail": ", ".join(f"{r['clients']} clients: {r['failed_transactions']} failed" for r in runs),
        }
    )
    passed = all(c["ok"] for c in checks)
    print()
    print(f"Raw SQL baseline (pgbench, {SCRIPT.name}), PostgreSQL {pg_version}")
    for r in runs:
        lat = r["latency_ms"]
        print(
            f"  {r['clients']:>3} clients: {r['orders_per_s']} orders/s (tps {r['tps']}), "
            f"latency ms avg {lat['average_pgbench']} p50 {lat['p50']} p99 {lat['p99']}, "
            f"{r['orders_created']} orders, {r['refused_insufficient_stock']} refused"
        )
    for check in checks:
        print(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['name']}: {check['detail']}")
    print(f"  overall: {'PASS' if passed else 'FAIL'}")
    result = {
        "benchmark": "pgbench",
        "started_at": started_at.isoformat(timespec="seconds"),
        "config": {
            "clients": args.clients, "duration_s": args.duration, "jobs": args.jobs, "skus": args.skus,
            "customers": args.customers, "script": str(SCRIPT.name), "database": database.name,
        },
        "machine": {**machine_info(), "load_average_before": load_before, "postgresql": pg_version},
        "setup": {"recreate_migrate_seed_s": round(setup_s, 1)},
        "runs": runs,
        "checks": checks,
        "passed": passed,
    }  # fmt: skip
    if not args.no_json:
        report_write("pgbench", result)
    return 0 if passed else 1


def entry() -> None:
    run_main(main)


if __name__ == "__main__":
    entry()
