"""Customer value metrics refresh over 100,000 customers and 1,000,000 orders:
`python -m bench.customer_metrics [--customers 100000 --orders 1000000]`.

Recreates a bench database (its name must contain 'bench'), migrates, and
seeds with set-based SQL (INSERT ... SELECT generate_series, no ORM loop):
customers, orders over two years in USD and EUR (5 % cancelled, 90 %
delivered), 1-3 lines each on SKUs costed in USD or EUR, one shipment per
shipped order with a carrier cost, a refunded return on 5 % of the shipped
orders, and a daily EUR rate. Then it times returns.metrics.
customer_metrics_refresh twice (the first run inserts every row, the second
updates them all) and the ranking API, and checks the refreshed revenue
against an independent per-order computation. Every insert names every NOT
NULL column: Django's field defaults are not database defaults.

Prints the figures and PASS/FAIL checks, writes JSON to bench/results/, and
exits 1 when a check failed.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

from bench.common import Database, configure_environment, machine_info, measured, report_write

TARGET_SECONDS = 30.0
DAYS = 730

SEED_SQL = [
    (
        "catalogue",
        """
INSERT INTO oms_channel (code, name, kind, currency, price_authority, prices_include_tax, is_active,
                         cart_ttl_minutes, allow_backorders, send_cart_reminders, shipping_flat_rate,
                         sender_email, support_email, created_at)
VALUES ('BENCH', 'Bench', 'web', 'USD', false, false, true, 30, false, false, 5, '', '', now());

INSERT INTO inventory_product (name, description, category, brand, is_active, created_at)
VALUES ('Bench product', '', 'bench', '', true, now());

INSERT INTO inventory_warehouse (code, name, kind, line1, city, region, postal_code, country, latitude, longitude,
                                 ships, allows_pickup, safety_stock, is_active, created_at)
VALUES ('BW1', 'Bench warehouse', 'dc', '', 'Edison', 'NJ', '', 'US', 40.5, -74.4, true, false, 0, true, now());

INSERT INTO inventory_sku (product_id, code, barcode, name, weight_grams, length_mm, width_mm, height_mm,
                           unit_cost, cost_currency, is_fragile, is_active, created_at)
SELECT (SELECT id FROM inventory_product LIMIT 1), 'BSKU-' || i, 'BBC-' || i, 'Bench SKU ' || i,
       500, 100, 100, 100, 2 + i %% 40, CASE WHEN i %% 2 = 0 THEN 'USD' ELSE 'EUR' END, false, true, now()
FROM generate_series(1, 200) AS i;

INSERT INTO accounting_exchangerate (currency, day, rate, source, created_at)
SELECT 'EUR', current_date - d, 1.05 + (d %% 20) / 200.0, 'bench', now()
FROM generate_series(0, %(days)s) AS d;
""",
    ),
    (
        "customers",
        """
INSERT INTO customers_customer (channel_id, external_id, email, first_name, last_name, phone, company, is_vip,
                                language, tags, notes, created_at, updated_at)
SELECT (SELECT id FROM oms_channel WHERE code = 'BENCH'), '', 'c' || i || '@bench.invalid', 'First', 'Last ' || i,
       '', '', false, '', '{}', '', now(), now()
FROM generate_series(1, %(customers)s) AS i;
""",
    ),
    (
        "orders",
        """
-- Customers drawn with a skew (a few buy a lot), days spread over two years.
SELECT setseed(0.42);
INSERT INTO orders_order (channel_id, customer_id, source, status, email, shipping_address, ship_country, currency,
                          subtotal, discount_total, shipping_total, tax_total, grand_total, prices_include_tax,
                          shipping_speed, is_gift, gift_message, is_vip, is_replacement, priority, hold_reason,
                          notes, placed_at, updated_at)
SELECT ch.id, c0.first + floor(power(random(), 2) * %(customers)s)::bigint, 'api',
       CASE WHEN i %% 20 = 0 THEN 'cancelled' WHEN i %% 20 = 1 THEN 'allocated' ELSE 'delivered' END,
       'bench@bench.invalid', '{"country": "US"}', 'US', CASE WHEN i %% 10 < 3 THEN 'EUR' ELSE 'USD' END,
       0, 0, 5, 0, 0, false, 'standard', false, '', false, false, 0, '', '',
       now() - (random() * %(days)s) * interval '1 day', now()
