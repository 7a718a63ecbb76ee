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


@check("every captured or refunded card payment is in the books")
def card_payments_are_booked() -> list[str]:
    """Each successful capture has its card-capture entry and each refund its
    card-refund entry, moving card clearing by its amount and currency."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.kind, t.id, t.order_id, t.amount, t.currency, l.amount, l.currency
            FROM orders_paymenttransaction t
            LEFT JOIN accounting_journalentry e
              ON e.source_type = 'card_' || t.kind AND e.source_ref = t.kind || ':' || t.id
            LEFT JOIN accounting_journalline l
              ON l.entry_id = e.id
             AND l.account_id = (SELECT id FROM accounting_account WHERE code = '1100')
            WHERE t.kind IN ('capture', 'refund') AND t.success
              AND (l.id IS NULL OR l.amount <> t.amount OR l.currency <> t.currency)
            ORDER BY t.id LIMIT 100
            """
        )
        return [
            f"{kind} {pk} of order {order_id:08d} ({amount} {currency}): "
            + ("no journal entry" if booked is None else f"booked as {booked} {booked_currency}")
            for kind, pk, order_id, amount, currency, booked, booked_currency in cursor.fetchall()
        ]
