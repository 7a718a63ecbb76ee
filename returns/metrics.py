"""Customer value metrics, rebuilt set-based: one INSERT ... SELECT ... ON
CONFLICT over every customer (never a Python loop per customer), and the
"most profitable customers" ranking read from the result.

It lives in returns, the top app, because it reads orders, order lines, SKUs,
shipments, returns and the exchange rates of the books; customers (a leaf)
only holds the result table, customers.CustomerMetrics.

What the figures mean (all in the base currency, settings.BASE_CURRENCY):

- revenue: grand totals (goods after discounts, shipping and tax, as charged)
  of the customer's orders that are not cancelled, each converted at the
  books' exchange rate of the order day (the newest rate on or before it, as
  business-event postings do). Grand totals rather than the journal, because
  journal lines carry no customer; they are exact and need no allocation.
  Refunds are gross too (refund_total includes refunded tax), so margin is
  computed on one consistent, tax-inclusive basis.
- cogs: order line unit_cost x quantity shipped (the cost when ordered, in the
  SKU's cost currency, at the order day's rate), less the cost of returned
  units put back on the shelf (disposition restock), as the books credit
  cost of goods sold for a restock.
- refunds: returns' refund_total, at the rate of the day the return completed.
- shipping_cost: the carrier cost of the customer's shipments that left
  (shipped, in transit, delivered, ...), at the rate of the day they shipped.
- margin = revenue - cogs - refunds - shipping_cost (each rounded first).
- order_count: orders not cancelled; average_order_value = revenue / count.
- return_rate = units received back / units shipped.
- RFM: recency (last order), frequency (order count) and monetary (revenue)
  scored 1-5 by quintile among customers with orders: 1 + floor(5 x
  percent_rank), so ties score the same; then named segments (segment_sql).

An amount in a currency with no rate on or before its day is left out of the
money figures (the books would have refused to post it without one).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounting.models import ExchangeRate
from customers.models import Customer, CustomerMetrics
from fulfillment.models import FulfillmentOrder
from fulfillment.models.shipments import FO_SHIPPED
from inventory.models import SKU
from oms.errors import InvalidInput
from oms.money import minor_units
from orders.models import Order, OrderLine

from .models import ReturnLine, ReturnRequest

RANKING_BY = ("margin", "revenue")
MAX_RANKING_LIMIT = 500
# Serializes refreshes: two at once would update every row in the same
# transaction-long race and could deadlock on the metrics rows.
REFRESH_LOCK = 7_000_701

SEGMENT_SQL = """
    CASE
        WHEN order_count = 0 THEN 'no_orders'
        WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
        WHEN r >= 3 AND f >= 4 THEN 'loyal'
        WHEN r >= 4 AND order_count = 1 THEN 'new'
        WHEN r >= 4 THEN 'promising'
        WHEN r <= 2 AND f >= 3 THEN 'at_risk'
        WHEN r <= 2 THEN 'lost'
        ELSE 'needs_attention'
    END
"""


def _refresh_sql() -> str:
    t = {
        "customer": Customer._meta.db_table,
        "metrics": CustomerMetrics._meta.db_table,
        "order": Order._meta.db_table,
        "line": OrderLine._meta.db_table,
        "sku": SKU._meta.db_table,
        "fo": FulfillmentOrder._meta.db_table,
        "rr": ReturnRequest._meta.db_table,
        "rl": ReturnLine._meta.db_table,
        "rate": ExchangeRate._meta.db_table,
    }
    shipped = ", ".join(f"'{s}'" for s in sorted(FO_SHIPPED))
    # Only table names and our own constants are interpolated; values go as parameters.
    return f"""