FROM generate_series(1, %(orders)s) AS i,
     (SELECT id FROM oms_channel WHERE code = 'BENCH') AS ch,
     (SELECT min(id) AS first FROM customers_customer) AS c0;
""",
    ),
    (
        "lines",
        """
INSERT INTO orders_orderline (order_id, line_number, sku_id, external_id, quantity, unit_price, discount, tax_rate,
                              tax_amount, line_total, unit_cost, quantity_allocated, quantity_shipped,
                              quantity_cancelled)
SELECT o.id, n, s.id, '', q, 10 + s.id %% 50, 0, 0, 0, q * (10 + s.id %% 50), s.unit_cost, 0,
       CASE WHEN o.status = 'delivered' THEN q ELSE 0 END, CASE WHEN o.status = 'cancelled' THEN q ELSE 0 END
FROM orders_order o
CROSS JOIN LATERAL generate_series(1, 1 + (o.id %% 3)::int) AS n
CROSS JOIN LATERAL (SELECT 1 + ((o.id + n) %% 3)::int AS q) AS qty
CROSS JOIN (SELECT min(id) AS first FROM inventory_sku) AS k0
JOIN inventory_sku s ON s.id = k0.first + (o.id * 7 + n * 13) %% 200;

UPDATE orders_order o SET subtotal = t.s, grand_total = t.s + o.shipping_total
FROM (SELECT order_id, sum(line_total) AS s FROM orders_orderline GROUP BY order_id) AS t
WHERE t.order_id = o.id;
""",
    ),
    (
        "shipments",
        """
INSERT INTO fulfillment_fulfillmentorder (order_id, warehouse_id, status, method, ship_to, service_overridden,
                                          shipping_cost, shipping_cost_currency, priority, created_at, updated_at,
                                          shipped_at, delivered_at)
SELECT o.id, w.id, 'delivered', 'ship', '{"country": "US"}', false, 3 + o.id %% 5, 'USD', 0,
       o.placed_at, o.placed_at, o.placed_at + interval '1 day', o.placed_at + interval '3 days'
FROM orders_order o, (SELECT id FROM inventory_warehouse WHERE code = 'BW1') AS w
WHERE o.status = 'delivered';
""",
    ),
    (
        "returns",
        """
INSERT INTO returns_returnrequest (order_id, channel_id, customer_id, status, resolution, source, location_id,
                                   review_reason, customer_note, label_tracking, return_shipping_paid_by,
                                   restocking_fee, shipping_refund, refund_total, created_at, updated_at,
                                   received_at, completed_at)
SELECT o.id, o.channel_id, o.customer_id, 'completed', 'refund', 'customer', w.id, '', '', '', 'customer',
       0, 0, l.line_total, o.placed_at + interval '10 days', o.placed_at + interval '12 days',
       o.placed_at + interval '11 days', o.placed_at + interval '12 days'
FROM orders_order o
JOIN orders_orderline l ON l.order_id = o.id AND l.line_number = 1
CROSS JOIN (SELECT id FROM inventory_warehouse WHERE code = 'BW1') AS w
WHERE o.status = 'delivered' AND o.id %% 20 = 2;

INSERT INTO returns_returnline (request_id, order_line_id, sku_id, quantity, reason, note, quantity_received,
                                condition, disposition, refund_amount, unit_cost)
SELECT r.id, l.id, l.sku_id, l.quantity_shipped, 'size_fit', '', l.quantity_shipped, 'new', 'restock',
       l.line_total, l.unit_cost
