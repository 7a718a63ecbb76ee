"""Load soak: the whole OMS (gunicorn, a Celery worker, Celery beat, a private
Redis) under mixed storefront and back-office traffic for a while, watching
the memory of every process and the outbox; at the end the invariants.

    .venv/bin/python -m bench.soak                      # 10 minutes, 8 storefront clients, 2 staff
    .venv/bin/python -m bench.soak --duration 60        # a short run
    .venv/bin/python -m bench.soak --help

Steps: start a private redis-server (port 6394); (re)create the bench
database, migrate, seed (order_intake's catalogue plus carriers, boxes,
location and return policies, a manager with an API token); start gunicorn,
the worker and beat as production would (DEBUG off, the real broker, e-mail
to files in a temporary folder); run the traffic for --duration seconds while
sampling RSS and the outbox every 10 s; stop the traffic, let the worker
drain (bounded), stop everything; run `manage.py reconcile` and the stock
checks; print a summary and write bench/results/soak-<stamp>.json. Exit 0
when every check passed, 1 when one failed, 2 when the soak could not run.
See bench/README.md ("Soak").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from bench.common import (
    RESULTS_DIR,
    ROOT,
    VENV_BIN,
    BenchError,
    Database,
    configure_environment,
    gunicorn,
    machine_info,
    report_write,
    run_main,
    summarize,
)
from bench.soak_traffic import Stats, World, run_traffic

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/oms_bench_soak"
STAFF_USERNAME = "soak-manager"
FINAL_SALE_SHARE = 0.1  # SKUs the return policy excludes: their returns go through review


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    p.add_argument("--clients", type=int, default=8, help="storefront client threads (default 8)")
    p.add_argument("--staff", type=int, default=2, help="back-office staff threads (default 2)")
    p.add_argument(
        "--think",
        type=float,
        default=0.5,
        help="mean think time of a storefront client between two scenarios, seconds (default 0.5)",
    )
    p.add_argument("--staff-think", type=float, default=0.3, help="staff think time, seconds (default 0.3)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--skus", type=int, default=300, help="SKUs in the catalogue (default 300)")
    p.add_argument("--customers", type=int, default=500, help="distinct customers (default 500)")
    p.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3)")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    p.add_argument("--concurrency", type=int, default=2, help="Celery worker processes (default 2)")
    p.add_argument("--return-share", type=float, default=0.3, help="share of shipments returned (0.3)")
    p.add_argument("--cart-ttl", type=int, default=2, help="cart lifetime in minutes (default 2)")
    p.add_argument("--interval", type=float, default=10, help="sampling interval, seconds (default 10)")
    p.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds of traffic before the memory baseline (default min(120, duration / 5))",
    )
    p.add_argument(
        "--max-slope",
        type=float,
        default=10.0,
        help="flat memory: RSS slope after the warm-up at most this many MB per 10 minutes (default 10)",
    )
    p.add_argument(
        "--max-growth",
        type=float,
        default=10.0,
        help="flat memory: last RSS at most this %% above the warm-up sample (default 10)",
    )
    p.add_argument("--drain-timeout", type=float, default=240, help="seconds to wait for the drain (240)")
    p.add_argument("--redis-port", type=int, default=6394, help="port of the private redis-server (6394)")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request HTTP timeout in seconds")
    p.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(120.0, args.duration / 5)
    limits = [
        (10 <= args.duration <= 24 * 3600, "--duration must be 10..86400 s"),
        (1 <= args.clients <= 256 and 1 <= args.staff <= 16, "--clients 1..256, --staff 1..16"),
        (args.think >= 0 and args.staff_think >= 0, "think times must be >= 0"),
        (20 <= args.skus <= 20_000, "--skus must be 20..20000"),
        (args.customers >= 1, "--customers must be positive"),
        (1 <= args.workers <= 32 and 1 <= args.threads <= 64, "--workers 1..32, --threads 1..64"),
        (1 <= args.concurrency <= 16, "--concurrency must be 1..16"),
        (0 <= args.return_share <= 1, "--return-share must be 0..1"),
        (args.cart_ttl >= 1, "--cart-ttl must be at least 1 minute"),
        (1 <= args.interval <= 300, "--interval must be 1..300 s"),
        (0 <= args.warmup < args.duration, "--warmup must be shorter than --duration"),
    ]
    for ok, message in limits:
        if not ok:
            p.error(message)
    return args


# --- processes ------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _stop_group(process: subprocess.Popen, grace: float = 20.0) -> None:
    """TERM the process (its own session), wait, then KILL its process group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # Pool children left behind (a worker killed mid-task) go with the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextlib.contextmanager
