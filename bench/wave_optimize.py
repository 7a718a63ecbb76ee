"""Wave allocation benchmark: `python -m bench.wave_optimize [--orders 2000] [--locations 20] [--time-limit 30]`.

Recreates a bench database (its name must contain 'bench'), seeds 20
shipping locations (DCs and stores across the US, as bench.routing does),
the demo's two carriers with their rate tables, 300 SKUs and N backordered
orders of 1-4 lines (each wants at least one of 40 scarce SKUs: a few units
at ~40% of the locations; the rest are plentiful), 10% of them VIP
(priority 10), placed one minute apart, to 40 US cities. Then:

1. the wave (fulfillment.optimize.backorders_optimize): load, greedy
   first-come baseline, MIP (scipy.optimize.milp / HiGHS) stage 1 (weighted
   fill) and stage 2 (cost), with the time limit per HiGHS run; prints orders
   filled, weighted fill, units, cost and seconds of both, and the gain;
2. unless --no-apply, applies the MIP's plan through order_source (one
   short transaction per order) and counts applied / skipped;
3. checks: the plan breaks no rule of the model, the MIP fill is at least
   greedy's, every applied order's allocation equals its shipments, no
   stock level below zero available, levels equal the ledger (reconcile).

Prints the figures and PASS/FAIL checks, writes JSON to bench/results/, and
exits 1 when a check failed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import Database, configure_environment, machine_info, report_write
from bench.routing import allocations_by_order, bench_order, seed_network, stock_checks

SCARCE = 40


def seed(*, orders: int, locations: int, skus: int, rng: random.Random) -> dict:
    from orders.models import Order, OrderLine

    started = time.perf_counter()
    channel, customer, warehouses, sku_rows, levels = seed_network(
        locations=locations,
        skus=skus,
        rng=rng,
        prefix="W",
        # A few units of each scarce SKU at ~40% of the locations; plenty of the rest.
        stock=lambda n: (0.4, 1, 8) if n < SCARCE else (0.7, 20, 200),
    )
    scarce, plentiful = sku_rows[:SCARCE], sku_rows[SCARCE:]
    start = datetime.now(UTC) - timedelta(minutes=orders + 1)
    order_rows, wanted = [], []
    for i in range(orders):
        order = bench_order(rng, channel, customer, placed_at=start + timedelta(minutes=i))
        order.is_vip = rng.random() < 0.1
        order.priority = 10 if order.is_vip else 0
        order_rows.append(order)
        n = rng.choices([1, 2, 3, 4], weights=[40, 30, 20, 10])[0]
        wanted.append([rng.choice(scarce), *rng.sample(plentiful, n - 1)])
    order_rows = Order.objects.bulk_create(order_rows, batch_size=2000)
    lines = [
        OrderLine(
            order=order,
            line_number=number,
            sku=sku,
            quantity=rng.choice([1, 1, 1, 2, 3]),
            unit_price=Decimal("10"),
            line_total=Decimal("10"),
            unit_cost=Decimal("5"),
        )
        for order, skus_wanted in zip(order_rows, wanted, strict=True)
        for number, sku in enumerate(skus_wanted, start=1)
    ]
    OrderLine.objects.bulk_create(lines, batch_size=5000)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "locations": len(warehouses),
        "skus": len(sku_rows),
        "scarce_skus": len(scarce),
        "scarce_units": sum(lv.on_hand for lv in levels if lv.sku in scarce),
        "scarce_units_wanted": sum(ln.quantity for ln in lines if ln.sku in scarce),
        "stock_levels": len(levels),
        "orders": len(order_rows),
        "order_lines": len(lines),
        "vip_orders": sum(1 for o in order_rows if o.is_vip),
    }


def wave(*, time_limit: float, apply: bool) -> tuple[dict, list[int], bool]:
    from fulfillment.optimize import backorders_optimize, violations, wave_apply
    from fulfillment.optimize.loading import wave_load
    from oms.actors import Actor

    actor = Actor.system()
    started = time.perf_counter()
    report = backorders_optimize(actor=actor, time_limit=time_limit)
    seconds = time.perf_counter() - started
    # Nothing changed since: reading the wave again gives the model the plan was solved on.
    again = wave_load()
    valid = not violations(again.problem, report.plan)
    body = report.as_dict()
    body.pop("plan")
    body["seconds_total"] = round(seconds, 2)
    applied: list[int] = []
    if apply:
        started = time.perf_counter()
        applied, skipped = wave_apply(wave=again, plan=report.plan, actor=actor)
        body["apply"] = {
            "seconds": round(time.perf_counter() - started, 2),
            "applied": len(applied),
            "skipped": len(skipped),
            "skipped_first": [{"order_id": k, "reason": v} for k, v in sorted(skipped.items())[:20]],
        }
    return body, applied, valid


def checks(order_ids: list[int]) -> dict[str, bool]:
    from django.db.models import Sum

    from inventory.models import StockLevel
    from orders.models import Order, OrderLine

    allocated, shipped = allocations_by_order(order_ids)
    held = {
        (row["sku_id"], row["warehouse_id"]): row["n"]
        for row in OrderLine.objects.filter(warehouse__isnull=False)
        .values("sku_id", "warehouse_id")
        .annotate(n=Sum("quantity_allocated"))
    }
    levels = StockLevel.objects.values_list("sku_id", "warehouse_id", "allocated")
    return {
        "every applied order is allocated": Order.objects.filter(pk__in=order_ids, status="allocated").count()
        == len(order_ids),
        "every applied order's allocation equals its shipments": all(
            (allocated.get(o) or 0) == (shipped.get(o) or 0) > 0 for o in order_ids
        ),
        "every level's allocation is what order lines hold there": all(
            a == held.get((s, w), 0) for s, w, a in levels
        ),
        **stock_checks(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per HiGHS run")
    parser.add_argument("--no-apply", action="store_true", help="solve only; allocate nothing")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_wave")
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
    print(f"seeded {seeded}", flush=True)
    result, applied, valid = wave(time_limit=args.time_limit, apply=not args.no_apply)
    mip, greedy, gain, solver = result["mip"], result["greedy"], result["gain"], result["solver"]
    print(f"{'':<15}{'MIP':>12}{'greedy':>12}{'gain':>14}")
    for key in ("filled", "weighted_fill", "units", "shipments"):
        print(f"{key:<15}{mip[key]:>12}{greedy[key]:>12}{mip[key] - greedy[key]:>+14}")
    print(f"{'cost':<15}{mip['cost']:>12}{greedy['cost']:>12}{gain['cost']:>14}")
    print(f"{'seconds':<15}{mip['seconds']:>12}{greedy['seconds']:>12}")
    print(f"weighted fill gain: {gain['weighted_fill_pct']}%; load {result['load_seconds']} s")
    print(
        f"solver: {solver['status']} {solver['stages']} ({solver['variables']} variables, "
        f"{solver['constraints']} constraints): {solver['message']}"
    )
    if "apply" in result:
        done = result["apply"]
        print(
            f"applied {done['applied']} order(s), skipped {done['skipped']} in {done['seconds']} s",
            flush=True,
        )
    results = {
        "the plan breaks no rule of the model": valid,
        "MIP weighted fill >= greedy's": mip["weighted_fill"] >= greedy["weighted_fill"],
        **checks(applied),
    }
    for name, ok in results.items():
        print(f"check: {name}: {'PASS' if ok else 'FAIL'}")
    report = {
        "benchmark": "wave_optimize",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "time_limit": args.time_limit,
        "seed": seeded,
        "wave": result,
        "checks": results,
    }
    if not args.no_json:
        report_write("wave_optimize", report)
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
