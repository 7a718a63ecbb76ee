"""Reorder check over N reorder rules: `python -m bench.reorder_check [--rules 100000]`.

Recreates a bench database (its name must contain 'bench'), seeds SKUs x 3
warehouses with stock, a preferred supplier per SKU (varied MOQ and pack
size) and one reorder rule per SKU x warehouse with set-based SQL, then
times inventory.replenishment.reorder_check twice: the first run drafts the
purchase orders, the second must draft nothing (drafts count as incoming).
Reports seconds, SQL statements, positions below their reorder point, lines
and purchase orders, and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime

from bench.common import RESULTS_DIR, Database, configure_environment, machine_info

WAREHOUSES = 3
SUPPLIERS = 20

SEED_SQL = """
INSERT INTO inventory_product (name, description, category, brand, is_active, created_at)
VALUES ('Bench product', '', 'bench', '', true, now());

INSERT INTO inventory_warehouse (code, name, kind, line1, city, region, postal_code, country, latitude, longitude,
                                 ships, allows_pickup, is_active, created_at)
SELECT 'BW' || w, 'Bench warehouse ' || w, 'dc', '', 'City', '', '', 'US', 40 + w, -74 - w, true, false, true, now()
FROM generate_series(1, %(warehouses)s) AS w;

INSERT INTO inventory_sku (product_id, code, barcode, name, weight_grams, length_mm, width_mm, height_mm, unit_cost,
                           cost_currency, is_active, created_at)
SELECT (SELECT id FROM inventory_product LIMIT 1), 'BSKU-' || lpad(i::text, 7, '0'), 'BBC-' || i, 'Bench SKU ' || i,
       500, 100, 100, 100, 3.5, 'USD', true, now()
FROM generate_series(1, %(skus)s) AS i;

INSERT INTO inventory_supplier (code, name, email, phone, contact_name, currency, default_lead_time_days, is_active,
                                notes, created_at)
SELECT 'BSUP' || s, 'Bench supplier ' || s, '', '', '', 'USD', 7 + s %% 14, true, '', now()
FROM generate_series(1, %(suppliers)s) AS s;

INSERT INTO inventory_suppliersku (supplier_id, sku_id, supplier_sku_code, unit_cost, lead_time_days, min_order_qty,
                                   pack_size, is_preferred)
SELECT (SELECT id FROM inventory_supplier ORDER BY id OFFSET (k.id %% %(suppliers)s) LIMIT 1), k.id, '', 2.75, NULL,
       (ARRAY[1, 6, 12, 24])[1 + k.id %% 4], (ARRAY[1, 6, 12])[1 + (k.id / 4) %% 3], true
FROM inventory_sku k;

-- Stock through the ledger: a receipt movement per level, then the level that sums it.
INSERT INTO inventory_stockmovement (sku_id, warehouse_id, kind, on_hand_delta, allocated_delta, reserved_delta,
                                     reference, reason, note, actor, created_at)
SELECT k.id, w.id, 'receipt', (k.id * 37 + w.id * 11) %% 201, 0, 0, 'bench', '', '', 'system', now()
FROM inventory_sku k CROSS JOIN inventory_warehouse w
WHERE (k.id * 37 + w.id * 11) %% 201 > 0;

INSERT INTO inventory_stocklevel (sku_id, warehouse_id, on_hand, allocated, soft_reserved, updated_at)
SELECT sku_id, warehouse_id, on_hand_delta, 0, 0, now() FROM inventory_stockmovement;

INSERT INTO inventory_reorderrule (sku_id, warehouse_id, method, reorder_point, order_up_to, safety_stock,
                                   service_level, is_active, computed_at, updated_at)
SELECT k.id, w.id, 'static', 50, 150, 0, 0.95, true, NULL, now()
FROM inventory_sku k CROSS JOIN inventory_warehouse w;

ANALYZE;
"""


def positions_page_timings() -> list[dict]:
    """GET /api/v1/inventory/positions/ as staff, in process, at this data size."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIRequestFactory, force_authenticate

    from inventory.api import StockPositions

    staff = get_user_model().objects.create_user("bench-staff", is_staff=True)
    view = StockPositions.as_view()
    factory = APIRequestFactory()
    out = []
    for query in (
        {"page_size": 50},
        {"page_size": 200, "status": "low"},
        {"page_size": 50, "page": 500},
        {"page_size": 50, "warehouse": "BW2", "status": "over"},
    ):
        request = factory.get("/api/v1/inventory/positions/", query, HTTP_HOST="127.0.0.1")
        force_authenticate(request, staff)
        statements = 0

        def count(execute, sql, params, many, context):
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        view(request).render()  # warm
        with connection.execute_wrapper(count):
            t0 = time.perf_counter()
            response = view(request)
            response.render()
            ms = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, response.content[:300]
        out.append(
            {
                "query": query,
                "ms": round(ms, 1),
                "sql_statements": statements,
                "count": response.data["count"],
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100_000, help="reorder rules (SKUs x 3 warehouses)")
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_reorder")
    configure_environment()
    db = Database.from_url(os.environ["DATABASE_URL"])
    print(f"database {db.name}: recreating, migrating ...", flush=True)
    db.recreate()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from inventory.models import PurchaseOrder, PurchaseOrderLine, ReorderRule
    from inventory.replenishment import reorder_check
    from oms.actors import Actor

    call_command("migrate", verbosity=0)
    skus = -(-args.rules // WAREHOUSES)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL, {"warehouses": WAREHOUSES, "skus": skus, "suppliers": SUPPLIERS})
    seed_s = time.perf_counter() - started
    rules = ReorderRule.objects.count()
    print(f"seeded {skus} SKUs x {WAREHOUSES} warehouses = {rules} rules in {seed_s:.1f} s", flush=True)

    runs = []
    for label in ("first run", "second run"):
        statements = 0

        def count(execute, sql, params, many, context):
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            t0 = time.perf_counter()
            result = reorder_check(actor=Actor.system(), notify=True)
            elapsed = time.perf_counter() - t0
        run = {
            "run": label,
            "seconds": round(elapsed, 3),
            "sql_statements": statements,
            "positions_below": result.positions_below,
            "purchase_orders": len(result.purchase_orders),
            "lines": result.lines,
            "units": result.units,
            "without_supplier": len(result.without_supplier),
        }
        runs.append(run)
        print(
            f"{label}: {run['seconds']} s, {statements} SQL statements, {result.positions_below} positions "
            f"at/below reorder point, {len(result.purchase_orders)} draft POs, {result.lines} lines",
            flush=True,
        )

    pages = positions_page_timings()
    for page in pages:
        print(
            f"positions API {page['query']}: {page['ms']} ms, {page['sql_statements']} SQL statements, "
            f"{page['count']} matching positions",
            flush=True,
        )

    lines_total = PurchaseOrderLine.objects.count()
    pos_total = PurchaseOrder.objects.count()
    ok = runs[1]["purchase_orders"] == 0 and lines_total == runs[0]["lines"]
    print(
        f"check: second run drafted nothing and {pos_total} POs / {lines_total} lines exist: "
        f"{'PASS' if ok else 'FAIL'}"
    )
    report = {
        "benchmark": "reorder_check",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rules": rules,
        "seed_seconds": round(seed_s, 1),
        "runs": runs,
        "pass": ok,
        "machine": machine_info(),
    }
    if not args.no_json:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"reorder_check-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(report, indent=1, default=str))
        print(f"written: {path.relative_to(RESULTS_DIR.parent.parent)}")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
