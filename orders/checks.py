"""Order invariants for `manage.py reconcile`."""

from __future__ import annotations

from django.db import connection

from oms.reconcile import check


@check("allocated stock equals open order lines' allocations")
def allocated_equals_order_lines() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.code, w.code, COALESCE(l.allocated, 0), COALESCE(o.qty, 0)
            FROM inventory_stocklevel l
            FULL OUTER JOIN (
                SELECT ol.sku_id, ol.warehouse_id, SUM(ol.quantity_allocated) AS qty
                FROM orders_orderline ol WHERE ol.warehouse_id IS NOT NULL
                GROUP BY ol.sku_id, ol.warehouse_id
            ) o ON o.sku_id = l.sku_id AND o.warehouse_id = l.warehouse_id
            JOIN inventory_sku s ON s.id = COALESCE(l.sku_id, o.sku_id)
            JOIN inventory_warehouse w ON w.id = COALESCE(l.warehouse_id, o.warehouse_id)
            WHERE COALESCE(l.allocated, 0) <> COALESCE(o.qty, 0)
            ORDER BY s.code, w.code
            """
        )
        return [
            f"{sku} @ {wh}: allocated {lvl} != order lines {lines}"
            for sku, wh, lvl, lines in cursor.fetchall()
        ]


@check("order totals add up")
def order_totals_add_up() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT o.id FROM orders_order o
            JOIN (SELECT order_id, SUM(line_total) AS lines FROM orders_orderline GROUP BY order_id) l
              ON l.order_id = o.id
            WHERE o.subtotal - o.discount_total <> l.lines
               OR o.grand_total <> l.lines + o.shipping_total
                                  + CASE WHEN o.prices_include_tax THEN 0 ELSE o.tax_total END
            ORDER BY o.id LIMIT 100
            """
        )
        return [f"order {row[0]:08d}: totals do not add up" for row in cursor.fetchall()]
