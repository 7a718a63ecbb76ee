"""Every benchmark in one command: `python -m bench`.

Runs each benchmark in its own subprocess, one after another (so one's Django
set-up and memory never leak into the next, and they never compete for the
two cores), collects the JSON each writes, and writes
bench/results/report-<stamp>.json and report-<stamp>.md: the machine, the
headline table of order intake against the raw-SQL (pgbench) baseline, and a
table per benchmark. Exit status 1 when any benchmark's checks failed or it
could not run (the report says which), 130 when interrupted.

    .venv/bin/python -m bench                         # everything, full sizes (~40 minutes)
    .venv/bin/python -m bench --quick                 # small sizes everywhere (a smoke run)
    .venv/bin/python -m bench --only intake,pgbench   # some of them
    .venv/bin/python -m bench --args intake="--orders 5000" --args dashboard="--requests 50"
    .venv/bin/python -m bench --list                  # the plan, without running it
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.common import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    REPORT_PATH_VARIABLE,
    RESULTS_DIR,
    ROOT,
    TEMPLATE_VARIABLE,
)


@dataclass
class Bench:
    name: str
    module: str
    database: str
    args: list[str]
    quick: list[str]
    about: str
    groups: tuple[str, ...] = field(default_factory=tuple)


INTAKE_QUICK = ["--orders", "200", "--skus", "200", "--customers", "300"]
SYNC_2 = ["--worker-class", "sync", "--workers", "2"]
PLAN = [
    Bench("intake_uniform_16", "bench.order_intake", "oms_bench", ["--clients", "16"], ["--clients", "16", *INTAKE_QUICK],
          "order intake over HTTP, uniform SKUs, 16 clients", ("intake",)),
    Bench("intake_uniform_64", "bench.order_intake", "oms_bench", ["--clients", "64"], ["--clients", "64", *INTAKE_QUICK],
          "order intake over HTTP, uniform SKUs, 64 clients", ("intake",)),
    Bench("intake_hot_16", "bench.order_intake", "oms_bench", ["--clients", "16", "--hot"],
          ["--clients", "16", "--hot", *INTAKE_QUICK], "order intake over HTTP, a hot SKU, 16 clients", ("intake",)),
    Bench("intake_hot_64", "bench.order_intake", "oms_bench", ["--clients", "64", "--hot"],
          ["--clients", "64", "--hot", *INTAKE_QUICK], "order intake over HTTP, a hot SKU, 64 clients", ("intake",)),
    # The runs above use gthread (what ./scripts/run and the image start: threads keep a worker
    # serving while a request waits on a remote payment gateway). With the in-process test gateway
    # nothing waits, and two sync workers are the cheapest model in CPU per order: this run shows it.
    Bench("intake_sync_64", "bench.order_intake", "oms_bench", [*SYNC_2, "--clients", "64"],
          [*SYNC_2, "--clients", "64", *INTAKE_QUICK],
          "order intake over HTTP, uniform SKUs, 64 clients, 2 sync gunicorn workers", ("intake",)),
    Bench("pgbench", "bench.pgbench", "oms_bench_pgbench", ["--clients", "16,64", "--duration", "30"],
          ["--clients", "16,64", "--duration", "5", "--skus", "200", "--customers", "300"],
          "raw-SQL baseline of the same placement (pgbench)"),
    Bench("hot_endpoints", "bench.hot_endpoints", "oms_bench_hot", [], ["--orders", "3", "--grow", "20"],
          "SQL statements per request of the hot endpoints, at two data sizes"),
    Bench("routing", "bench.routing", "oms_bench_routing", [], ["--orders", "500", "--db-orders", "100"],
          "routing: the sourcing engine and the whole service"),
    Bench("wave_optimize", "bench.wave_optimize", "oms_bench_wave", [], ["--orders", "200", "--time-limit", "5"],
          "wave allocation of backorders (MIP vs greedy)"),
    Bench("reorder_check_100k", "bench.reorder_check", "oms_bench_reorder", ["--rules", "100000"],
          ["--rules", "3000", "--forecast-rules", "150"], "reorder check and inventory upkeep (100,000 rules at full size)",
          ("reorder_check",)),
    Bench("reorder_check_1m", "bench.reorder_check", "oms_bench_reorder", ["--rules", "1000000"],
          ["--rules", "30000", "--forecast-rules", "150"], "reorder check and inventory upkeep (1,000,000 rules at full size)",
          ("reorder_check",)),
    Bench("customer_metrics", "bench.customer_metrics", "oms_bench_metrics", [],
          ["--customers", "1000", "--orders", "10000"], "customer value metrics refresh"),
    Bench("dashboard", "bench.dashboard", "oms_bench_dashboard", [], ["--orders", "20000", "--requests", "20"],
          "staff dashboard pages (1,000,000 orders at full size)"),
]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run every benchmark and write one JSON + markdown report.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="benchmarks (and groups): "
        + ", ".join(b.name + (f" [{', '.join(b.groups)}]" if b.groups else "") for b in PLAN),
    )
    p.add_argument("--only", default="", help="comma-separated benchmarks or groups to run (default: all)")
    p.add_argument("--skip", default="", help="comma-separated benchmarks or groups to leave out")
    p.add_argument(
        "--quick", action="store_true", help="small sizes everywhere: a smoke run of a few minutes"
    )
    p.add_argument(
        "--args",
        action="append",
        default=[],
        metavar='NAME="ARGS"',
        help="more arguments for a benchmark or group (after its own, so they win); repeatable",
    )
    p.add_argument(
        "--db-suffix",
        default="",
        help="appended to every database name (e.g. _h: oms_bench_h, oms_bench_routing_h, ...)",
    )
    p.add_argument(
        "--no-template",
        action="store_true",
        help="let every benchmark migrate its database from scratch instead of copying a migrated template",
    )
    p.add_argument("--list", action="store_true", help="print the commands and exit")
    args = p.parse_args(argv)
    known = {b.name for b in PLAN} | {g for b in PLAN for g in b.groups}
    for option in ("only", "skip"):
        names = [n.strip() for n in getattr(args, option).split(",") if n.strip()]
        unknown = set(names) - known
        if unknown:
            p.error(f"--{option}: unknown {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        setattr(args, option, names)
    extra: dict[str, list[str]] = {}
    for item in args.args:
        name, sep, rest = item.partition("=")
        if not sep or name not in known:
            p.error(f'--args {item!r}: expected NAME="ARGS" with NAME one of {", ".join(sorted(known))}')
        extra.setdefault(name, []).extend(shlex.split(rest))
    args.extra = extra
    if not args.db_suffix.replace("_", "").isalnum() and args.db_suffix:
        p.error("--db-suffix: letters, digits and _ only")
    return args


def selected(args: argparse.Namespace) -> list[Bench]:
    def matches(bench: Bench, names: list[str]) -> bool:
        return bench.name in names or any(g in names for g in bench.groups)

    return [b for b in PLAN if (not args.only or matches(b, args.only)) and not matches(b, args.skip)]


def command(bench: Bench, args: argparse.Namespace) -> list[str]:
    extra = [a for key in (*bench.groups, bench.name) for a in args.extra.get(key, [])]
    return [sys.executable, "-m", bench.module, *(bench.quick if args.quick else bench.args), *extra]


def database_url(bench: Bench, suffix: str) -> str:
    """The server of DATABASE_URL (or the default one), the benchmark's own database name."""
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + bench.database + suffix))


