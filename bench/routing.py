"""Routing benchmark: `python -m bench.routing [--orders 10000] [--locations 20] [--db-orders 2000]`.

Recreates a bench database (its name must contain 'bench'), seeds 20
shipping locations (DCs and stores across the US) with stock of 300 SKUs
(each location stocks ~70% of them), the demo's two carriers with their rate
tables, and N three-line orders waiting to be sourced, with destinations
spread over 40 US cities. Then, on that data set:

1. the sourcing engine alone, per order (fulfillment.sourcing.engine.source
   with a preloaded rate book and stock snapshot: what routing costs in
   Python once the data is read): orders/s, p50/p99 per order, plans and
   rate quotes per order;
2. the whole service, per order (fulfillment.sourcing.services.order_source:
   read the order and candidates, decide, lock, move the allocation, write
   the shipments and the decision record) for the first --db-orders orders:
   orders/s, p50/p99, SQL statements per order;
3. checks: every sourced order's allocation equals its shipments' lines, no
   stock level below zero, and levels equal the ledger (reconcile).

Prints the figures and PASS/FAIL checks, writes JSON to bench/results/, and
exits 1 when a check failed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from bench.common import Database, configure_environment, machine_info, measured, report_write, summarize

CITIES = [
    ("New York", "NY", 40.7128, -74.0060),
    ("Los Angeles", "CA", 34.0522, -118.2437),
    ("Chicago", "IL", 41.8781, -87.6298),
    ("Houston", "TX", 29.7604, -95.3698),
    ("Phoenix", "AZ", 33.4484, -112.0740),
    ("Philadelphia", "PA", 39.9526, -75.1652),
    ("San Antonio", "TX", 29.4241, -98.4936),
    ("San Diego", "CA", 32.7157, -117.1611),
    ("Dallas", "TX", 32.7767, -96.7970),
    ("San Jose", "CA", 37.3382, -121.8863),
    ("Austin", "TX", 30.2672, -97.7431),
    ("Jacksonville", "FL", 30.3322, -81.6557),
    ("Columbus", "OH", 39.9612, -82.9988),
    ("Charlotte", "NC", 35.2271, -80.8431),
    ("Indianapolis", "IN", 39.7684, -86.1581),
    ("Seattle", "WA", 47.6062, -122.3321),
    ("Denver", "CO", 39.7392, -104.9903),
    ("Boston", "MA", 42.3601, -71.0589),
    ("Nashville", "TN", 36.1627, -86.7816),
    ("Detroit", "MI", 42.3314, -83.0458),
    ("Portland", "OR", 45.5152, -122.6784),
    ("Las Vegas", "NV", 36.1699, -115.1398),
    ("Memphis", "TN", 35.1495, -90.0490),
    ("Louisville", "KY", 38.2527, -85.7585),
    ("Baltimore", "MD", 39.2904, -76.6122),
    ("Milwaukee", "WI", 43.0389, -87.9065),
    ("Albuquerque", "NM", 35.0844, -106.6504),
    ("Tucson", "AZ", 32.2226, -110.9747),
    ("Fresno", "CA", 36.7378, -119.7871),
    ("Sacramento", "CA", 38.5816, -121.4944),
    ("Atlanta", "GA", 33.7490, -84.3880),
    ("Miami", "FL", 25.7617, -80.1918),
    ("Minneapolis", "MN", 44.9778, -93.2650),
    ("Tulsa", "OK", 36.1540, -95.9928),
    ("Cleveland", "OH", 41.4993, -81.6944),
    ("New Orleans", "LA", 29.9511, -90.0715),
    ("Pittsburgh", "PA", 40.4406, -79.9959),
    ("Salt Lake City", "UT", 40.7608, -111.8910),
    ("Kansas City", "MO", 39.0997, -94.5786),
    ("Raleigh", "NC", 35.7796, -78.6382),
]


def seed_network(
    *,
    locations: int,
    skus: int,
    rng: random.Random,
    prefix: str = "B",
    stock: Callable[[int], tuple[float, int, int]] = lambda n: (0.7, 5, 200),
) -> tuple:
    """A bench channel and customer, the demo carriers, a default policy,
    `locations` shipping locations at US cities (every fourth a store),
    `skus` SKUs, and opening stock with its receipts: SKU number n is stocked
    at a location with probability p, randint(lo, hi) units, where
    stock(n) = (p, lo, hi). Returns (channel, customer, warehouses, skus, levels)."""
    from customers.models import Customer
    from fulfillment.models import LocationPolicy, SourcingPolicy
    from inventory.models import SKU, Product, StockLevel, StockMovement, Warehouse
    from oms.demo.fulfillment import seed_carriers
    from oms.models import Channel

    channel = Channel.objects.create(code="BENCH", name="Bench", kind="web", currency="USD")
    customer = Customer.objects.create(channel=channel, email="bench@example.com")
    seed_carriers()
    SourcingPolicy.objects.create(channel=None, max_shipments=2)
    sites = rng.sample(CITIES, locations)
    warehouses = Warehouse.objects.bulk_create(
        [
            Warehouse(
                code=f"LOC-{i:02d}",
                name=f"{city} {'store' if i % 4 == 3 else 'DC'}",
                kind=Warehouse.Kind.STORE if i % 4 == 3 else Warehouse.Kind.DC,
                city=city,
                region=region,
                country="US",
                latitude=Decimal(f"{lat:.6f}"),
                longitude=Decimal(f"{lng:.6f}"),
            )
            for i, (city, region, lat, lng) in enumerate(sites)
        ]
    )
    LocationPolicy.objects.bulk_create([LocationPolicy(warehouse=w, priority=0) for w in warehouses])
    product = Product.objects.create(name="Bench product")
    digit = "2" if prefix == "B" else "3"
    sku_rows = SKU.objects.bulk_create(
        [
            SKU(
                product=product,
                code=f"{prefix}-{n:05d}",
                barcode=f"{digit}{n:011d}",
                name=f"Bench item {n}",
                weight_grams=rng.choice([150, 300, 600, 1200]),
                length_mm=rng.choice([200, 300, 400]),
                width_mm=rng.choice([150, 200]),
                height_mm=rng.choice([30, 80, 150]),
                unit_cost=Decimal("5.00"),
                cost_currency="USD",
            )
            for n in range(skus)
        ]
    )
    levels, movements = [], []
    for w in warehouses:
        for n, s in enumerate(sku_rows):
            p, lo, hi = stock(n)
            qty = rng.randint(lo, hi) if rng.random() < p else 0
            if qty:
                levels.append(StockLevel(sku=s, warehouse=w, on_hand=qty))
                movements.append(
                    StockMovement(
                        sku=s, warehouse=w, kind="receipt", on_hand_delta=qty, reference="bench-seed"
                    )
                )
    StockLevel.objects.bulk_create(levels, batch_size=5000)
    StockMovement.objects.bulk_create(movements, batch_size=5000)
    return channel, customer, warehouses, sku_rows, levels


def bench_order(rng: random.Random, channel, customer, **fields):
    """A waiting (backordered) order to a random one of the 40 cities, near its centre."""
    from orders.models import Order

    city, region, lat, lng = rng.choice(CITIES)
    address = {
        "name": "Bench Customer",
        "line1": "1 Main St",
        "city": city,
        "region": region,
        "country": "US",
        "latitude": f"{lat + rng.uniform(-0.3, 0.3):.4f}",
        "longitude": f"{lng + rng.uniform(-0.3, 0.3):.4f}",
    }
    return Order(
        channel=channel,
        status=Order.Status.BACKORDERED,
        customer=customer,
        email=customer.email,
        shipping_address=address,
        ship_country="US",
        currency="USD",
        subtotal=Decimal("30"),
        grand_total=Decimal("30"),
        **fields,
    )


def seed(*, orders: int, locations: int, skus: int, rng: random.Random) -> dict:
    from orders.models import Order, OrderLine

    started = time.perf_counter()
    channel, customer, warehouses, sku_rows, levels = seed_network(locations=locations, skus=skus, rng=rng)
    now = datetime.now(UTC)
    order_rows = [bench_order(rng, channel, customer, placed_at=now) for _ in range(orders)]
    order_rows = Order.objects.bulk_create(order_rows, batch_size=2000)
    lines = []
    for order in order_rows:
        for number, sku in enumerate(rng.sample(sku_rows, 3), start=1):
            lines.append(
                OrderLine(
                    order=order,
                    line_number=number,
                    sku=sku,
                    quantity=rng.randint(1, 3),
                    unit_price=Decimal("10"),
                    line_total=Decimal("10"),
                    unit_cost=Decimal("5"),
                )
            )
    OrderLine.objects.bulk_create(lines, batch_size=5000)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "locations": len(warehouses),
        "skus": len(sku_rows),
        "stock_levels": len(levels),
        "orders": len(order_rows),
        "order_ids": [o.pk for o in order_rows],
    }


def engine_only(order_ids: list[int]) -> dict:
    """The engine per order on a stock snapshot read once (no SQL per order)."""
    from django.utils import timezone

    from fulfillment.rates import RateBook
    from fulfillment.sourcing import engine
    from fulfillment.sourcing.candidates import make_rater, policy_for, settings_for
    from inventory.models import SKU, StockLevel, Warehouse
    from oms.geo import resolve_destination
    from orders.models import Order, OrderLine

    book = RateBook.load()
    warehouses = {w.pk: w for w in Warehouse.objects.all()}
    skus = SKU.objects.in_bulk()
    stock: dict[int, dict[int, int]] = {wh: {} for wh in warehouses}
    for sku_id, wh, on_hand, allocated, reserved in StockLevel.objects.values_list(
        "sku_id", "warehouse_id", "on_hand", "allocated", "soft_reserved"
    ):
        stock[wh][sku_id] = on_hand - allocated - reserved
    orders = Order.objects.in_bulk(order_ids)
    lines_by_order: dict[int, list] = {}
    for line in OrderLine.objects.filter(order_id__in=order_ids).order_by("order_id", "line_number"):
        lines_by_order.setdefault(line.order_id, []).append(line)
    policy = policy_for(next(iter(orders.values())).channel_id)
    now = timezone.now()
    timings, plans, quotes = [], 0, 0
    started = time.perf_counter()
    for order_id in order_ids:
        t0 = time.perf_counter()
        order = orders[order_id]
        needs = [
            engine.LineNeed(ln.pk, ln.sku_id, skus[ln.sku_id].code, ln.quantity)
            for ln in lines_by_order[order_id]
        ]
        point = resolve_destination(order.shipping_address).point
        locations = [
            engine.Location(
                id=wh,
                code=w.code,
                is_store=w.kind == "store",
                point=(float(w.latitude), float(w.longitude)),
                country=w.country,
                stock=stock[wh],
                ready_at=now,
                distance_km=engine.distance((float(w.latitude), float(w.longitude)), point),
            )
            for wh, w in warehouses.items()
        ]
        settings = settings_for(order, policy)
        calls = 0
        inner = make_rater(
            book=book,
            warehouses=warehouses,
            skus=skus,
            destination_address=order.shipping_address,
            settings=settings,
        )

        def rate(loc, lines, inner=inner):
            nonlocal calls
            calls += 1
            return inner(loc, lines)

        rate.floor = inner.floor  # lets the engine skip plans that cannot win

        result = engine.source(needs, locations, settings, rate)
        timings.append((time.perf_counter() - t0) * 1000)
        plans += len(result.plans)
        quotes += calls
    seconds = time.perf_counter() - started
    return {
        "orders": len(order_ids),
        "seconds": round(seconds, 2),
        "orders_per_second": round(len(order_ids) / seconds, 1),
        "ms_per_order": summarize(timings, 3),
        "plans_per_order": round(plans / len(order_ids), 1),
        "rated_shipments_per_order": round(quotes / len(order_ids), 1),
    }


def whole_service(order_ids: list[int]) -> dict:
    from fulfillment.models import SourcingDecision
    from fulfillment.rates import RateBook
    from fulfillment.sourcing.services import order_source
    from oms.actors import Actor

    book = RateBook.load()
    actor = Actor.system()
    timings, statements = [], []
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for order_id in order_ids:
        with measured() as m:
            decision = order_source(order_id=order_id, actor=actor, trigger="bench", book=book)
        timings.append(m.seconds * 1000)
        statements.append(m.statements)
        outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1
    seconds = time.perf_counter() - started
    assert SourcingDecision.objects.count() >= len(order_ids)
    return {
        "orders": len(order_ids),
        "seconds": round(seconds, 2),
        "orders_per_second": round(len(order_ids) / seconds, 1),
        "ms_per_order": summarize(timings, 2),
        "sql_statements_per_order": summarize(statements, 1),
        "outcomes": outcomes,
    }


def allocations_by_order(order_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Units each order's lines hold allocated, and units its live shipments carry."""
    from django.db.models import Sum

    from fulfillment.models import FulfillmentOrderLine
    from orders.models import OrderLine

    allocated = dict(
        OrderLine.objects.filter(order_id__in=order_ids)
        .values("order_id")
        .annotate(n=Sum("quantity_allocated"))
        .values_list("order_id", "n")
    )
    shipped = dict(
        FulfillmentOrderLine.objects.filter(fulfillment_order__order_id__in=order_ids)
        .exclude(fulfillment_order__status="cancelled")
        .values("fulfillment_order__order_id")
        .annotate(n=Sum("quantity"))
        .values_list("fulfillment_order__order_id", "n")
    )
    return allocated, shipped


