"""Fulfillment invariants for `manage.py reconcile`."""

from __future__ import annotations

from django.db import connection

from oms.reconcile import check

# Units an order line has allocated, and where: its open shipments' lines once
# it has any (a short pick may have moved part of a line elsewhere), else the
# line's own warehouse (placed, held or not yet sourced).
_OPEN_FO = "('pending', 'released', 'picking', 'packed')"
_EXPECTED = f"""
    SELECT fl.sku_id, fo.warehouse_id, SUM(fl.quantity - fl.quantity_short) AS qty
    FROM fulfillment_fulfillmentorderline fl
    JOIN fulfillment_fulfillmentorder fo ON fo.id = fl.fulfillment_order_id
    JOIN orders_order o ON o.id = fo.order_id
    WHERE fo.status IN {_OPEN_FO} AND o.status <> 'cancelled'
    GROUP BY fl.sku_id, fo.warehouse_id
    UNION ALL
    SELECT ol.sku_id, ol.warehouse_id, SUM(ol.quantity_allocated)
    FROM orders_orderline ol
    WHERE ol.warehouse_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM fulfillment_fulfillmentorderline fl
        JOIN fulfillment_fulfillmentorder fo ON fo.id = fl.fulfillment_order_id
        WHERE fl.order_line_id = ol.id AND fo.status <> 'cancelled'
    )
    GROUP BY ol.sku_id, ol.warehouse_id
"""  # noqa: S608 - constants only


@check("allocated stock equals what orders and their open shipments hold")
def allocated_equals_orders_and_shipments() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.code, w.code, COALESCE(l.allocated, 0), COALESCE(e.qty, 0)
            FROM inventory_stocklevel l
            FULL OUTER JOIN (
                SELECT sku_id, warehouse_id, SUM(qty) AS qty
                FROM ({_EXPECTED}) x GROUP BY sku_id, warehouse_id
            ) e ON e.sku_id = l.sku_id AND e.warehouse_id = l.warehouse_id
            JOIN inventory_sku s ON s.id = COALESCE(l.sku_id, e.sku_id)
            JOIN inventory_warehouse w ON w.id = COALESCE(l.warehouse_id, e.warehouse_id)
            WHERE COALESCE(l.allocated, 0) <> COALESCE(e.qty, 0)
            ORDER BY s.code, w.code
            """  # noqa: S608 - constants only
        )
        return [
            f"{sku} @ {wh}: allocated {lvl} != orders and open shipments {held}"
            for sku, wh, lvl, held in cursor.fetchall()
        ]


@check("order lines' allocations equal their open shipments")
def order_lines_equal_shipments() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT ol.order_id, ol.line_number, ol.quantity_allocated, x.qty
            FROM orders_orderline ol
            JOIN orders_order o ON o.id = ol.order_id
            JOIN (
                SELECT fl.order_line_id,
                       SUM(CASE WHEN fo.status IN {_OPEN_FO} THEN fl.quantity - fl.quantity_short ELSE 0 END)
                           AS qty
                FROM fulfillment_fulfillmentorderline fl
                JOIN fulfillment_fulfillmentorder fo ON fo.id = fl.fulfillment_order_id
                WHERE fo.status <> 'cancelled'
                GROUP BY fl.order_line_id
            ) x ON x.order_line_id = ol.id
            WHERE o.status <> 'cancelled' AND ol.quantity_allocated <> x.qty
            ORDER BY ol.order_id, ol.line_number LIMIT 100
            """  # noqa: S608 - constants only
        )
        return [
            f"order {order_id:08d} line {number}: allocated {alloc} != open shipments {held}"
            for order_id, number, alloc, held in cursor.fetchall()
        ]


@check("every shipment that left is in the books")
def shipments_are_booked() -> list[str]:
    """Goods that left (shipped or collected) have their goods-out entry, or
    (billed on account, goods without cost) their invoice."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT fo.id FROM fulfillment_fulfillmentorder fo
            WHERE fo.shipped_at IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM accounting_journalentry e
                WHERE e.source_type IN ('goods_out', 'invoice') AND e.source_ref = 'shipment:' || fo.id
            )
            ORDER BY fo.id LIMIT 100
            """
        )
        return [f"shipment F{row[0]:08d} left but is not in the books" for row in cursor.fetchall()]
