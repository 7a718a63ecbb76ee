"""Order-intake benchmark over HTTP: POST /api/v1/orders/ from many concurrent
clients against gunicorn, on a fresh PostgreSQL database.

    .venv/bin/python -m bench.order_intake                  # 16 clients, 2000 orders
    .venv/bin/python -m bench.order_intake --clients 64
    .venv/bin/python -m bench.order_intake --hot            # one scarce SKU in every order

Steps: (re)create the bench database, migrate, seed (channel BENCH, three
warehouses, N SKUs with stock and prices) in this process; start gunicorn;
warm it up; run the clients; stop gunicorn; verify the database (nothing lost
or doubled, no oversell, stock ledger == levels); print a summary and write
bench/results/order_intake-<timestamp>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shlex
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from bench.common import (
    RESULTS_DIR,
    BenchError,
    Database,
    configure_environment,
    cpu_delta,
    cpu_sample,
    gunicorn,
    machine_info,
    process_children,
    report_write,
    run_main,
    summarize,
)

CHANNEL_CODE = "BENCH"
BENCH_API_KEY = "oms_bench_0123456789abcdefghijklmnopqrstuvwxyz"
HOT_SKU = "BENCH-HOT"
VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}

# (code, city, region, country, latitude, longitude, share of each SKU's stock)
WAREHOUSES = [
    ("BENCH-NJ", "Edison", "NJ", "US", "40.518700", "-74.412100", 0.40),
    ("BENCH-TX", "Dallas", "TX", "US", "32.776700", "-96.797000", 0.35),
    ("BENCH-NV", "Reno", "NV", "US", "39.529600", "-119.813800", 0.25),
]
# Destinations, so that routing sends orders to all three warehouses.
ADDRESSES = [
    ("350 5th Ave", "New York", "NY", "10118", "40.748400", "-73.985700"),
    ("233 S Wacker Dr", "Chicago", "IL", "60606", "41.878900", "-87.635900"),
    ("1 World Way", "Los Angeles", "CA", "90045", "33.941600", "-118.408500"),
    ("1500 Marilla St", "Dallas", "TX", "75201", "32.776700", "-96.797000"),
    ("400 Broad St", "Seattle", "WA", "98109", "47.620500", "-122.349300"),
    ("100 Biscayne Blvd", "Miami", "FL", "33132", "25.774800", "-80.186900"),
    ("1701 Wynkoop St", "Denver", "CO", "80202", "39.753200", "-105.000100"),
    ("1 Boston Pl", "Boston", "MA", "02108", "42.358400", "-71.059800"),
]
TAX_RATES = [("US", "", "0.05000"), ("US", "NY", "0.08875"), ("US", "CA", "0.07250"), ("US", "TX", "0.06250")]
STOCK_PER_SKU = 1_000_000


# --- arguments ----------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.order_intake", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=16, help="concurrent client threads (default 16)")
    p.add_argument(
        "--orders",
        type=int,
        default=None,
        help="orders to POST in the measured phase (default 2000; with --duration, a cap)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="measure for this many seconds instead of a fixed number of orders",
    )
    p.add_argument("--lines", type=int, default=3, help="lines per order (default 3)")
    p.add_argument("--skus", type=int, default=500, help="SKUs in the catalogue (default 500)")
    p.add_argument(
        "--customers",
        type=int,
        default=1000,
        help="distinct customer e-mails the orders are drawn from (default 1000)",
    )
    p.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    p.add_argument(
        "--threads", type=int, default=4, help="threads per gunicorn worker (default 4, gthread only)"
    )
    p.add_argument(
        "--worker-class",
        choices=["gthread", "sync"],
        default="gthread",
        help="gunicorn -k (default gthread; sync: one request at a time per worker, --threads ignored)",
    )
    p.add_argument("--keep-alive", type=int, default=10, help="gunicorn --keep-alive seconds (default 10)")
    p.add_argument("--preload", action="store_true", help="gunicorn --preload: import the app before forking")
    p.add_argument(
        "--gunicorn-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more gunicorn argument, repeatable, e.g. --gunicorn-arg=--max-requests=5000",
    )
    p.add_argument(
        "--conn-max-age",
        type=int,
        default=600,
        help="the server's DB_CONN_MAX_AGE (default 600: every thread keeps one connection for the "
        "whole run, so the CPU of its PostgreSQL backend is measured, see README)",
    )
    p.add_argument(
        "--worker-connections",
        type=int,
        default=None,
        help="gunicorn --worker-connections: connections one worker holds (default 1000)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="unmeasured orders first, to warm every worker (default 2 x clients)",
    )
    p.add_argument(
        "--hot",
        action="store_true",
        help="every order also contains one scarce SKU: some get 409 insufficient_stock",
    )
    p.add_argument(
        "--hot-stock",
        type=int,
        default=None,
        help="units of the hot SKU, spread over the warehouses (default orders / 4)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed for data and orders (default 1)")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request HTTP timeout in seconds")
    p.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    args = p.parse_args(argv)
    if args.worker_class == "sync":
        args.threads = 1
    if args.orders is None:
        args.orders = 1_000_000 if args.duration else 2000
    if args.warmup is None:
        args.warmup = 2 * args.clients
    if args.hot_stock is None:
        args.hot_stock = max(1, args.orders // 4)
    limits = [
        (1 <= args.clients <= 1024, "--clients must be 1..1024"),
        (1 <= args.orders <= 1_000_000, "--orders must be 1..1000000"),
        (args.duration is None or 0 < args.duration <= 3600, "--duration must be 0..3600 s"),
        (1 <= args.lines <= 50, "--lines must be 1..50"),
        (args.lines <= args.skus, "--lines must not exceed --skus"),
        (1 <= args.skus <= 100_000, "--skus must be 1..100000"),
        (args.customers >= 1, "--customers must be positive"),
        (1 <= args.workers <= 64 and 1 <= args.threads <= 256, "--workers 1..64, --threads 1..256"),
        (0 <= args.warmup <= 100_000, "--warmup must be 0..100000"),
        (args.hot_stock >= 1, "--hot-stock must be positive"),
    ]
    for ok, message in limits:
        if not ok:
            p.error(message)
    return args


# --- data set -----------------------------------------------------------------


@dataclass
class Dataset:
    sku_codes: list[str]
    hot_code: str | None
    seconds: float


def seed(args: argparse.Namespace) -> Dataset:
    """The bench catalogue, through the ORM and the stock service (so the
    ledger is right from the first movement)."""
    from django.db import transaction

    from inventory.barcodes import make_ean13
    from inventory.models import SKU, Product, Warehouse
    from inventory.services import stock_receive
    from oms.models import Channel, ChannelToken
    from orders.models import PriceListEntry, TaxRate

    started = time.perf_counter()
    rng = random.Random(args.seed)
    channel = Channel.objects.create(
        code=CHANNEL_CODE,
        name="Benchmark web store",
        kind=Channel.Kind.WEB,
        currency="USD",
        shipping_flat_rate=Decimal("5.00"),
        free_shipping_threshold=Decimal("150.00"),
    )
    ChannelToken.issue(channel=channel, name="bench", raw_key=BENCH_API_KEY)
    TaxRate.objects.bulk_create(
        [TaxRate(country=c, region=r, rate=Decimal(v), name=f"Sales tax {c}{r}") for c, r, v in TAX_RATES]
    )
    warehouses = [
        (Warehouse.objects.create(
            code=code, name=f"Bench DC {city}", kind=Warehouse.Kind.DC, city=city, region=region,
            country=country, latitude=Decimal(lat), longitude=Decimal(lng),
        ), share)
        for code, city, region, country, lat, lng, share in WAREHOUSES
    ]  # fmt: skip
    codes = [f"BENCH-{n:05d}" for n in range(1, args.skus + 1)]
    codes_all = [*codes, HOT_SKU] if args.hot else codes
    products = Product.objects.bulk_create(
        [Product(name=f"Bench product {n}", category="bench") for n in range(1, len(codes_all) + 1)]
    )
    skus = SKU.objects.bulk_create(
        [
            SKU(product=product, code=code, barcode=make_ean13("290", n), name=f"Bench item {code}",
                weight_grams=rng.randint(100, 3000), length_mm=300, width_mm=200, height_mm=100,
                unit_cost=Decimal(rng.randint(100, 2000)) / 100, cost_currency="USD")
            for n, (product, code) in enumerate(zip(products, codes_all, strict=True), start=1)
        ]
    )  # fmt: skip
    PriceListEntry.objects.bulk_create(
        [
            PriceListEntry(channel=channel, sku=sku, unit_price=Decimal(rng.randint(499, 9999)) / 100)
            for sku in skus
        ]
    )
    for sku in skus:
        if sku.code == HOT_SKU:
            spread = _split(args.hot_stock, [1 / len(warehouses)] * len(warehouses))
        else:
            spread = _split(STOCK_PER_SKU, [share for _, share in warehouses])
        with transaction.atomic():
            for (warehouse, _), quantity in zip(warehouses, spread, strict=True):
                if quantity:
                    stock_receive(
                        warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=quantity, reference="bench-seed"
                    )
    return Dataset(
        sku_codes=codes, hot_code=HOT_SKU if args.hot else None, seconds=time.perf_counter() - started
    )


def _split(total: int, shares: list[float]) -> list[int]:
    parts = [int(total * s) for s in shares]
    parts[0] += total - sum(parts)
    return parts


# --- load ---------------------------------------------------------------------


@dataclass
class Sample:
    key: str
    status: int  # 0: no HTTP response (connection failed after retries)
    seconds: float
    queries: int | None
    db_ms: float | None
    error_code: str = ""
    hot: bool = False
    retries: int = 0
    client: int = -1


@dataclass
class Plan:
    """What the clients send; shared by all threads."""

    port: int
    prefix: str
    sku_codes: list[str]
    hot_code: str | None
    lines: int
    customers: int
    seed: int
    timeout: float
    stop: threading.Event = field(default_factory=threading.Event)

    def payload(self, rng: random.Random, *, with_hot: bool) -> dict:
        picks = rng.sample(self.sku_codes, self.lines - (1 if with_hot else 0))
        lines = [{"sku": code, "quantity": rng.randint(1, 3)} for code in picks]
        if with_hot:
            lines.insert(rng.randrange(len(lines) + 1), {"sku": self.hot_code, "quantity": 1})
        n = rng.randrange(self.customers)
        line1, city, region, postal, lat, lng = rng.choice(ADDRESSES)
        return {
            "currency": "USD",
            "customer": {"email": f"customer{n}@bench.example.com", "first_name": "Bench",
                         "last_name": f"Customer {n}"},
            "shipping_address": {"name": f"Bench Customer {n}", "line1": line1, "city": city,
                                 "region": region, "postal_code": postal, "country": "US",
                                 "latitude": lat, "longitude": lng},
            "lines": lines,
            "payment": {"gateway": "test", "card": dict(VISA)},
        }  # fmt: skip


class Client:
    """One simulated channel client: a thread with one keep-alive connection."""

    RETRIES = 3

    def __init__(self, plan: Plan, index: int) -> None:
        self.plan = plan
        self.index = index
        self.rng = random.Random(plan.seed * 1_000_003 + index)
        self.conn: http.client.HTTPConnection | None = None
        self.samples: list[Sample] = []
        self.headers = {
            "Authorization": f"Bearer {BENCH_API_KEY}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post_order(self, key: str, *, with_hot: bool) -> Sample:
        body = json.dumps(self.plan.payload(self.rng, with_hot=with_hot)).encode()
        headers = {**self.headers, "Idempotency-Key": key}
        started = time.perf_counter()
        for attempt in range(self.RETRIES + 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.plan.port, timeout=self.plan.timeout)
            try:
                self.conn.request("POST", "/api/v1/orders/", body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError):
                # The server closed the kept-alive connection (or it broke): reconnect
                # and resend with the same Idempotency-Key, which makes that safe.
                self.close()
                if attempt == self.RETRIES or self.plan.stop.is_set():
                    elapsed = time.perf_counter() - started
                    return Sample(key, status=0, seconds=elapsed, queries=None, db_ms=None,
                                  error_code="connection_error", hot=with_hot, retries=attempt)  # fmt: skip
                continue
            elapsed = time.perf_counter() - started
            if response.will_close:
                self.close()
            queries = response.getheader("X-DB-Queries")
            db_ms = response.getheader("X-DB-Time-Ms")
            code = ""
            if response.status >= 400:
                try:
                    code = json.loads(data)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = "unparsed"
            elif response.status == 200 and response.getheader("Idempotent-Replayed") == "true":
                code = "replayed"
            return Sample(key, status=response.status, seconds=elapsed,
                          queries=int(queries) if queries else None, db_ms=float(db_ms) if db_ms else None,
                          error_code=code, hot=with_hot, retries=attempt)  # fmt: skip
        raise AssertionError("unreachable")


def run_phase(
    plan: Plan, *, clients: int, total: int, key_format: str, hot: bool, duration: float | None = None
) -> tuple[list[Sample], float]:
    """`clients` threads POST orders until `total` are sent (or `duration` runs out)."""
    counter = itertools.count()
    lock = threading.Lock()
    start_line = threading.Barrier(clients + 1)
    workers = [Client(plan, i) for i in range(clients)]
    deadline: list[float] = [float("inf")]

    def next_index() -> int | None:
        with lock:
            i = next(counter)
        if i >= total or plan.stop.is_set() or time.perf_counter() >= deadline[0]:
            return None
        return i

    def loop(client: Client) -> None:
        try:
            start_line.wait(timeout=60)
            while (i := next_index()) is not None:
                sample = client.post_order(key_format.format(i), with_hot=hot)
                sample.client = client.index
                client.samples.append(sample)
        except threading.BrokenBarrierError:
            pass
        finally:
            client.close()

    threads = [
        threading.Thread(target=loop, args=(c,), name=f"client-{n}", daemon=True)
        for n, c in enumerate(workers)
    ]
    for t in threads:
        t.start()
    try:
        start_line.wait(timeout=60)
        started = time.perf_counter()
        if duration:
            deadline[0] = started + duration
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.5)
        elapsed = time.perf_counter() - started
    except BaseException:
        plan.stop.set()
        start_line.abort()
        for t in threads:
            t.join(timeout=plan.timeout + 5)
        raise
    return [s for c in workers for s in c.samples], elapsed


# --- checks -------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def verify(prefix: str, samples: list[Sample], hot_code: str | None, expected_lines: int) -> list[Check]:
    """Read the database after the run: every 2xx is exactly one order, stock is
    consistent with the ledger and with the orders, and nothing is oversold."""
    from orders.models import IdempotencyKey, Order

    checks: list[Check] = []
    ok_keys = {s.key for s in samples if s.status in (200, 201)}
    created = sum(1 for s in samples if s.status == 201)
    # The service may namespace the stored key (e.g. "key:<Idempotency-Key>"): match on the run's prefix.
    keys = IdempotencyKey.objects.filter(channel__code=CHANNEL_CODE, key__contains=prefix)
    bound = {k[k.index(prefix) :] for k in keys.filter(order__isnull=False).values_list("key", flat=True)}
    dangling = keys.filter(order__isnull=True).count()
    orders = Order.objects.filter(channel__code=CHANNEL_CODE)
    order_count = orders.count()
    checks.append(Check(
        "orders: one per successful response",
        bound == ok_keys and order_count == len(ok_keys),
        f"{created} responses 201 ({len(ok_keys)} keys answered 200/201), {len(bound)} keys bound to an "
        f"order, {order_count} orders in the channel",
    ))  # fmt: skip
    checks.append(
        Check("idempotency: no claim left without an order", dangling == 0, f"{dangling} dangling claims")
    )
    checks += stock_checks(expected_lines)
    if hot_code:
        checks.append(hot_check(hot_code, samples))
    return checks


def stock_checks(expected_lines: int) -> list[Check]:
    """The database's own consistency after a run: complete, fully allocated
    orders; stock ledger == levels; no oversell; allocations == order lines; no
    hold left. Shared with the pgbench baseline (bench.pgbench)."""
    from django.db.models import Count, F, Sum

    from inventory.models import Reservation, StockLevel, StockMovement
    from orders.models import OrderLine

    checks: list[Check] = []
    lines = OrderLine.objects.filter(order__channel__code=CHANNEL_CODE)
    per_order = lines.values("order_id").annotate(n=Count("id")).values_list("n", flat=True)
    line_counts = Counter(per_order)
    short = lines.exclude(quantity_allocated=F("quantity")).count()
    checks.append(
        Check(
            "orders: every order has all its lines, fully allocated",
            set(line_counts) <= {expected_lines} and short == 0,
            f"orders by line count: {dict(line_counts)}, {short} lines not fully allocated",
        )
    )

    # Stock: ledger sums == levels, for every (sku, warehouse) of the bench.
    sums = {
        (r["sku_id"], r["warehouse_id"]): (r["oh"], r["al"], r["rs"])
        for r in StockMovement.objects.values("sku_id", "warehouse_id").annotate(
            oh=Sum("on_hand_delta"), al=Sum("allocated_delta"), rs=Sum("reserved_delta"))
    }  # fmt: skip
    levels = {
        (lv.sku_id, lv.warehouse_id): lv for lv in StockLevel.objects.select_related("sku").order_by("id")
    }
    mismatched = [
        key for key in set(sums) | set(levels)
        if key not in levels or key not in sums
        or sums[key] != (levels[key].on_hand, levels[key].allocated, levels[key].soft_reserved)
    ]  # fmt: skip
    touched = {(sku, wh) for sku, wh in sums if sums[(sku, wh)][1]}
    checks.append(
        Check(
            "stock ledger: movement sums == levels",
            not mismatched,
            f"{len(levels)} levels checked ({len(touched)} touched by orders), "
            f"{len(mismatched)} mismatched{': ' + str(mismatched[:5]) if mismatched else ''}",
        )
    )
    oversold = [lv for lv in levels.values() if lv.on_hand < 0 or lv.available < 0]
    checks.append(
        Check(
            "no oversell: allocated + reserved <= on hand, available >= 0",
            not oversold,
            f"{len(oversold)} levels oversold",
        )
    )
    allocated_by_lines = {
        (r["sku_id"], r["warehouse_id"]): r["q"]
        for r in lines.values("sku_id", "warehouse_id").annotate(q=Sum("quantity_allocated"))
    }
    wrong = [key for key, lv in levels.items() if lv.allocated != allocated_by_lines.get(key, 0)]
    checks.append(
        Check("allocated == sum of the orders' allocated lines", not wrong, f"{len(wrong)} levels differ")
    )
    active = Reservation.objects.filter(status=Reservation.Status.ACTIVE).count()
    checks.append(
        Check(
            "no stock left on hold (placement holds converted or released)",
            active == 0,
            f"{active} active reservations",
        )
    )
    return checks


def hot_check(hot_code: str, samples: list[Sample]) -> Check:
    from inventory.models import StockLevel

    hot = list(StockLevel.objects.filter(sku__code=hot_code))
    on_hand = sum(lv.on_hand for lv in hot)
    allocated = sum(lv.allocated for lv in hot)
    sold = sum(1 for s in samples if s.hot and s.status in (200, 201))
    refused = sum(1 for s in samples if s.error_code == "insufficient_stock")
    sold_out = allocated == on_hand
    return Check(
        "hot SKU: allocated == orders that got it, never above on hand",
        allocated == sold and allocated <= on_hand and (refused == 0 or sold_out),
        f"on hand {on_hand}, allocated {allocated}, orders with it {sold}, refused {refused}, "
        f"{'sold out' if sold_out else f'{on_hand - allocated} left'}",
    )


# --- CPU ----------------------------------------------------------------------


class CpuMeter:
    """CPU time (user + system) of the web server (gunicorn master and workers),
    of the PostgreSQL backends connected to the bench database, and of this
    client process, between start() and stop(). Backends are sampled through
    /proc, so they must outlive the phase: the server keeps its connections
    (DB_CONN_MAX_AGE, --conn-max-age); a backend that ends in between is
    reported as lost (its CPU after the first sample is missing)."""

    def __init__(self, master_pid: int, database: Database) -> None:
        self.master_pid = master_pid
        self.database = database

    def _web_pids(self) -> list[int]:
        return [self.master_pid, *process_children(self.master_pid)]

    def _db_pids(self) -> list[int]:
        import psycopg

        db = self.database
        with psycopg.connect(
            host=db.host, port=db.port, user=db.user, password=db.password or None, dbname=db.name,
            autocommit=True, connect_timeout=5,
        ) as conn:  # fmt: skip
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchall()
        return [pid for (pid,) in rows]

    def _sample(self) -> dict:
        self.db_pids = set(self._db_pids()) | getattr(self, "db_pids", set())
        times = os.times()
        return {
            "web": cpu_sample(self._web_pids()),
            "db": cpu_sample(sorted(self.db_pids)),
            "client": times.user + times.system,
        }

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict:
        after = self._sample()
        return {
            "web": cpu_delta(self.before["web"], after["web"]),
            "db": cpu_delta(self.before["db"], after["db"]),
            "client": {"seconds": round(after["client"] - self.before["client"], 3)},
        }


def cpu_report(cpu: dict, samples: list[Sample]) -> dict:
    """CPU ms per created order (and per response: with --hot most are cheap 409s)."""
    created = sum(1 for s in samples if s.status == 201)
    out: dict = {"seconds": cpu}
    for basis, n in (("ms_per_order", created), ("ms_per_response", len(samples))):
        if n:
            per = {part: round(cpu[part]["seconds"] * 1000 / n, 2) for part in ("web", "db", "client")}
            per["web_plus_db"] = round(per["web"] + per["db"], 2)
            out[basis] = per
    return out


# --- report -------------------------------------------------------------------


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def report(samples: list[Sample], elapsed: float) -> dict:
    created = [s for s in samples if s.status == 201]
    statuses = Counter(s.status for s in samples)
    codes = Counter(f"{s.status} {s.error_code}" for s in samples if s.status not in (200, 201))
    by_status: dict[str, dict] = {}
    for status in sorted(statuses):
        chosen = [s for s in samples if s.status == status]
        by_status[str(status)] = {
            "count": len(chosen),
            "latency_ms": summarize([s.seconds * 1000 for s in chosen]),
            "queries": summarize([s.queries for s in chosen if s.queries is not None], 2),
        }
    return {
        "attempted": len(samples),
        "created_201": len(created),
        "replayed_200": statuses.get(200, 0),
        "conflict_409_insufficient_stock": sum(1 for s in samples if s.error_code == "insufficient_stock"),
        "conflict_409_other": sum(
            1 for s in samples if s.status == 409 and s.error_code != "insufficient_stock"
        ),
        "other_errors_by_status": {k: v for k, v in sorted(codes.items()) if not k.startswith("409 ")},
        "connection_retries": sum(s.retries for s in samples),
        "elapsed_s": round(elapsed, 3),
        "orders_per_s": round(len(created) / elapsed, 1) if elapsed else None,
        "responses_per_s": round(len(samples) / elapsed, 1) if elapsed else None,
        "latency_ms": summarize([s.seconds * 1000 for s in created]),
        "latency_ms_all_responses": summarize([s.seconds * 1000 for s in samples]),
        "queries_per_order": summarize([s.queries for s in created if s.queries is not None], 2),
        "db_ms_per_order": summarize([s.db_ms for s in created if s.db_ms is not None], 2),
        "by_status": by_status,
        # Fairness: how evenly the server served the clients' connections.
        "per_client": {
            "responses": summarize(list(Counter(s.client for s in samples).values()), 0),
            "mean_latency_ms": summarize(
                [sum(v) / len(v) * 1000 for v in _group(samples, lambda s: s.client, lambda s: s.seconds)]
            ),
        },
    }


def _group(items, key, value) -> list[list]:
    groups: dict = {}
    for item in items:
        groups.setdefault(key(item), []).append(value(item))
    return list(groups.values())


def print_summary(result: dict) -> None:
    cfg, res = result["config"], result["results"]
    lat, q, db = res["latency_ms"], res["queries_per_order"], res["db_ms_per_order"]

    def ms(v):
        return "-" if v is None else f"{v:.1f}"

    print()
    machine = result["machine"]
    print(
        f"Order intake: {cfg['clients']} clients, {cfg['lines']} lines/order"
        f"{', hot SKU' if cfg['hot'] else ''}; gunicorn -w {cfg['workers']} -k {cfg['worker_class']} "
        f"--threads {cfg['threads']}; {machine['cpu_count']} CPUs, PostgreSQL {machine['postgresql']}"
    )
    print(f"  attempted          {res['attempted']}")
    print(f"  created (201)      {res['created_201']}")
    if cfg["hot"] or res["conflict_409_insufficient_stock"]:
        print(f"  409 insufficient   {res['conflict_409_insufficient_stock']}")
    print(f"  409 other          {res['conflict_409_other']}")
    print(f"  other errors       {res['other_errors_by_status'] or 0}")
    print(f"  elapsed            {res['elapsed_s']:.2f} s")
    print(f"  orders/s           {res['orders_per_s']}   (all responses/s {res['responses_per_s']})")
    print(
        f"  latency ms (201)   p50 {ms(lat['p50'])}  p90 {ms(lat['p90'])}  p99 {ms(lat['p99'])}  "
        f"max {ms(lat['max'])}  mean {ms(lat['mean'])}"
    )
    if cfg["hot"]:
        c409 = res["by_status"].get("409", {}).get("latency_ms", {})
        print(f"  latency ms (409)   p50 {ms(c409.get('p50'))}  p99 {ms(c409.get('p99'))}")
    print(
        f"  SQL queries/order  mean {q['mean']}  p50 {q['p50']}  max {q['max']}   "
        f"(DB time/order mean {ms(db['mean'])} ms, p50 {ms(db['p50'])} ms)"
    )
    fair = res["per_client"]
    per_latency = fair["mean_latency_ms"]
    print(
        f"  per client         responses min {fair['responses']['min']} / max {fair['responses']['max']}, "
        f"mean latency min {ms(per_latency['min'])} / max {ms(per_latency['max'])} ms"
    )
    cpu = res.get("cpu", {})
    if "ms_per_order" in cpu:
        per, secs = cpu["ms_per_order"], cpu["seconds"]
        print(
            f"  CPU ms/order       web {per['web']}  db {per['db']}  client {per['client']}   "
            f"(db backends {secs['db']['processes']}, new {secs['db']['started']}, lost {secs['db']['lost']})"
        )
    print("  checks:")
    for check in result["checks"]:
        print(f"    {'PASS' if check['ok'] else 'FAIL'}  {check['name']}: {check['detail']}")
    print(f"  overall: {'PASS' if result['passed'] else 'FAIL'}")


# --- main -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    load_before = [round(x, 2) for x in os.getloadavg()]
    server_env = configure_environment()
    server_env["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
    database = Database.from_url(os.environ["DATABASE_URL"])

    where = f"{database.name} on {database.host}:{database.port}"
    print(f"database {where}: recreating, migrating ...", flush=True)
    t0 = time.perf_counter()
    database.recreate()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    migrate_s = time.perf_counter() - t0
    dataset = seed(args)
    pg_version = postgres_version()
    connections.close_all()
    print(
        f"  migrated in {migrate_s:.1f} s; seeded {len(dataset.sku_codes)} SKUs x {len(WAREHOUSES)} "
        f"warehouses{' + hot SKU (' + str(args.hot_stock) + ' units)' if args.hot else ''} "
        f"in {dataset.seconds:.1f} s",
        flush=True,
    )

    run_id = stamp.lower()
    prefix = f"bench-{run_id}-"
    log_path = RESULTS_DIR / f"order_intake-{stamp}.gunicorn.log"
    with gunicorn(
        env=server_env,
        workers=args.workers,
        threads=args.threads,
        log_path=log_path,
        worker_connections=args.worker_connections,
        worker_class=args.worker_class,
        keep_alive=args.keep_alive,
        preload=args.preload,
        extra_args=args.gunicorn_arg,
    ) as server:
        plan = Plan(
            port=server.port,
            prefix=prefix,
            sku_codes=dataset.sku_codes,
            hot_code=dataset.hot_code,
            lines=args.lines,
            customers=args.customers,
            seed=args.seed,
            timeout=args.timeout,
        )
        print(
            f"gunicorn on 127.0.0.1:{server.port} (-w {args.workers} -k {args.worker_class} "
            f"--threads {args.threads}); "
            f"warm-up: {args.warmup} orders ...",
            flush=True,
        )
        warm, _ = run_phase(
            plan, clients=args.clients, total=args.warmup, key_format=prefix + "w{:06d}", hot=False
        )
        bad = [s for s in warm if s.status != 201]
        if bad:
            raise BenchError(
                f"warm-up: {len(bad)} of {len(warm)} orders failed, e.g. status {bad[0].status} "
                f"{bad[0].error_code}\n{server.log_tail()}"
            )
        what = f"for {args.duration:g} s" if args.duration else f"{args.orders} orders"
        print(f"measuring: {args.clients} clients, {what} ...", flush=True)
        meter = CpuMeter(server.process.pid, database)
        meter.start()
        samples, elapsed = run_phase(
            plan,
            clients=args.clients,
            total=args.orders,
            key_format=prefix + "{:07d}",
            hot=args.hot,
            duration=args.duration,
        )
        cpu = meter.stop()

    checks = verify(prefix, [*warm, *samples], dataset.hot_code, args.lines)
    result = {
        "benchmark": "order_intake",
        "started_at": started_at.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m bench.order_intake", *map(shlex.quote, sys.argv[1:])]),
        "config": {
            "clients": args.clients, "orders": args.orders, "duration_s": args.duration, "lines": args.lines,
            "skus": args.skus, "customers": args.customers, "hot": args.hot,
            "hot_stock": args.hot_stock if args.hot else None, "warmup_orders": args.warmup,
            "workers": args.workers, "threads": args.threads, "worker_class": args.worker_class,
            "worker_connections": args.worker_connections, "keep_alive": args.keep_alive,
            "preload": args.preload, "gunicorn_args": args.gunicorn_arg, "conn_max_age": args.conn_max_age,
            "seed": args.seed,
            "database": database.name,
        },
        "machine": {**machine_info(), "load_average_before": load_before, "postgresql": pg_version},
        "setup": {"migrate_s": round(migrate_s, 1), "seed_s": round(dataset.seconds, 1)},
        "results": {**report(samples, elapsed), "cpu": cpu_report(cpu, samples)},
        "checks": [c.__dict__ for c in checks],
        "passed": all(c.ok for c in checks),
    }  # fmt: skip
    print_summary(result)
    if not args.no_json:
        report_write("order_intake", result)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    run_main(main, interrupted="interrupted; the server was stopped.")