FROM returns_returnrequest r
JOIN orders_orderline l ON l.order_id = r.order_id AND l.line_number = 1;
""",
    ),
]

# Revenue by an independent path: each order at its own rate looked up per
# order, rounded per customer like the refresh, summed.
REVENUE_CHECK_SQL = """
SELECT coalesce(sum(per_customer), 0) FROM (
    SELECT round(sum(o.grand_total * CASE WHEN o.currency = %(base)s THEN 1 ELSE (
               SELECT r.rate FROM accounting_exchangerate r
               WHERE r.currency = o.currency AND r.day <= (o.placed_at AT TIME ZONE %(tz)s)::date
               ORDER BY r.day DESC LIMIT 1) END), 2) AS per_customer
    FROM orders_order o WHERE o.status <> 'cancelled' GROUP BY o.customer_id
) AS t
"""


def seed(*, customers: int, orders: int) -> dict[str, float]:
    from django.db import connection, transaction

    seconds = {}
    params = {"customers": customers, "orders": orders, "days": DAYS}
    for label, sql in SEED_SQL:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
        seconds[label] = round(time.perf_counter() - started, 1)
        print(f"  seeded {label} in {seconds[label]} s", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seconds["analyze"] = round(time.perf_counter() - started, 1)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_metrics")
    configure_environment()
    db = Database.from_url(os.environ["DATABASE_URL"])
    print(f"database {db.name}: recreating, migrating ...", flush=True)
    run_started = time.perf_counter()
    db.recreate()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIRequestFactory, force_authenticate

    from customers.models import CustomerMetrics
    from oms.roles import MANAGER
    from returns.api_metrics import CustomerRanking
    from returns.metrics import customer_metrics_refresh
    from tests.factories import staff_user

    settings.BASE_CURRENCY = "USD"
    call_command("migrate", verbosity=0)
    print(f"seeding {args.customers} customers, {args.orders} orders ...", flush=True)
    seeded = seed(customers=args.customers, orders=args.orders)
    with connection.cursor() as cursor:
        counts = {}
        for table in (
            "orders_order",
            "orders_orderline",
            "fulfillment_fulfillmentorder",
            "returns_returnrequest",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (our table names)
            counts[table] = cursor.fetchone()[0]
    print(f"rows: {counts}", flush=True)

    runs = []
    for label in ("first refresh (inserts)", "second refresh (updates)"):
        with measured() as m:
            written = customer_metrics_refresh()
        runs.append(
            {"label": label, "seconds": round(m.seconds, 2), "rows": written, "sql_statements": m.statements}
        )
        print(f"{label}: {m.seconds:.2f} s, {written} customers, {m.statements} SQL statements", flush=True)

    # A manager: the staff APIs check the role (oms.roles), not just is_staff.
    staff = staff_user("bench-staff", MANAGER)
    request = APIRequestFactory().get("/api/v1/customers/ranking/", {"by": "margin", "limit": 100})
    force_authenticate(request, staff)
    view = CustomerRanking.as_view()
    view(request).render()
    with measured() as m:
        response = view(request)
        response.render()
    ranking = {"ms": round(m.seconds * 1000, 1), "sql_statements": m.statements}
    print(f"ranking API (top 100 by margin): {ranking['ms']} ms, {m.statements} SQL statements", flush=True)

    with connection.cursor() as cursor:
        cursor.execute(REVENUE_CHECK_SQL, {"base": "USD", "tz": settings.TIME_ZONE})
        expected_revenue = cursor.fetchone()[0]
    from django.db.models import Count, Sum

    totals = CustomerMetrics.objects.aggregate(revenue=Sum("revenue"), rows=Count("pk"))
    segments = dict(
        CustomerMetrics.objects.values_list("segment").annotate(n=Count("pk")).values_list("segment", "n")
    )
    print(f"segments: {segments}")
    best = min(r["seconds"] for r in runs)
    checks = {
        f"every customer has a row ({args.customers})": totals["rows"] == args.customers,
        f"revenue equals the per-order computation ({expected_revenue})": totals["revenue"]
        == expected_revenue,
        "ranking API answered 100 rows": response.status_code == 200 and len(response.data["results"]) == 100,
        f"refresh under {TARGET_SECONDS:.0f} s (slowest run)": max(r["seconds"] for r in runs)
        < TARGET_SECONDS,
    }
    for name, ok in checks.items():
        print(f"check: {name}: {'PASS' if ok else 'FAIL'}")
    total_s = time.perf_counter() - run_started
    print(
        f"refresh: {best:.2f} s best of {len(runs)}; whole run (recreate, migrate, seed, measure): {total_s:.0f} s"
    )
    report = {
        "benchmark": "customer_metrics",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "customers": args.customers,
        "orders": args.orders,
        "rows": counts,
        "seed_seconds": seeded,
        "refresh": runs,
        "ranking_api": ranking,
        "segments": segments,
        "checks": checks,
        "pass": all(checks.values()),
        "run_seconds": round(total_s),
        "machine": machine_info(),
    }
    if not args.no_json:
        report_write("customer_metrics", report)
    if not report["pass"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