# --- running ----------------------------------------------------------------------


TEMPLATE = Bench("template", "", "oms_bench_template", [], [], "migrated empty database the others copy")


def migrate_template() -> None:
    """Create and migrate the template database (run in a subprocess by main)."""
    from bench.common import Database, configure_environment

    os.environ.pop(TEMPLATE_VARIABLE, None)
    configure_environment()
    Database.from_url(os.environ["DATABASE_URL"]).recreate()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    connections.close_all()  # a template must have no connection while it is copied


def make_template(args: argparse.Namespace, folder: Path) -> str | None:
    name = TEMPLATE.database + args.db_suffix
    env = {**os.environ, "DATABASE_URL": database_url(TEMPLATE, args.db_suffix)}
    started = time.perf_counter()
    print(f"[{datetime.now(UTC):%H:%M:%S}] template database {name}: migrating ...", flush=True)
    with open(folder / "template.log", "wb") as log:
        done = subprocess.run(
            [sys.executable, "-c", "from bench.run import migrate_template; migrate_template()"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    if done.returncode != 0:
        print(f"    could not migrate it (exit {done.returncode}, see template.log): each benchmark migrates")
        return None
    print(f"    migrated in {time.perf_counter() - started:.0f} s", flush=True)
    return name


def drop_template(args: argparse.Namespace) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url(TEMPLATE, args.db_suffix))
    with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                         password=parts.password, dbname="postgres", autocommit=True, connect_timeout=5) as conn:  # fmt: skip
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(parts.path.lstrip("/"))))


