"""The staff dashboard with 1,000,000 orders: `python -m bench.dashboard
[--orders 1000000 --requests 200]`.

Recreates a bench database (its name must contain 'bench'; default
oms_bench_dashboard), migrates, and seeds with set-based SQL (INSERT ...
SELECT generate_series, no ORM loop): five channels in USD, EUR and GBP,
customers, orders over two years (older ones delivered or closed, recent
ones spread over the pipeline: on hold, backordered, allocated, being
fulfilled, on their way; 5 % cancelled; some with a delivery promise),
1-3 lines each, one shipment per order past allocation with its ship-by and
promised delivery days, the stock ledger's shipment movements, returns on
6 % of the delivered orders, live low-stock alerts and daily EUR / GBP rates.

Then, as a signed-in manager through Django's test client (in process, the
full middleware stack, DEBUG off), it times GET /dashboard/ (the home KPIs)
and its htmx fragment, first with no daily summary (every day computed live
from the orders), then after summarizing the closed days
(returns.dashboard.kpis.dashboard_days_refresh, timed) as the periodic task
does; and GET /dashboard/orders/ (plain, filtered, searched) when that page
exists. For each: p50 / p95 / p99 over --requests requests and the SQL
statements per request. It also checks the summarized figures against the
live computation.

Prints a table and PASS/FAIL checks, writes JSON to bench/results/, exits 1
when a check failed.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

from bench.common import Database, configure_environment, machine_info, measured, report_write, summarize

TARGET_P95_MS = 200.0
DAYS = 730

SEED_SQL = [
    (
        "catalogue",
        """
INSERT INTO oms_channel (code, name, kind, currency, price_authority, prices_include_tax, is_active,
                         cart_ttl_minutes, allow_backorders, send_cart_reminders, shipping_flat_rate,
                         sender_email, support_email, created_at)
VALUES ('WEB', 'Web store', 'web', 'USD', false, false, true, 30, true, false, 5, '', '', now()),
       ('STORE', 'Stores', 'store', 'USD', false, false, true, 30, false, false, 0, '', '', now()),
       ('PHONE', 'Phone orders', 'phone', 'USD', false, false, true, 30, true, false, 5, '', '', now()),
       ('EU-WEB', 'EU web store', 'web', 'EUR', false, true, true, 30, true, false, 5, '', '', now()),
       ('UK-MARKET', 'UK marketplace', 'marketplace', 'GBP', true, true, true, 30, false, false, 4, '', '',
        now());

INSERT INTO inventory_product (name, description, category, brand, is_active, created_at)
VALUES ('Bench product', '', 'bench', '', true, now());

INSERT INTO inventory_warehouse (code, name, kind, line1, city, region, postal_code, country, latitude, longitude,
                                 ships, allows_pickup, safety_stock, is_active, created_at)
VALUES ('BW1', 'Bench east', 'dc', '', 'Edison', 'NJ', '', 'US', 40.5, -74.4, true, false, 0, true, now()),
       ('BW2', 'Bench west', 'dc', '', 'Reno', 'NV', '', 'US', 39.5, -119.8, true, false, 0, true, now());

INSERT INTO fulfillment_locationpolicy (warehouse_id, cutoff_time, daily_capacity, priority, works_weekends)
SELECT id, '15:00', NULL, 0, false FROM inventory_warehouse;

INSERT INTO inventory_sku (product_id, code, barcode, name, weight_grams, length_mm, width_mm, height_mm,
                           unit_cost, cost_currency, is_fragile, is_active, created_at)
SELECT (SELECT id FROM inventory_product LIMIT 1), 'BSKU-' || i, 'BBC-' || i, 'Bench SKU ' || i,
       500, 100, 100, 100, 2 + i %% 40, 'USD', false, true, now()
FROM generate_series(1, 200) AS i;

INSERT INTO accounting_exchangerate (currency, day, rate, source, created_at)
SELECT c.code, current_date - d, c.base + (d %% 20) / 200.0, 'bench', now()
FROM generate_series(0, %(days)s) AS d, (VALUES ('EUR', 1.05), ('GBP', 1.22)) AS c (code, base);

INSERT INTO inventory_stockalert (kind, status, sku_id, warehouse_id, message, data, opened_at, last_seen_at)
SELECT CASE WHEN s.id %% 5 = 0 THEN 'out' ELSE 'low' END, 'open', s.id, w.id, 'bench', '{}', now(), now()
FROM inventory_sku s, inventory_warehouse w WHERE s.id %% 3 = 0;
""",
    ),
    (
        "customers",
        """