def child(name: str, argv: list[str], *, env: dict[str, str], log_path: Path) -> Iterator[Proc]:
    """Run argv in its own session until the block exits (normally, on error or Ctrl-C)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Proc(name, process, log_path)
    finally:
        _stop_group(process)


@contextlib.contextmanager
def private_redis(port: int, log_path: Path) -> Iterator[str]:
    """A redis-server of our own on 127.0.0.1:port, no persistence; stopped at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("redis-server is not installed (apt-get install redis-server)")
    import redis

    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
    ]
    with child("redis", argv, env=dict(os.environ), log_path=log_path) as proc:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            if proc.process.poll() is not None:
                raise BenchError(f"redis-server on port {port} exited:\n{proc.log_text()[-1500:]}")
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    break
            if time.monotonic() > deadline:
                raise BenchError(f"redis-server on port {port} did not answer PING")
            time.sleep(0.1)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"


def wait_for_line(proc: Proc, marker: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while marker not in proc.log_text():
        if proc.process.poll() is not None:
            raise BenchError(
                f"{proc.name} exited with code {proc.process.returncode}:\n{proc.log_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise BenchError(
                f"{proc.name} did not log {marker!r} within {timeout:.0f}s:\n{proc.log_text()[-3000:]}"
            )
        time.sleep(0.3)


# --- data set -------------------------------------------------------------------------------------


@dataclass
class Dataset:
    channel_key: str
    staff_token: str
    sku_codes: list[str]
    final_sale: set[str]
    carrier_secrets: dict[str, str]
    seconds: float


def seed(args: argparse.Namespace) -> Dataset:
    """order_intake's catalogue (channel, tax, three DCs, SKUs with stock and
    prices), then what the rest of the flow needs: the demo's carriers and
    boxes, a policy per location and a default sourcing policy, a return
    policy (a few SKUs final sale) and a manager with an API token."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from bench.order_intake import BENCH_API_KEY, CHANNEL_CODE
    from bench.order_intake import seed as intake_seed
    from fulfillment.models import Carrier, LocationPolicy, SourcingPolicy
    from inventory.models import Warehouse
    from oms.demo.fulfillment import seed_carriers, seed_packaging
    from oms.models import Channel, StaffToken
    from oms.roles import MANAGER
    from returns.models import ReturnPolicy

    started = time.perf_counter()
    rng = random.Random(args.seed)
    catalogue = intake_seed(SimpleNamespace(seed=args.seed, skus=args.skus, hot=False, hot_stock=1))
    Channel.objects.filter(code=CHANNEL_CODE).update(cart_ttl_minutes=args.cart_ttl)
    seed_carriers()
    seed_packaging()
    warehouses = list(Warehouse.objects.order_by("code"))
    # No cut-off and no capacity limit: every parcel may leave today, whatever the clock says.
    LocationPolicy.objects.bulk_create([LocationPolicy(warehouse=w, priority=0) for w in warehouses])
    SourcingPolicy.objects.create(channel=None, max_shipments=2)
    final_sale = set(
        rng.sample(catalogue.sku_codes, max(1, int(len(catalogue.sku_codes) * FINAL_SALE_SHARE)))
    )
    policy = ReturnPolicy.objects.create(channel=None, window_days=30, non_returnable_skus=sorted(final_sale))
    policy.locations.set(warehouses)
    user = get_user_model().objects.create_user(
        STAFF_USERNAME, f"{STAFF_USERNAME}@soak.example.com", None, is_staff=True
    )
    user.groups.add(Group.objects.get_or_create(name=MANAGER)[0])
    _, staff_key = StaffToken.issue(user=user, name="soak")
    secrets = dict(Carrier.objects.values_list("code", "webhook_secret"))
    return Dataset(
        channel_key=BENCH_API_KEY,
        staff_token=staff_key,
        sku_codes=catalogue.sku_codes,
        final_sale=final_sale,
        carrier_secrets=secrets,
        seconds=time.perf_counter() - started,
    )


# --- sampling -------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields start after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Sample:
    t: float  # seconds since the traffic started
    phase: str  # "traffic" or "drain"
    rss: dict[str, float]  # process label -> MB
    pids: dict[str, list[int]]  # role -> pids
    outbox_due: int
    outbox_future: int
    outbox_failed: int
    queue: int
    redis_mb: float
    reservations: int
    responses: int
    errors: int


@dataclass
class Sampler:
    procs: dict[str, Proc]  # web, worker, beat
    redis_url: str
    stats: Stats
    interval: float
    samples: list[Sample] = field(default_factory=list)
    phase: str = "traffic"
    stop: threading.Event = field(default_factory=threading.Event)
    t0: float = field(default_factory=time.monotonic)

    def processes(self) -> dict[str, list[tuple[str, int]]]:
        """role -> [(label, pid)]: the gunicorn master and its workers, the Celery worker
        and its pool processes, beat."""
        web = self.procs["web"].process.pid
        worker = self.procs["worker"].process.pid
        return {
            "web": [("gunicorn master", web)] + [(f"gunicorn worker {p}", p) for p in _children(web)],
            "worker": [("celery worker", worker)] + [(f"celery pool {p}", p) for p in _children(worker)],
            "beat": [("celery beat", self.procs["beat"].process.pid)],
        }

    def take(self) -> Sample:
        import redis
        from django.db import connection
        from django.utils import timezone

        from inventory.models import Reservation
        from oms.models import OutboxEvent

        rss, pids = {}, {}
        for role, members in self.processes().items():
            pids[role] = [pid for _, pid in members]
            for label, pid in members:
                value = rss_mb(pid)
                if value is not None:
                    rss[label] = round(value, 1)
        now = timezone.now()
        pending = OutboxEvent.objects.filter(dispatched_at__isnull=True, failed_at__isnull=True)
        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            queue = client.llen("celery")
            redis_mb = client.info("memory")["used_memory"] / 2**20
        finally:
            client.close()
        sample = Sample(
            t=round(time.monotonic() - self.t0, 1),
            phase=self.phase,
            rss=rss,
            pids=pids,
            outbox_due=pending.filter(available_at__lte=now).count(),
            outbox_future=pending.filter(available_at__gt=now).count(),
            outbox_failed=OutboxEvent.objects.filter(failed_at__isnull=False).count(),
            queue=queue,
            redis_mb=round(redis_mb, 2),
            reservations=Reservation.objects.filter(status=Reservation.Status.ACTIVE).count(),
            responses=sum(ep.count for ep in self.stats.endpoints.values()),
            errors=self.stats.error_count(),
        )
        connection.close()
        self.samples.append(sample)
        return sample

    def loop(self) -> None:
        next_at = self.t0
        while not self.stop.is_set():
            try:
                print(format_sample(self.take()), flush=True)
            except Exception as exc:  # a failed sample is reported, the soak goes on
                print(f"  sample failed: {type(exc).__name__}: {exc}", flush=True)
            next_at += self.interval
            self.stop.wait(max(0.0, next_at - time.monotonic()))


def format_sample(s: Sample) -> str:
    web = [v for k, v in s.rss.items() if k.startswith("gunicorn worker")]
    pool = [v for k, v in s.rss.items() if k.startswith("celery pool")]
    return (
        f"  t={s.t:6.0f}s {s.phase:7} responses {s.responses:6d} errors {s.errors:3d} | RSS MB web "
        f"{'/'.join(f'{v:.0f}' for v in web)} worker {s.rss.get('celery worker', 0):.0f} pool "
        f"{'/'.join(f'{v:.0f}' for v in pool)} beat {s.rss.get('celery beat', 0):.0f} | outbox due "
        f"{s.outbox_due} queue {s.queue} holds {s.reservations}"
    )


# --- verdicts -------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def slope_per_10min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (t seconds, MB), in MB per 600 s."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var * 600


def memory_verdicts(samples: list[Sample], args: argparse.Namespace) -> tuple[list[dict], Check]:
    """Per process, over the traffic phase after the warm-up: the RSS slope and the
    growth of the last sample over the first (the warm-up sample)."""
    traffic = [s for s in samples if s.phase == "traffic"]
    labels = sorted({label for s in traffic for label in s.rss})
    rows, failed, unjudged = [], [], []
    for label in labels:
        points = [(s.t, s.rss[label]) for s in traffic if label in s.rss and s.t >= args.warmup]
        if not points:
            continue
        base, last = points[0][1], points[-1][1]
        slope = slope_per_10min(points)
        # Not judged, shown: a slope that falls from the first half to the second is warm-up still
        # settling; a steady one is a leak.
        late = slope_per_10min(points[len(points) // 2 :])
        growth = (last - base) / base * 100 if base else 0.0
        ok = slope is not None and slope <= args.max_slope and growth <= args.max_growth
        if slope is None:
            unjudged.append(label)
        elif not ok:
            failed.append(label)
        rows.append(
            {
                "process": label,
                "first_mb": traffic[0].rss.get(label),
                "warmup_mb": base,
                "last_mb": last,
                "max_mb": max(v for _, v in points),
                "slope_mb_per_10min": None if slope is None else round(slope, 2),
                "slope_second_half": None if late is None else round(late, 2),
                "growth_pct": round(growth, 1),
                "points": len(points),
                "flat": ok if slope is not None else None,
            }
        )
    detail = (
        f"{len(rows) - len(failed) - len(unjudged)} of {len(rows)} processes flat (slope <= "
        f"{args.max_slope:g} MB/10 min and last <= warm-up + {args.max_growth:g} %, after {args.warmup:g} s)"
    )
    if failed:
        detail += "; growing: " + ", ".join(
            f"{r['process']} {r['slope_mb_per_10min']:+.1f} MB/10min, {r['growth_pct']:+.1f} %"
            for r in rows
            if r["process"] in failed
        )
    if unjudged:
        detail += f"; too few samples after the warm-up for {len(unjudged)} (a longer run is needed)"
    return rows, Check("memory stays flat", not failed and not unjudged and bool(rows), detail)


def restarts_check(samples: list[Sample]) -> Check:
    first = {role: set(pids) for role, pids in samples[0].pids.items()} if samples else {}
    changed = []
    for s in samples[1:]:
        for role, pids in s.pids.items():
            if set(pids) != first.get(role):
                changed.append(f"{role} at t={s.t:.0f}s: {sorted(first.get(role, []))} -> {sorted(pids)}")
                first[role] = set(pids)
    return Check(
        "no process restarted (same gunicorn workers and Celery pool processes throughout)",
        not changed,
        "; ".join(changed[:5])
        or f"{sum(len(p) for p in samples[0].pids.values()) if samples else 0} processes",
    )


def log_problems(text: str) -> list[str]:
    # Django's format ("... ERROR django.request: ..."), gunicorn's ("[ERROR]") and Celery's ("ERROR/").
    markers = (
        "Traceback",
        " ERROR ",
        "[ERROR]",
        ": ERROR/",
        "CRITICAL",
        "WORKER TIMEOUT",
        "raised unexpected",
    )
    return [line for line in text.splitlines() if any(m in line for m in markers)]


def stock_checks() -> list[Check]:
    """The order-intake bench's stock checks, over the whole data set."""
    from django.db.models import F

    from inventory.models import Reservation, StockLevel
    from inventory.selectors import ledger_mismatches

    mismatched = ledger_mismatches()
    oversold = StockLevel.objects.filter(on_hand__lt=F("allocated") + F("soft_reserved")).count()
    negative = StockLevel.objects.filter(on_hand__lt=0).count()
    holds = Reservation.objects.filter(status=Reservation.Status.ACTIVE).count()
    return [
        Check(
            "stock ledger: movement sums == levels",
            not mismatched,
            f"{StockLevel.objects.count()} levels, {len(mismatched)} mismatched {mismatched[:3] or ''}",
        ),
        Check(
            "no oversell: allocated + reserved <= on hand, on hand >= 0",
            not oversold and not negative,
            f"{oversold} levels over-committed, {negative} negative",
        ),
        Check(
            "no stock left on hold (carts expired, placement holds converted or released)",
            holds == 0,
            f"{holds} active reservations",
        ),
    ]


def order_checks(stats: Stats) -> list[Check]:
    """Every order the clients were told about exists once; every live order was routed;
    every shipped parcel's payment was captured."""
    from django.db.models import Exists, OuterRef

    from fulfillment.models import FulfillmentOrder
    from orders.models import Order, Payment

    told = sum(
        stats.endpoints[label].statuses.get(201, 0)
        for label in ("POST /orders/", "POST /carts/{id}/checkout/")
        if label in stats.endpoints
    )
    orders = Order.objects.filter(is_replacement=False).count()
    live_fo = FulfillmentOrder.objects.filter(order=OuterRef("pk")).exclude(
        status=FulfillmentOrder.Status.CANCELLED
    )
    unrouted = Order.objects.filter(status=Order.Status.ALLOCATED).exclude(Exists(live_fo)).count()
    shipped = Order.objects.filter(status__in=[Order.Status.SHIPPED, Order.Status.DELIVERED])
    uncaptured = Payment.objects.filter(order__in=shipped, status=Payment.Status.AUTHORIZED).count()
    return [
        Check(
            "orders: one per 201 answer (nothing lost, nothing doubled)",
            told == orders,
            f"{told} orders answered 201, {orders} in the database",
        ),
        Check(
            "every allocated order was routed to a shipment by the worker",
            unrouted == 0,
            f"{unrouted} allocated orders without a live shipment",
        ),
        Check(
            "every shipped order's payment was captured by the worker",
            uncaptured == 0,
            f"{shipped.count()} shipped/delivered orders, {uncaptured} payments still only authorized",
        ),
    ]


def run_reconcile(env: dict[str, str]) -> tuple[Check, str]:
    done = subprocess.run(
        [sys.executable, "manage.py", "reconcile"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = (done.stdout + done.stderr).strip()
    ok_lines = sum(1 for line in output.splitlines() if line.startswith("ok"))
    detail = f"exit {done.returncode}; {ok_lines} checks ok" + (
        ""
        if done.returncode == 0
        else ": " + " | ".join(ln.strip() for ln in output.splitlines() if "FAIL" in ln)
    )
    return Check("manage.py reconcile passes", done.returncode == 0, detail), output


# --- drain ----------------------------------------------------------------------------------------


def drain(sampler: Sampler, timeout: float) -> tuple[bool, float]:
    """Wait until nothing is due in the outbox, the broker queue is empty and every
    cart hold has expired (the beat task releases them), at most `timeout` s."""
    started = time.monotonic()
    sampler.phase = "drain"
    while True:
        s = sampler.samples[-1] if sampler.samples else None
        fresh = s is not None and s.phase == "drain"
        if fresh and s.outbox_due == 0 and s.queue == 0 and s.reservations == 0:
            return True, time.monotonic() - started
        if time.monotonic() - started > timeout:
            return False, time.monotonic() - started
        time.sleep(1)


# --- report ---------------------------------------------------------------------------------------


def traffic_report(stats: Stats, elapsed: float) -> dict:
    endpoints = {}
    for label, ep in sorted(stats.endpoints.items(), key=lambda kv: -kv[1].count):
        endpoints[label] = {
            "count": ep.count,
            "per_s": round(ep.count / elapsed, 2) if elapsed else None,
            "statuses": {str(k): v for k, v in sorted(ep.statuses.items())},
            "errors": {str(k): v for k, v in sorted(ep.errors.items())},
            "latency_ms": summarize(ep.latencies_ms),
            "first_error_bodies": ep.bodies,
        }
    total = sum(ep.count for ep in stats.endpoints.values())
    buckets = [stats.buckets.get(i, 0) for i in range(int(elapsed // 10) + 1)]
    return {
        "responses": total,
        "responses_per_s": round(total / elapsed, 1) if elapsed else None,
        "errors": stats.error_count(),
        "flows": dict(sorted(stats.flows.items())),
        "responses_per_10s": buckets,
        "errors_per_10s": [stats.error_buckets.get(i, 0) for i in range(len(buckets))],
        "endpoints": endpoints,
    }


def print_summary(result: dict) -> None:
    cfg, traffic = result["config"], result["traffic"]
    print()
    print(
        f"## Soak: {cfg['duration_s']:g} s, {cfg['clients']} storefront clients + {cfg['staff']} staff "
        f"(think {cfg['think_s']:g} s / {cfg['staff_think_s']:g} s); gunicorn -w {cfg['workers']} "
        f"--threads {cfg['threads']}, Celery worker --concurrency {cfg['concurrency']}, beat; "
        f"{result['machine']['cpu_count']} CPUs"
    )
    print()
    print(f"{traffic['responses']} responses, {traffic['responses_per_s']}/s, {traffic['errors']} errors")
    print()
    print("| endpoint | count | /s | p50 ms | p99 ms | max ms | statuses | errors |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for label, ep in traffic["endpoints"].items():
        lat = ep["latency_ms"]
        statuses = " ".join(f"{k}:{v}" for k, v in ep["statuses"].items())
        errors = " ".join(f"{k}:{v}" for k, v in ep["errors"].items()) or "-"
        print(
            f"| {label} | {ep['count']} | {ep['per_s']} | {lat['p50']} | {lat['p99']} | {lat['max']} "
            f"| {statuses} | {errors} |"
        )
    print()
    print("Flows: " + ", ".join(f"{k} {v}" for k, v in traffic["flows"].items()))
    for label, ep in traffic["endpoints"].items():
        for body in ep["first_error_bodies"]:
            print(f"  error {label}: {body['status']} {body['method']} {body['path']}: {body['body'][:300]}")
    print()
    print("Memory (RSS MB; warm-up sample, last, slope per 10 min after the warm-up):")
    print()
    print("| process | first | warm-up | last | max | slope MB/10min | 2nd half | growth % | flat |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in result["memory"]:
        flat = {True: "yes", False: "NO", None: "n/a"}[row["flat"]]
        late = "-" if row["slope_second_half"] is None else row["slope_second_half"]
        print(
            f"| {row['process']} | {row['first_mb']} | {row['warmup_mb']} | {row['last_mb']} "
            f"| {row['max_mb']} | {row['slope_mb_per_10min']} | {late} "
            f"| {row['growth_pct']} | {flat} |"
        )
    print()
    print("Checks:")
    for check in result["checks"]:
        print(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['name']}: {check['detail']}")
    print(f"overall: {'PASS' if result['passed'] else 'FAIL'}")


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    load_before = [round(x, 2) for x in os.getloadavg()]
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    log = {name: RESULTS_DIR / f"soak-{stamp}.{name}.log" for name in ("redis", "gunicorn", "worker", "beat")}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="oms-soak-"))
    try:
        with private_redis(args.redis_port, log["redis"]) as redis_url:
            os.environ["REDIS_URL"] = redis_url
            return soak(
                args,
                stamp=stamp,
                started_at=started_at,
                load_before=load_before,
                log=log,
                scratch=scratch,
                redis_url=redis_url,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def soak(args, *, stamp, started_at, load_before, log, scratch: Path, redis_url: str) -> int:
    env = configure_environment()
    env.update(
        {
            # As in production: the worker does the work through the broker.
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "OMS_QUERY_COUNT_HEADER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(scratch / "mail"),
            "STAFF_DIGEST_EMAILS": "ops@soak.example.com",
        }
    )
    database = Database.from_url(os.environ["DATABASE_URL"])
    print(
        f"database {database.name} on {database.host}:{database.port}: recreating, migrating ...", flush=True
    )
    t0 = time.perf_counter()
    database.recreate()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0, interactive=False)
    migrate_s = time.perf_counter() - t0
    dataset = seed(args)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    connections.close_all()
    print(
        f"  migrated in {migrate_s:.1f} s, seeded {len(dataset.sku_codes)} SKUs in {dataset.seconds:.1f} s; "
        f"redis {redis_url}, e-mail to {scratch / 'mail'}",
        flush=True,
    )

    celery = str(VENV_BIN / "celery")
    stats = Stats()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    sampler: Sampler | None = None
    drained, drain_s, elapsed = False, 0.0, 0.0
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(
            gunicorn(env=env, workers=args.workers, threads=args.threads, log_path=log["gunicorn"])
        )
        worker = stack.enter_context(
            child(
                "celery worker",
                [
                    celery,
                    "-A",
                    "oms",
                    "worker",
                    "-l",
                    "info",
                    "--concurrency",
                    str(args.concurrency),
                    "-n",
                    f"soak-{stamp}@%h",
                ],
                env=env,
                log_path=log["worker"],
            )
        )
        beat = stack.enter_context(
            child(
                "celery beat",
                [celery, "-A", "oms", "beat", "-l", "info", "--schedule", str(scratch / "beat-schedule")],
                env=env,
                log_path=log["beat"],
            )
        )
        wait_for_line(worker, " ready.", 90)
        wait_for_line(beat, "beat: Starting", 60)
        print(
            f"gunicorn on 127.0.0.1:{server.port} (pid {server.process.pid}), "
            f"worker pid {worker.process.pid}, beat pid {beat.process.pid}; "
            f"traffic for {args.duration:g} s ...",
            flush=True,
        )

        procs = {"web": Proc("gunicorn", server.process, log["gunicorn"]), "worker": worker, "beat": beat}
        world = World(
            sku_codes=dataset.sku_codes, final_sale=dataset.final_sale, rng=random.Random(args.seed)
        )
        sampler = Sampler(procs=procs, redis_url=redis_url, stats=stats, interval=args.interval)
        sampling = threading.Thread(target=sampler.loop, name="sampler", daemon=True)
        try:
            stats.started = sampler.t0
            threads = run_traffic(
                port=server.port,
                channel_key=dataset.channel_key,
                staff_token=dataset.staff_token,
                world=world,
                stats=stats,
                stop=stop,
                clients=args.clients,
                staff=args.staff,
                think=args.think,
                staff_think=args.staff_think,
                customers=args.customers,
                carrier_secrets=dataset.carrier_secrets,
                return_share=args.return_share,
                timeout=args.timeout,
            )
            sampling.start()
            deadline = sampler.t0 + args.duration
            while time.monotonic() < deadline:
                dead = [p.name for p in procs.values() if p.process.poll() is not None]
                if dead:
                    raise BenchError(
                        f"{', '.join(dead)} exited during the soak; see {log['gunicorn'].parent}"
                    )
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=args.timeout + 5)
            elapsed = time.monotonic() - sampler.t0
        print(
            f"traffic stopped after {elapsed:.0f} s; draining (at most {args.drain_timeout:g} s) ...",
            flush=True,
        )
        drained, drain_s = drain(sampler, args.drain_timeout)
        sampler.stop.set()
        sampling.join(timeout=30)
        final = sampler.take()
        print(format_sample(final), flush=True)
    print("gunicorn, worker and beat stopped; checking ...", flush=True)

    samples = sampler.samples
    memory, memory_check = memory_verdicts(samples, args)
    traffic = traffic_report(stats, elapsed)
    problems = {
        name: log_problems(log[name].read_text(errors="replace")) for name in ("gunicorn", "worker", "beat")
    }
    reconcile_check, reconcile_output = run_reconcile(env)
    mails = len(list((scratch / "mail").glob("*"))) if (scratch / "mail").exists() else 0
    checks = [
        Check(
            "no errors: every response was one the scenario expected",
            traffic["errors"] == 0,
            f"{traffic['errors']} unexpected of {traffic['responses']} responses",
        ),
        Check(
            "no errors in the gunicorn, worker and beat logs",
            not any(problems.values()),
            "; ".join(f"{k}: {len(v)} lines, e.g. {v[0][:200]!r}" for k, v in problems.items() if v)
            or "no Traceback / ERROR / CRITICAL / worker timeout lines",
        ),
        Check(
            "drained: nothing due in the outbox, broker queue empty, every hold expired",
            drained,
            f"after {drain_s:.0f} s: outbox due {final.outbox_due}, queue {final.queue}, "
            f"holds {final.reservations} (outbox events scheduled later: {final.outbox_future})",
        ),
        Check("no outbox event failed for good", final.outbox_failed == 0, f"{final.outbox_failed} failed"),
        memory_check,
        restarts_check([s for s in samples if s.phase == "traffic"]),
        reconcile_check,
        *stock_checks(),
        *order_checks(stats),
    ]
    connections.close_all()
    result = {
        "benchmark": "soak",
        "started_at": started_at.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m bench.soak", *map(shlex.quote, sys.argv[1:])]),
        "config": {
            "duration_s": args.duration,
            "clients": args.clients,
            "staff": args.staff,
            "think_s": args.think,
            "staff_think_s": args.staff_think,
            "seed": args.seed,
            "skus": args.skus,
            "customers": args.customers,
            "workers": args.workers,
            "threads": args.threads,
            "concurrency": args.concurrency,
            "return_share": args.return_share,
            "cart_ttl_min": args.cart_ttl,
            "interval_s": args.interval,
            "warmup_s": args.warmup,
            "max_slope_mb_per_10min": args.max_slope,
            "max_growth_pct": args.max_growth,
            "database": database.name,
            "redis": redis_url,
            "gunicorn_max_requests": None,
        },
        "machine": {**machine_info(), "load_average_before": load_before, "postgresql": pg_version},
        "setup": {"migrate_s": round(migrate_s, 1), "seed_s": round(dataset.seconds, 1)},
        "traffic": {**traffic, "elapsed_s": round(elapsed, 1)},
        "drain_s": round(drain_s, 1),
        "emails_written": mails,
        "memory": memory,
        "samples": [s.__dict__ for s in samples] + [final.__dict__],
        "log_problems": {k: v[:20] for k, v in problems.items()},
        "reconcile_output": reconcile_output,
        "logs": {k: str(v.relative_to(ROOT)) for k, v in log.items()},
        "checks": [c.__dict__ for c in checks],
        "passed": all(c.ok for c in checks),
    }
    print_series([*samples, final])
    print_summary(result)
    print(f"e-mails written: {mails}; logs: {', '.join(result['logs'].values())}")
    if not args.no_json:
        report_write("soak", result)
    return 0 if result["passed"] else 1


def print_series(samples: list[Sample]) -> None:
    labels = sorted({label for s in samples for label in s.rss})
    short = [lb.replace("gunicorn ", "g-").replace("celery ", "c-") for lb in labels]
    print()
    print("RSS series (MB) every sample:")
    print()
    print("| t s | phase | " + " | ".join(short) + " | outbox due | queue | holds | redis MB |")
    print("|---:|---|" + "---:|" * len(labels) + "---:|---:|---:|---:|")
    for s in samples:
        cells = " | ".join(f"{s.rss[lb]:.1f}" if lb in s.rss else "-" for lb in labels)
        print(
            f"| {s.t:.0f} | {s.phase} | {cells} | {s.outbox_due} | {s.queue} | {s.reservations} "
            f"| {s.redis_mb} |"
        )


if __name__ == "__main__":
    run_main(main, interrupted="interrupted; gunicorn, the worker, beat and redis were stopped.")
