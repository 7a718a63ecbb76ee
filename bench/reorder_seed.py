"""The data set of `bench.reorder_check`, written with set-based SQL.

SKUs x 3 warehouses, 20 suppliers (a preferred one per SKU, MOQ 1/6/12/24,
pack 1/6/12), one reorder rule per position (static: reorder point 50, order
up to 150), stock through the ledger, and for a subset of the positions 112
days of daily demand history (allocations, then their shipments) whose rules
are forecast rules. Every insert names every NOT NULL column: Django's field
defaults are not database defaults, so a new column without one breaks the
seed loudly instead of silently.
"""

from __future__ import annotations

import time
from datetime import date

WAREHOUSES = 3
SUPPLIERS = 20
WAREHOUSE_SAFETY_STOCK = 5  # units every location holds back from ATP
SKU_SAFETY_STOCK = 10  # the per-SKU override, for 1 SKU in 10 in BW1
HISTORY_DAYS = 112  # what reorder_rules_recompute reads (forecasting.DEFAULT_HISTORY_DAYS)

CATALOGUE_SQL = """
INSERT INTO inventory_product (name, description, category, brand, is_active, created_at)
VALUES ('Bench product', '', 'bench', '', true, now());

INSERT INTO inventory_warehouse (code, name, kind, line1, city, region, postal_code, country, latitude, longitude,
                                 ships, allows_pickup, safety_stock, is_active, created_at)
SELECT 'BW' || w, 'Bench warehouse ' || w, 'dc', '', 'City', '', '', 'US', 40 + w, -74 - w, true, false,
       %(warehouse_safety_stock)s, true, now()
FROM generate_series(1, %(warehouses)s) AS w;

-- Created a year ago: the recompute starts a SKU's history at its creation.
INSERT INTO inventory_sku (product_id, code, barcode, name, weight_grams, length_mm, width_mm, height_mm, unit_cost,
                           cost_currency, is_fragile, is_active, created_at)
SELECT (SELECT id FROM inventory_product LIMIT 1), 'BSKU-' || lpad(i::text, 7, '0'), 'BBC-' || i, 'Bench SKU ' || i,
       500, 100, 100, 100, 3.5, 'USD', false, true, now() - interval '365 days'
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

INSERT INTO inventory_safetystock (sku_id, warehouse_id, quantity)
SELECT k.id, w.id, %(sku_safety_stock)s
FROM inventory_sku k JOIN inventory_warehouse w ON w.code = 'BW1'
WHERE k.id %% 10 = 0;
"""

# Demand positions: every `stride`-th SKU in every warehouse, in three
# profiles by (SKU, warehouse): 50 % slow (0.3 units/day: mostly zero days,
# so the forecast takes Croston's path), 35 % medium (2.5/day) and 15 % fast
# (10/day: no zero days, so Holt-Winters fits both seasonal forms). A weekly
# season (Mon-Fri 1.1, Sat 0.9, Sun 0.6) and deterministic noise from md5:
# qty = floor(mean x (0.5 + u1) + u2), whose expectation is the day's mean.
DEMAND_SQL = """
CREATE TEMP TABLE bench_demand_position AS
SELECT k.id AS sku_id, w.id AS warehouse_id,
       (ARRAY[0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3,
              2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 10, 10, 10])[1 + (k.id / %(stride)s + w.id) %% 20] AS rate
FROM (SELECT id FROM inventory_sku WHERE id %% %(stride)s = 0 ORDER BY id LIMIT %(forecast_skus)s) k
CROSS JOIN inventory_warehouse w;

CREATE TEMP TABLE bench_demand AS
SELECT sku_id, warehouse_id, day, floor(mean * (0.5 + u1) + u2)::int AS qty
FROM (
    SELECT p.sku_id, p.warehouse_id, %(today)s::date - d AS day,
           p.rate * (ARRAY[1.1, 1.1, 1.1, 1.1, 1.1, 0.9, 0.6])[extract(isodow FROM %(today)s::date - d)::int]
               AS mean,
           ('x' || substr(md5(concat(p.sku_id, ':', p.warehouse_id, ':', d)), 1, 8))::bit(32)::bigint
               / 4294967296.0 AS u1,
           ('x' || substr(md5(concat(p.sku_id, ':', p.warehouse_id, ':', d)), 9, 8))::bit(32)::bigint
               / 4294967296.0 AS u2
    FROM bench_demand_position p CROSS JOIN generate_series(1, %(history_days)s) AS d
) draws
WHERE floor(mean * (0.5 + u1) + u2) > 0;

-- The ledger in time order: the stock the history sold, received the day
-- before it starts; then each day's allocation (10:00) and its shipment (16:00).
-- (The reserve step of a real order is left out: demand reads allocations.)
INSERT INTO inventory_stockmovement (sku_id, warehouse_id, kind, on_hand_delta, allocated_delta, reserved_delta,
                                     reference, reason, note, actor, created_at)
SELECT sku_id, warehouse_id, 'receipt', SUM(qty), 0, 0, 'bench-history', '', '', 'system',
       (%(today)s::date - %(history_days)s - 1 + time '08:00') AT TIME ZONE %(tz)s
FROM bench_demand GROUP BY sku_id, warehouse_id ORDER BY sku_id, warehouse_id;

INSERT INTO inventory_stockmovement (sku_id, warehouse_id, kind, on_hand_delta, allocated_delta, reserved_delta,
                                     reference, reason, note, actor, created_at)
SELECT sku_id, warehouse_id, kind, on_hand_delta, allocated_delta, 0, 'bench-order', '', '', 'system', created_at
FROM (
    SELECT sku_id, warehouse_id, 'allocate' AS kind, 0 AS on_hand_delta, qty AS allocated_delta,
           (day + time '10:00') AT TIME ZONE %(tz)s AS created_at
    FROM bench_demand
    UNION ALL
    SELECT sku_id, warehouse_id, 'shipment', -qty, -qty, (day + time '16:00') AT TIME ZONE %(tz)s
    FROM bench_demand
) m
ORDER BY created_at, sku_id, warehouse_id;
"""