WITH o AS (
    SELECT id, customer_id, currency, grand_total, placed_at,
           (placed_at AT TIME ZONE %(tz)s)::date AS day
    FROM {t["order"]}
    WHERE status <> 'cancelled'
),
sales AS (
    SELECT customer_id, currency, day, count(*) AS n, sum(grand_total) AS amount,
           min(placed_at) AS first_at, max(placed_at) AS last_at
    FROM o GROUP BY customer_id, currency, day
),
costs AS (
    SELECT o.customer_id, s.cost_currency AS currency, o.day,
           sum(l.unit_cost * l.quantity_shipped) AS amount, sum(l.quantity_shipped) AS units
    FROM {t["line"]} l
    JOIN o ON o.id = l.order_id
    JOIN {t["sku"]} s ON s.id = l.sku_id
    WHERE l.quantity_shipped > 0
    GROUP BY o.customer_id, s.cost_currency, o.day
),
back AS (
    SELECT oo.customer_id, s.cost_currency AS currency,
           (oo.placed_at AT TIME ZONE %(tz)s)::date AS day,
           sum(rl.quantity_received) AS units,
           sum(CASE WHEN rl.disposition = 'restock' THEN rl.unit_cost * rl.quantity_received ELSE 0 END)
               AS amount
    FROM {t["rl"]} rl
    JOIN {t["rr"]} rr ON rr.id = rl.request_id
    JOIN {t["order"]} oo ON oo.id = rr.order_id
    JOIN {t["sku"]} s ON s.id = rl.sku_id
    WHERE rl.quantity_received > 0
    GROUP BY oo.customer_id, s.cost_currency, 3
),
refunds AS (
    SELECT oo.customer_id, oo.currency,
           (COALESCE(rr.completed_at, rr.updated_at) AT TIME ZONE %(tz)s)::date AS day,
           sum(rr.refund_total) AS amount
    FROM {t["rr"]} rr
    JOIN {t["order"]} oo ON oo.id = rr.order_id
    WHERE rr.refund_total > 0
    GROUP BY oo.customer_id, oo.currency, 3
),
ship AS (
    SELECT oo.customer_id, COALESCE(NULLIF(f.shipping_cost_currency, ''), oo.currency) AS currency,
           (COALESCE(f.shipped_at, f.delivered_at, f.created_at) AT TIME ZONE %(tz)s)::date AS day,
           sum(f.shipping_cost) AS amount
    FROM {t["fo"]} f
    JOIN {t["order"]} oo ON oo.id = f.order_id
    WHERE f.status IN ({shipped}) AND f.shipping_cost <> 0
    GROUP BY oo.customer_id, 2, 3
),
needed AS (
    SELECT currency, day FROM sales
    UNION SELECT currency, day FROM costs
    UNION SELECT currency, day FROM back
    UNION SELECT currency, day FROM refunds
    UNION SELECT currency, day FROM ship
),
fx AS (
    SELECT n.currency, n.day,
           CASE WHEN n.currency = %(base)s THEN 1 ELSE (
               SELECT r.rate FROM {t["rate"]} r
               WHERE r.currency = n.currency AND r.day <= n.day
               ORDER BY r.day DESC LIMIT 1
           ) END AS rate
    FROM needed n
),
rev AS (
    SELECT s.customer_id, sum(s.n) AS order_count, round(sum(s.amount * fx.rate), %(minor)s) AS revenue,
           min(s.first_at) AS first_at, max(s.last_at) AS last_at
    FROM sales s JOIN fx USING (currency, day) GROUP BY s.customer_id
),
cogs AS (
    SELECT c.customer_id, sum(c.amount * fx.rate) AS amount, sum(c.units) AS units
    FROM costs c JOIN fx USING (currency, day) GROUP BY c.customer_id
),
ret AS (
    SELECT b.customer_id, sum(b.amount * fx.rate) AS amount, sum(b.units) AS units
    FROM back b JOIN fx USING (currency, day) GROUP BY b.customer_id
),
refund AS (
    SELECT r.customer_id, round(sum(r.amount * fx.rate), %(minor)s) AS amount
    FROM refunds r JOIN fx USING (currency, day) GROUP BY r.customer_id
),
shipping AS (
    SELECT s.customer_id, round(sum(s.amount * fx.rate), %(minor)s) AS amount
    FROM ship s JOIN fx USING (currency, day) GROUP BY s.customer_id
),
agg AS (
    SELECT c.id AS customer_id,
           COALESCE(rev.revenue, 0) AS revenue,
           round(COALESCE(cogs.amount, 0) - COALESCE(ret.amount, 0), %(minor)s) AS cogs,
           COALESCE(refund.amount, 0) AS refunds,
           COALESCE(shipping.amount, 0) AS shipping_cost,
           COALESCE(rev.order_count, 0) AS order_count,
           COALESCE(cogs.units, 0) AS units_shipped,
           COALESCE(ret.units, 0) AS units_returned,
           rev.first_at, rev.last_at
    FROM {t["customer"]} c
    LEFT JOIN rev ON rev.customer_id = c.id
    LEFT JOIN cogs ON cogs.customer_id = c.id
    LEFT JOIN ret ON ret.customer_id = c.id
    LEFT JOIN refund ON refund.customer_id = c.id
    LEFT JOIN shipping ON shipping.customer_id = c.id
),
scored AS (
    SELECT agg.*,
           CASE WHEN order_count > 0 THEN LEAST(5, 1 + floor(5 * percent_rank() OVER (
               PARTITION BY order_count > 0 ORDER BY last_at))) END AS r,
           CASE WHEN order_count > 0 THEN LEAST(5, 1 + floor(5 * percent_rank() OVER (
               PARTITION BY order_count > 0 ORDER BY order_count))) END AS f,
           CASE WHEN order_count > 0 THEN LEAST(5, 1 + floor(5 * percent_rank() OVER (
               PARTITION BY order_count > 0 ORDER BY revenue))) END AS m
    FROM agg
)
INSERT INTO {t["metrics"]} AS cm (
    customer_id, currency, revenue, cogs, refunds, shipping_cost, margin, order_count,
    average_order_value, units_shipped, units_returned, return_rate, first_order_at, last_order_at,
    recency_score, frequency_score, monetary_score, segment, refreshed_at
)
SELECT customer_id, %(base)s, revenue, cogs, refunds, shipping_cost,
       revenue - cogs - refunds - shipping_cost,
       order_count,
       CASE WHEN order_count > 0 THEN round(revenue / order_count, %(minor)s) ELSE 0 END,
       units_shipped, units_returned,
       CASE WHEN units_shipped > 0 THEN round(units_returned::numeric / units_shipped, 4) END,
       first_at, last_at, r, f, m, {SEGMENT_SQL}, %(now)s