def run_one(bench: Bench, args: argparse.Namespace, folder: Path, template: str | None = None) -> dict:
    cmd = command(bench, args)
    json_path = folder / f"{bench.name}.json"
    log_path = folder / f"{bench.name}.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(bench, args.db_suffix),
        "REDIS_URL": os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        REPORT_PATH_VARIABLE: str(json_path),
    }
    if template:
        env[TEMPLATE_VARIABLE] = template
    shown = " ".join(shlex.quote(c) for c in [".venv/bin/python", *cmd[1:]])
    print(f"[{datetime.now(UTC):%H:%M:%S}] {bench.name}: {shown}", flush=True)
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            code = process.wait()
        except BaseException:
            # Interrupted: SIGTERM lets the benchmark stop its own server; then give up on it.
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            raise
    seconds = time.perf_counter() - started
    result = None
    if json_path.exists():
        try:
            result = json.loads(json_path.read_text())
        except ValueError:
            result = None
    failed = failed_checks(result)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
    status = "PASS" if code == 0 and result is not None and not failed else "FAIL"
    print(
        f"    {status} in {seconds:.0f} s (exit {code}){': ' + '; '.join(failed) if failed else ''}",
        flush=True,
    )
    if status == "FAIL" and ((code != 0 and code != 1) or result is None):
        print("    " + tail.replace("\n", "\n    "), flush=True)
    return {
        "name": bench.name,
        "about": bench.about,
        "command": shown,
        "database": database_url(bench, args.db_suffix).rsplit("/", 1)[-1],
        "exit_code": code,
        "seconds": round(seconds, 1),
        "passed": status == "PASS",
        "failed_checks": failed if result is not None else ["no JSON report (see the log)"],
        "log": str(log_path.relative_to(ROOT)),
        "log_tail": tail if status == "FAIL" else "",
        "result": result,
    }


def failed_checks(result: dict | None) -> list[str]:
    """The names of the failed checks, whichever of the two shapes a benchmark uses
    ({name: bool} or [{name, ok, detail}])."""
    if not result:
        return []
    checks = result.get("checks") or {}
    if isinstance(checks, dict):
        return [name for name, ok in checks.items() if not ok]
    return [f"{c['name']}: {c.get('detail', '')}" for c in checks if not c.get("ok")]


def machine() -> dict:
    from bench.common import machine_info

    info = machine_info()
    with open("/proc/meminfo") as f:
        total = next((line.split()[1] for line in f if line.startswith("MemTotal")), None)
    info["memory_gb"] = round(int(total) / 1024 / 1024, 1) if total else None
    with open("/proc/cpuinfo") as f:
        info["cpu_model"] = next(
            (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), ""
        )
    try:
        import psycopg

        parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                             password=parts.password, dbname="postgres", connect_timeout=5) as conn:  # fmt: skip
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            for name in ("shared_buffers", "synchronous_commit", "max_connections", "jit"):
                info[f"pg_{name}"] = conn.execute(f"SHOW {name}").fetchone()[0]
    except Exception as exc:
        info["postgresql"] = f"unknown ({exc.__class__.__name__})"
    return info


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = selected(args)
    if args.list:
        for bench in plan:
            env = f"DATABASE_URL=.../{bench.database}{args.db_suffix}"
            print(f"{bench.name:<20} {env} {' '.join(command(bench, args)[1:])}")
        return 0
    started_at = datetime.now(UTC)
    stamp = f"{started_at:%Y%m%dT%H%M%SZ}"
    folder = RESULTS_DIR / f"run-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(
        f"{len(plan)} benchmarks{' (quick)' if args.quick else ''}; logs and JSON in {folder.relative_to(ROOT)}/"
    )
    runs = []
    interrupted = False
    template = None
    template_started = time.perf_counter()
    try:
        template = None if args.no_template else make_template(args, folder)
        template_seconds = round(time.perf_counter() - template_started, 1)
        for bench in plan:
            runs.append(run_one(bench, args, folder, template))
    except KeyboardInterrupt:
        interrupted = True
        template_seconds = round(time.perf_counter() - template_started, 1)
        print("\ninterrupted: writing the report of what ran.", file=sys.stderr)
    finally:
        if template:
            try:
                drop_template(args)
            except Exception as exc:
                print(f"could not drop the template database: {exc}", file=sys.stderr)
    from bench.report import markdown

    report = {
        "benchmark": "all",
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "interrupted": interrupted,
        "command": " ".join(
            [".venv/bin/python -m bench", *map(shlex.quote, argv if argv is not None else sys.argv[1:])]
        ),
        "machine": {**machine(), "load_average_before": load_before},
        "template_database": template,
        "template_seconds": template_seconds if template else None,
        "total_seconds": round(sum(r["seconds"] for r in runs) + (template_seconds if template else 0), 1),
        "passed": all(r["passed"] for r in runs) and not interrupted,
        "runs": runs,
    }
    json_path = RESULTS_DIR / f"report-{stamp}.json"
    md_path = RESULTS_DIR / f"report-{stamp}.md"
    json_path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    md_path.write_text(markdown(report))
    print(f"written: {json_path.relative_to(ROOT)}, {md_path.relative_to(ROOT)}")
    failed = [r["name"] for r in runs if not r["passed"]]
    print(
        f"overall: {'PASS' if report['passed'] else 'FAIL'}{' (' + ', '.join(failed) + ' failed)' if failed else ''}"
    )
    if interrupted:
        return 130
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