INSERT INTO customers_customer (channel_id, external_id, email, first_name, last_name, phone, company, is_vip,
                                language, tags, notes, created_at, updated_at)
SELECT (SELECT id FROM oms_channel WHERE code = 'WEB'), '', 'c' || i || '@bench.invalid', 'First',
       'Last ' || i, '', '', false, '', '{}', '', now(), now()
FROM generate_series(1, %(customers)s) AS i;
""",
    ),
    (
        "orders",
        """
-- Days spread over two years; what happened to an order depends on its age:
-- old ones are delivered (or closed), recent ones are spread over the pipeline.
SELECT setseed(0.42);
INSERT INTO orders_order (channel_id, customer_id, source, status, email, shipping_address, ship_country, currency,
                          subtotal, discount_total, shipping_total, tax_total, grand_total, prices_include_tax,
                          shipping_speed, is_gift, gift_message, is_vip, is_replacement, priority, hold_reason,
                          notes, placed_at, updated_at, deliver_by, promised_at)
SELECT ch.id, c0.first + floor(power(x.c, 2) * %(customers)s)::bigint, 'api',
       x.status, 'bench@bench.invalid', '{"country": "US"}', 'US', ch.currency,
       0, 0, 5, 0, 0, false, 'standard', false, '', x.r2 < 0.02, false, 0,
       CASE WHEN x.status = 'on_hold' THEN 'Order value above the review limit' ELSE '' END, '',
       now() - x.age * interval '1 day', now(),
       CASE WHEN x.r2 < 0.10 THEN (now() - x.age * interval '1 day')::date + 5 END,
       CASE WHEN x.status = 'backordered' AND x.r2 >= 0.3
            THEN (now() - x.age * interval '1 day')::date + (x.r2 * 20)::int END
FROM (
    SELECT i, random() AS c, random() AS r2, age, ch_code,
           CASE
               WHEN r < 0.05 THEN 'cancelled'
               WHEN age > 60 THEN 'closed'
               WHEN age > 12 THEN 'delivered'
               WHEN r < 0.07 THEN 'on_hold'
               WHEN r < 0.11 THEN 'backordered'
               WHEN age < 1 AND r < 0.5 THEN 'allocated'
               WHEN age < 2 THEN 'fulfilling'
               WHEN age < 6 THEN 'shipped'
               ELSE 'delivered'
           END AS status
    FROM (
        SELECT i, random() AS r, %(days)s * random() AS age,
               (ARRAY['WEB', 'WEB', 'WEB', 'WEB', 'STORE', 'STORE', 'PHONE', 'EU-WEB', 'EU-WEB',
                      'UK-MARKET'])[1 + i %% 10] AS ch_code
        FROM generate_series(1, %(orders)s) AS i
    ) AS raw
) AS x
JOIN oms_channel ch ON ch.code = x.ch_code
CROSS JOIN (SELECT min(id) AS first FROM customers_customer) AS c0;
""",
    ),
    (
        "lines",
        """
INSERT INTO orders_orderline (order_id, line_number, sku_id, external_id, quantity, unit_price, discount, tax_rate,
                              tax_amount, line_total, unit_cost, quantity_allocated, quantity_shipped,
                              quantity_cancelled)
SELECT o.id, n, s.id, '', q, 10 + s.id %% 50, 0, 0, 0, q * (10 + s.id %% 50), s.unit_cost,
       CASE WHEN o.status IN ('allocated', 'fulfilling') THEN q ELSE 0 END,
       CASE WHEN o.status IN ('shipped', 'delivered', 'closed') THEN q ELSE 0 END,
       CASE WHEN o.status = 'cancelled' THEN q ELSE 0 END
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
                                          ship_by, promised_delivery, released_at, shipped_at, delivered_at)
SELECT o.id, w.first + o.id %% 2,
       CASE o.status
           WHEN 'fulfilling' THEN (ARRAY['pending', 'released', 'picking', 'packed'])[1 + o.id %% 4]
           WHEN 'shipped' THEN CASE o.id %% 10 WHEN 0 THEN 'exception' WHEN 1 THEN 'out_for_delivery'
                                               ELSE 'in_transit' END
           ELSE 'delivered'
       END,
       'ship', '{"country": "US"}', false, 3 + o.id %% 5, 'USD', 0, o.placed_at, o.placed_at,
       o.placed_at::date + 1, o.placed_at::date + 4, o.placed_at,
       CASE WHEN o.status <> 'fulfilling' THEN o.placed_at + interval '1 day' END,
       CASE WHEN o.status IN ('delivered', 'closed') THEN o.placed_at + interval '3 days' END