# Today's stock: a receipt per position of 0-200 units (so about a quarter of
# the positions are at or below the reorder point of 50), the levels that sum
# the ledger, and the rules (forecast where there is demand history).
STOCK_AND_RULES_SQL = """
INSERT INTO inventory_stockmovement (sku_id, warehouse_id, kind, on_hand_delta, allocated_delta, reserved_delta,
                                     reference, reason, note, actor, created_at)
SELECT k.id, w.id, 'receipt', (k.id * 37 + w.id * 11) %% 201, 0, 0, 'bench', '', '', 'system', now()
FROM inventory_sku k CROSS JOIN inventory_warehouse w
WHERE (k.id * 37 + w.id * 11) %% 201 > 0;

INSERT INTO inventory_stocklevel (sku_id, warehouse_id, on_hand, allocated, soft_reserved, updated_at)
SELECT sku_id, warehouse_id, SUM(on_hand_delta), SUM(allocated_delta), SUM(reserved_delta), now()
FROM inventory_stockmovement GROUP BY sku_id, warehouse_id;

INSERT INTO inventory_reorderrule (sku_id, warehouse_id, method, reorder_point, order_up_to, safety_stock,
                                   service_level, review_period_days, is_active, computed_at, computed_from,
                                   updated_at)
SELECT k.id, w.id, CASE WHEN p.sku_id IS NULL THEN 'static' ELSE 'forecast' END, 50, 150, 0, 0.95, 14, true,
       NULL, '{}', now()
FROM inventory_sku k CROSS JOIN inventory_warehouse w
LEFT JOIN bench_demand_position p ON p.sku_id = k.id AND p.warehouse_id = w.id;

DROP TABLE bench_demand;
DROP TABLE bench_demand_position;
ANALYZE;
"""

COUNTS_SQL = """
SELECT (SELECT count(*) FROM inventory_sku),
       (SELECT count(*) FROM inventory_reorderrule),
       (SELECT count(*) FROM inventory_reorderrule WHERE method = 'forecast'),
       (SELECT count(*) FROM inventory_stocklevel),
       (SELECT count(*) FROM inventory_stockmovement),
       (SELECT count(*) FROM inventory_stockmovement WHERE kind = 'allocate'),
       (SELECT count(*) FROM inventory_safetystock)
"""


def seed(*, skus: int, forecast_skus: int, today: date, tz: str) -> dict:
    """Write the data set into the (empty, migrated) database; returns what
    each step took and the row counts."""
    from django.db import connection

    params = {
        "warehouses": WAREHOUSES,
        "skus": skus,
        "suppliers": SUPPLIERS,
        "warehouse_safety_stock": WAREHOUSE_SAFETY_STOCK,
        "sku_safety_stock": SKU_SAFETY_STOCK,
        "forecast_skus": min(forecast_skus, skus),
        "stride": max(skus // max(forecast_skus, 1), 1),
        "history_days": HISTORY_DAYS,
        "today": today,
        "tz": tz,
    }
    steps = {}
    with connection.cursor() as cursor:
        for name, sql in (
            ("catalogue", CATALOGUE_SQL),
            ("demand_history", DEMAND_SQL),
            ("stock_and_rules", STOCK_AND_RULES_SQL),
        ):
            t0 = time.perf_counter()
            cursor.execute(sql, params)
            steps[name] = round(time.perf_counter() - t0, 1)
        cursor.execute(COUNTS_SQL)
        names = (
            "skus",
            "rules",
            "forecast_rules",
            "stock_levels",
            "movements",
            "allocations",
            "safety_stock",
        )
        counts = dict(zip(names, cursor.fetchone(), strict=True))
    return {"seconds": steps, "rows": counts}