def stock_checks() -> dict[str, bool]:
    """No availability below zero, and the stock levels equal their ledger."""
    from django.db.models import F

    from inventory.models import StockLevel
    from inventory.selectors import ledger_mismatches

    return {
        "no stock level below zero available": not StockLevel.objects.filter(
            on_hand__lt=F("allocated") + F("soft_reserved")
        ).exists(),
        "levels equal the ledger": ledger_mismatches() == [],
    }


def checks(order_ids: list[int]) -> dict[str, bool]:
    allocated, shipped = allocations_by_order(order_ids)
    return {
        "every sourced order's allocation equals its shipments": all(
            (allocated.get(o) or 0) == (shipped.get(o) or 0) for o in order_ids
        ),
        **stock_checks(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument(
        "--db-orders", type=int, default=2_000, help="orders sourced through the whole service"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_routing")
    configure_environment()
    db = Database.from_url(os.environ["DATABASE_URL"])
    print(f"database {db.name}: recreating, migrating ...", flush=True)
    db.recreate()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    seeded = seed(orders=args.orders, locations=args.locations, skus=args.skus, rng=rng)
    order_ids = seeded.pop("order_ids")
    print(f"seeded {seeded}", flush=True)
    engine_run = engine_only(order_ids)
    print(f"engine only: {engine_run}", flush=True)
    service_run = whole_service(order_ids[: args.db_orders])
    print(f"whole service: {service_run}", flush=True)
    results = checks(order_ids[: args.db_orders])
    for name, ok in results.items():
        print(f"check: {name}: {'PASS' if ok else 'FAIL'}")
    report = {
        "benchmark": "routing",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "seed": seeded,
        "engine_only": engine_run,
        "whole_service": service_run,
        "checks": results,
    }
    if not args.no_json:
        report_write("routing", report)
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