FROM orders_order o CROSS JOIN (SELECT min(id) AS first FROM inventory_warehouse) AS w
WHERE o.status IN ('fulfilling', 'shipped', 'delivered', 'closed');

INSERT INTO inventory_stockmovement (sku_id, warehouse_id, kind, on_hand_delta, allocated_delta, reserved_delta,
                                     reference, reason, note, actor, created_at)
SELECT l.sku_id, f.warehouse_id, 'shipment', -l.quantity_shipped, -l.quantity_shipped, 0,
       'shipment:' || f.id, '', '', 'bench', f.shipped_at
FROM fulfillment_fulfillmentorder f JOIN orders_orderline l ON l.order_id = f.order_id
WHERE f.shipped_at IS NOT NULL AND l.quantity_shipped > 0;
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
       0, 0, l.line_total, o.placed_at + interval '8 days', o.placed_at + interval '12 days',
       o.placed_at + interval '11 days', o.placed_at + interval '12 days'
FROM orders_order o
JOIN orders_orderline l ON l.order_id = o.id AND l.line_number = 1
CROSS JOIN (SELECT min(id) AS id FROM inventory_warehouse) AS w
WHERE o.status IN ('delivered', 'closed') AND o.id %% 50 < 3;

INSERT INTO returns_returnline (request_id, order_line_id, sku_id, quantity, reason, note, quantity_received,
                                condition, disposition, refund_amount, unit_cost)
SELECT r.id, l.id, l.sku_id, l.quantity_shipped, 'size_fit', '', l.quantity_shipped, 'new', 'restock',
       l.line_total, l.unit_cost