FROM scored
ON CONFLICT (customer_id) DO UPDATE SET
    currency = EXCLUDED.currency, revenue = EXCLUDED.revenue, cogs = EXCLUDED.cogs,
    refunds = EXCLUDED.refunds, shipping_cost = EXCLUDED.shipping_cost, margin = EXCLUDED.margin,
    order_count = EXCLUDED.order_count, average_order_value = EXCLUDED.average_order_value,
    units_shipped = EXCLUDED.units_shipped, units_returned = EXCLUDED.units_returned,
    return_rate = EXCLUDED.return_rate, first_order_at = EXCLUDED.first_order_at,
    last_order_at = EXCLUDED.last_order_at, recency_score = EXCLUDED.recency_score,
    frequency_score = EXCLUDED.frequency_score, monetary_score = EXCLUDED.monetary_score,
    segment = EXCLUDED.segment, refreshed_at = EXCLUDED.refreshed_at
"""  # noqa: S608


@transaction.atomic
def customer_metrics_refresh() -> int:
    """Recompute every customer's metrics in one statement; returns the rows written.
    Safe to run twice or concurrently (a transaction-level advisory lock queues them)."""
    base = settings.BASE_CURRENCY
    params = {
        "tz": settings.TIME_ZONE,
        "base": base,
        "minor": minor_units(base),
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        cursor.execute(_refresh_sql(), params)
        return cursor.rowcount


def customer_ranking(*, by: str = "margin", limit: int = 20):
    """The customers with orders, best first by margin (the most profitable)
    or revenue (the biggest spenders); ties broken by customer id."""
    if by not in RANKING_BY:
        raise InvalidInput.field("by", f"must be one of {', '.join(RANKING_BY)}")
    if not 1 <= limit <= MAX_RANKING_LIMIT:
        raise InvalidInput.field("limit", f"must be between 1 and {MAX_RANKING_LIMIT}")
    return (
        CustomerMetrics.objects.filter(order_count__gt=0)
        .select_related("customer")
        .order_by(f"-{by}", "customer_id")[:limit]
    )
