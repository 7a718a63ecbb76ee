"""Order invariants for `manage.py reconcile`."""

from __future__ import annotations

from django.db import connection

from oms.reconcile import check


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