FROM returns_returnrequest r
JOIN orders_orderline l ON l.order_id = r.order_id AND l.line_number = 1;
""",
    ),
]


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
        cursor.execute("VACUUM ANALYZE")
    seconds["vacuum_analyze"] = round(time.perf_counter() - started, 1)
    return seconds


def measure(client, url: str, requests: int, **headers) -> dict:
    """Time `requests` GETs of `url` (after 5 unmeasured ones): milliseconds
    percentiles and SQL statements per request (the last one's)."""
    for _ in range(5):
        response = client.get(url, **headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    times, statements = [], set()
    for _ in range(requests):
        with measured() as m:
            response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        times.append(m.seconds * 1000)
        statements.add(m.statements)
    stats = summarize(times)
    return {
        "url": url + (" (htmx)" if headers else ""),
        "p50_ms": stats["p50"],
        "p95_ms": round(sorted(times)[max(0, int(len(times) * 0.95) - 1)], 1),
        "p99_ms": stats["p99"],
        "max_ms": stats["max"],
        "sql_statements": sorted(statements),
        "requests": requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_dashboard")
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
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import NoReverseMatch, resolve, reverse
    from django.utils import timezone

    from oms.roles import MANAGER
    from returns.dashboard.kpis import dashboard_days_refresh, home_kpis
    from tests.factories import staff_user

    settings.BASE_CURRENCY = "USD"
    setup_test_environment()  # the test client's response hooks; DEBUG stays off
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
    # Pages link their CSS and JS by name: no collectstatic manifest is needed in process.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)
    print(f"seeding {args.customers} customers, {args.orders} orders ...", flush=True)
    seeded = seed(customers=args.customers, orders=args.orders)
    with connection.cursor() as cursor:
        counts = {}
        for table in (
            "orders_order",
            "orders_orderline",
            "fulfillment_fulfillmentorder",
            "inventory_stockmovement",
            "returns_returnrequest",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (our table names)
            counts[table] = cursor.fetchone()[0]
    print(f"rows: {counts}", flush=True)

    manager = staff_user("bench-manager", MANAGER)
    client = Client()
    client.force_login(manager)
    htmx = {"HTTP_HX_REQUEST": "true"}
    results = []

    def run(label: str, url: str, **headers) -> dict:
        row = {"label": label, **measure(client, url, args.requests, **headers)}
        results.append(row)
        print(
            f"  {label:<44} p50 {row['p50_ms']:>7.1f} ms  p95 {row['p95_ms']:>7.1f} ms  "
            f"p99 {row['p99_ms']:>7.1f} ms  SQL {row['sql_statements']}",
            flush=True,
        )
        return row

    print("measuring (no daily summary: every day live from the orders) ...", flush=True)
    cold = run("home, no summary", "/dashboard/")

    today = timezone.localdate()
    with measured() as m:
        days = dashboard_days_refresh(first=today - timedelta(days=DAYS + 1), last=today - timedelta(days=1))
    refresh = {"days": days, "seconds": round(m.seconds, 2), "sql_statements": m.statements}
    print(
        f"summarized {days} closed days in {refresh['seconds']} s ({m.statements} SQL statements)", flush=True
    )
    with measured() as m:
        dashboard_days_refresh(first=today - timedelta(days=1), last=today - timedelta(days=1))
    refresh["one_day_seconds"] = round(m.seconds, 3)
    print(f"re-summarizing one day (what an order cancellation costs): {m.seconds * 1000:.0f} ms", flush=True)

    print("measuring (closed days from the summary, today live) ...", flush=True)
    home = run("home", "/dashboard/")
    fragment = run("home KPI block (htmx refresh)", "/dashboard/", **htmx)

    orders_rows = []
    try:
        orders_url = reverse("dashboard:orders")
        resolve(orders_url)
        has_orders = True
    except NoReverseMatch:
        has_orders = False
    if has_orders:
        sample_email = "c1@bench.invalid"
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM orders_order")
            last_id = cursor.fetchone()[0]
        orders_rows = [
            run("orders list", orders_url),
            run("orders list, status=backordered", f"{orders_url}?status=backordered"),
            run("orders list, channel=EU-WEB", f"{orders_url}?channel=EU-WEB"),
            run("orders list, search by number", f"{orders_url}?q={last_id - 10:08d}"),
            run("orders list, search by e-mail", f"{orders_url}?q={sample_email}"),
            run("orders list, page 5", f"{orders_url}?page=5"),
        ]
    else:
        print("  /dashboard/orders/ does not exist in this checkout: not measured", flush=True)

    summarized = home_kpis()
    live = home_kpis(use_summary=False)
    checks = {
        f"home p95 under {TARGET_P95_MS:.0f} ms": home["p95_ms"] < TARGET_P95_MS,
        f"home htmx p95 under {TARGET_P95_MS:.0f} ms": fragment["p95_ms"] < TARGET_P95_MS,
        "home: constant SQL statements": len(home["sql_statements"]) == 1,
        "summary read for the 29 closed days of the window": summarized.summarized_days == 29,
        "summarized 30-day revenue equals the live computation": (
            summarized.period_total("month") == live.period_total("month")
            and [(c.code, c.orders, c.revenue) for c in summarized.channels]
            == [(c.code, c.orders, c.revenue) for c in live.channels]
        ),
        "summarized return rate equals the live computation": (
            (summarized.units_shipped, summarized.units_returned) == (live.units_shipped, live.units_returned)
        ),
    }
    for row in orders_rows:
        checks[f"{row['label']} p95 under {TARGET_P95_MS:.0f} ms"] = row["p95_ms"] < TARGET_P95_MS
    print()
    print(f"{'page':<44} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  SQL/request")
    for row in results:
        print(
            f"{row['label']:<44} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f}  "
            f"{', '.join(map(str, row['sql_statements']))}"
        )
    print()
    print(
        f"30 days: {summarized.period_total('month')['orders']} orders, "
        f"{summarized.period_total('month')['revenue']} {summarized.currency}; "
        f"jeopardy {summarized.jeopardy_count}, late {summarized.late_to_ship}+{summarized.late_in_transit}, "
        f"backorders {summarized.backorders}, return rate {summarized.return_rate:.4f}"
    )
    for name, ok in checks.items():
        print(f"check: {name}: {'PASS' if ok else 'FAIL'}")
    total_s = time.perf_counter() - run_started
    print(f"whole run (recreate, migrate, seed, measure): {total_s:.0f} s")
    report = {
        "benchmark": "dashboard",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "orders": args.orders,
        "customers": args.customers,
        "rows": counts,
        "seed_seconds": seeded,
        "summary_refresh": refresh,
        "pages": results,
        "cold_home": cold,
        "checks": checks,
        "pass": all(checks.values()),
        "run_seconds": round(total_s),
        "machine": machine_info(),
    }
    if not args.no_json:
        report_write("dashboard", report)
    if not report["pass"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
