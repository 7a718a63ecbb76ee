"""The figures of the home dashboard, in a fixed number of SQL statements
whatever the number of orders.

What they mean (days are calendar days in settings.TIME_ZONE; amounts in the
base currency, settings.BASE_CURRENCY):

- orders / revenue: orders placed in the period that are not cancelled (a
  cancelled order is not a sale: it is left out of the count and of the
  revenue, whenever it was cancelled), by channel. Revenue is the grand
  total as charged (goods after discounts, shipping and tax) converted at the
  books' rate of the order day (the newest rate on or before it), as the
  customer value metrics do (returns.metrics). An order in a currency with no
  rate yet is counted but left out of revenue (`unconverted` says how many).
  Periods: today, the last 7 days and the last 30 days, today included.
- average order value: revenue / orders over the period (converted orders only).
- pipeline: open orders by status and their open shipments by status.
- late shipments: shipments not handed over by their ship-by day (or still
  here after the carrier's cut-off on that day), and parcels on their way
  past the delivery date promised at sourcing.
- orders in jeopardy: open orders predicted to miss their promise (see
  JEOPARDY_REASONS for the rules, first matching rule wins).
- backorders: orders waiting for stock; low stock: live (open or
  acknowledged) low-stock and stock-out alerts.
- return rate: units received back on returns that arrived in the last 30
  days / units that left the locations in those days (the stock ledger's
  shipment movements).

Closed days are read from the summary (models_dashboard) when it has them;
every other day (today always) is computed live from the orders.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounting.models import ExchangeRate
from fulfillment.models import CarrierService, FulfillmentOrder, LocationPolicy
from fulfillment.models.shipments import FO_OPEN
from inventory.models import StockAlert, StockMovement
from oms.models import Channel
from oms.money import round_money
from oms.outbox import handler
from orders.models import Order

from ..models import ReturnLine, ReturnRequest
from ..models_dashboard import DashboardDay, DashboardSales

WINDOW_DAYS = 30
PERIODS = (("today", 1), ("week", 7), ("month", WINDOW_DAYS))
JEOPARDY_LIST_SIZE = 25
# Serializes summary refreshes (two at once would delete each other's rows).
REFRESH_LOCK = 7_000_802

S = Order.Status
F = FulfillmentOrder.Status
# Orders still on their way to the customer's door, in pipeline order.
OPEN_ORDER_STATUSES = (S.ON_HOLD, S.BACKORDERED, S.ALLOCATED, S.FULFILLING, S.PARTIALLY_SHIPPED, S.SHIPPED)
# Orders with something not yet handed over to a carrier.
PRE_SHIPMENT_STATUSES = (S.ON_HOLD, S.BACKORDERED, S.ALLOCATED, S.FULFILLING, S.PARTIALLY_SHIPPED)
FO_PIPELINE = (
    F.PENDING,
    F.RELEASED,
    F.PICKING,
    F.PACKED,
    F.SHIPPED,
    F.IN_TRANSIT,
    F.OUT_FOR_DELIVERY,
    F.EXCEPTION,
)
FO_ON_THE_WAY = (F.SHIPPED, F.IN_TRANSIT, F.OUT_FOR_DELIVERY, F.EXCEPTION)
FO_NOT_PICKED = (F.PENDING, F.RELEASED)

# The rules of "orders in jeopardy", in the order they are tried.
JEOPARDY_REASONS = {
    "on_hold": _("On hold: nothing ships until it is released"),
    "no_incoming": _("Backordered: no stock on hand or on order covers it"),
    "incoming_after_promise": _("Backordered: the incoming stock ships it after the promised delivery date"),
    "backorder_date_passed": _("Backordered: the promised ship day has passed"),
    "promise_passed": _("The promised delivery date has passed and it has not shipped"),
    "missed_ship_by": _("Not handed over on its ship-by day"),
    "cutoff_passed": _("Due to ship today, and the carrier cut-off has passed"),
    "not_picked_near_cutoff": _("Due to ship today, not picked yet, and the carrier cut-off is close"),
}


def pick_lead() -> timedelta:
    """How long picking and packing take before a carrier's cut-off: a shipment
    still unpicked this close to its cut-off on its ship-by day is in jeopardy."""
    return timedelta(minutes=settings.DASHBOARD_PICK_LEAD_MINUTES)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_tz())


def _tables() -> dict[str, str]:
    return {
        "order": Order._meta.db_table,
        "rate": ExchangeRate._meta.db_table,
        "move": StockMovement._meta.db_table,
        "rl": ReturnLine._meta.db_table,
        "rr": ReturnRequest._meta.db_table,
        "day": DashboardDay._meta.db_table,
        "sales": DashboardSales._meta.db_table,
        "fo": FulfillmentOrder._meta.db_table,
        "service": CarrierService._meta.db_table,
        "policy": LocationPolicy._meta.db_table,
        "channel": Channel._meta.db_table,
        "alert": StockAlert._meta.db_table,
    }


def _sales_sql() -> str:
    """Orders placed in [%(since)s, %(until)s) that are not cancelled, per local
    day, channel and currency, with the base-currency value at the books' rate
    of the day (NULL rate: no rate yet, left out of the base amount)."""
    t = _tables()
    return f"""
    WITH o AS (
        SELECT (placed_at AT TIME ZONE %(tz)s)::date AS day, channel_id, currency,
               count(*) AS n, sum(grand_total) AS amount
        FROM {t["order"]}
        WHERE placed_at >= %(since)s AND placed_at < %(until)s AND status <> 'cancelled'
        GROUP BY 1, 2, 3
    )
    SELECT o.day, o.channel_id, o.currency, o.n, o.amount,
           COALESCE(o.amount * fx.rate, 0), CASE WHEN fx.rate IS NULL THEN o.n ELSE 0 END
    FROM o CROSS JOIN LATERAL (
        SELECT CASE WHEN o.currency = %(base)s THEN 1 ELSE (
            SELECT r.rate FROM {t["rate"]} r
            WHERE r.currency = o.currency AND r.day <= o.day ORDER BY r.day DESC LIMIT 1
        ) END AS rate
    ) AS fx
    """  # noqa: S608 - only our table names are interpolated


def _units_sql() -> str:
    """Units shipped (ledger shipment movements) and units received back on
    returns, per local day, in [%(since)s, %(until)s)."""
    t = _tables()
    return f"""
    SELECT 'shipped', (created_at AT TIME ZONE %(tz)s)::date, -sum(on_hand_delta)
    FROM {t["move"]}
    WHERE kind = 'shipment' AND created_at >= %(since)s AND created_at < %(until)s
    GROUP BY 2
    UNION ALL
    SELECT 'returned', (rr.received_at AT TIME ZONE %(tz)s)::date, sum(rl.quantity_received)
    FROM {t["rl"]} rl JOIN {t["rr"]} rr ON rr.id = rl.request_id
    WHERE rr.received_at >= %(since)s AND rr.received_at < %(until)s AND rl.quantity_received > 0
    GROUP BY 2
    """  # noqa: S608


def _params(since: date, until: date) -> dict:
    return {
        "tz": settings.TIME_ZONE,
        "base": settings.BASE_CURRENCY,
        "since": _midnight(since),
        "until": _midnight(until),
    }


# --- The summary of closed days ------------------------------------------------------


@transaction.atomic
def dashboard_days_refresh(*, first: date, last: date) -> int:
    """Summarize the days first..last (inclusive) from the orders, the stock
    ledger and the returns, replacing what was there; returns the days written.
    Set-based: one statement per table whatever the range. Safe to run twice
    or concurrently (a transaction-level advisory lock queues them)."""
    if last < first:
        return 0
    t = _tables()
    params = {**_params(first, last + timedelta(days=1)), "first": first, "last": last, "now": timezone.now()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        cursor.execute(f"DELETE FROM {t['sales']} WHERE day BETWEEN %(first)s AND %(last)s", params)  # noqa: S608
        cursor.execute(
            f"""
            WITH units AS (SELECT * FROM ({_units_sql()}) AS u (kind, day, units))
            INSERT INTO {t["day"]} AS d (day, base_currency, units_shipped, units_returned, refreshed_at)
            SELECT g::date, %(base)s,
                   COALESCE(sum(u.units) FILTER (WHERE u.kind = 'shipped'), 0),
                   COALESCE(sum(u.units) FILTER (WHERE u.kind = 'returned'), 0),
                   %(now)s
            FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS g
            LEFT JOIN units u ON u.day = g::date
            GROUP BY g
            ON CONFLICT (day) DO UPDATE SET
                base_currency = EXCLUDED.base_currency, units_shipped = EXCLUDED.units_shipped,
                units_returned = EXCLUDED.units_returned, refreshed_at = EXCLUDED.refreshed_at
            """,  # noqa: S608
            params,
        )
        written = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {t["sales"]} (day, channel_id, currency, orders, revenue, revenue_base, unconverted)
            {_sales_sql()}
            """,
            params,
        )
    return written


def dashboard_days_catch_up(*, today: date | None = None) -> int:
    """What the periodic task runs (hourly, say): summarize the closed days of
    the KPI window that are not summarized yet (or were in another base
    currency), and yesterday again in any case (an order placed just before
    midnight may have committed after the first summary of its day). Returns
    the days written."""
    today = today or timezone.localdate(timezone=_tz())
    first = today - timedelta(days=WINDOW_DAYS)
    done = set(
        DashboardDay.objects.filter(
            day__gte=first, day__lt=today, base_currency=settings.BASE_CURRENCY
        ).values_list("day", flat=True)
    )
    yesterday = today - timedelta(days=1)
    missing = [first + timedelta(days=i) for i in range(WINDOW_DAYS)]
    missing = [day for day in missing if day not in done or day == yesterday]
    return dashboard_days_refresh(first=missing[0], last=missing[-1])


def _order_day_changed(event) -> None:
    """An order of a day already summarized was cancelled or edited (its
    total changed): summarize that day again. Idempotent: it recomputes, it
    does not add. (Placement needs no handler: orders are placed today, and
    today is always computed live.)"""
    order = Order.objects.filter(pk=event.payload.get("order_id")).only("placed_at").first()
    if order is None:
        return
    day = timezone.localtime(order.placed_at, _tz()).date()
    if DashboardDay.objects.filter(day=day).exists():
        dashboard_days_refresh(first=day, last=day)


for _topic in ("order.cancelled", "order.edited"):
    handler(_topic, name=f"dashboard.summary.{_topic}")(_order_day_changed)


# --- The figures -----------------------------------------------------------------------


@dataclass
class ChannelSales:
    code: str
    name: str
    orders: dict[str, int] = field(default_factory=lambda: {p: 0 for p, _ in PERIODS})
    revenue: dict[str, Decimal] = field(default_factory=lambda: {p: Decimal(0) for p, _ in PERIODS})
    converted: dict[str, int] = field(default_factory=lambda: {p: 0 for p, _ in PERIODS})

    def aov(self, period: str) -> Decimal | None:
        n = self.converted[period]
        return round_money(self.revenue[period] / n, settings.BASE_CURRENCY) if n else None

    @property
    def aov_month(self) -> Decimal | None:
        return self.aov("month")


@dataclass
class Jeopardy:
    order_id: int
    reason: str
    due: date | None  # the date at stake (ship-by, promise, backorder date)
    cutoff: time | None
    note: str
    fo_status: str
    placed_at: datetime
    deliver_by: date | None
    channel: str
    is_vip: bool

    @property
    def number(self) -> str:
        return f"{self.order_id:08d}"

    @property
    def fo_status_label(self) -> str:
        return FulfillmentOrder.Status(self.fo_status).label if self.fo_status else ""

    @property
    def reason_text(self) -> str:
        return str(JEOPARDY_REASONS[self.reason])


@dataclass
class HomeKpis:
    currency: str
    today: date
    days: list[date]
    channels: list[ChannelSales]
    totals: ChannelSales
    unconverted: int
    orders_per_day: dict[str, list[int]]  # channel code -> orders per day of `days`
    order_pipeline: list[tuple[str, str, int]]  # status, label, count
    fo_pipeline: list[tuple[str, str, int]]
    late_to_ship: int
    late_in_transit: int
    backorders: int
    low_stock: int
    units_shipped: int
    units_returned: int
    jeopardy: list[Jeopardy]
    jeopardy_count: int
    summarized_days: int

    @property
    def return_rate(self) -> Decimal | None:
        if not self.units_shipped:
            return None
        return Decimal(self.units_returned) / Decimal(self.units_shipped)

    def period_total(self, period: str) -> dict:
        return {
            "orders": self.totals.orders[period],
            "revenue": round_money(self.totals.revenue[period], self.currency),
            "aov": self.totals.aov(period),
        }


def _sales_and_units(now: datetime, use_summary: bool) -> tuple[dict, dict, dict, int]:
    """(sales rows by (day, channel, currency), shipped units by day, returned
    units by day, days read from the summary) over the KPI window up to `now`."""
    today = now.date()
    start = today - timedelta(days=WINDOW_DAYS - 1)
    summarized = DashboardDay.objects.filter(
        day__gte=start, day__lt=today, base_currency=settings.BASE_CURRENCY
    )
    closed = {d.day: d for d in (summarized if use_summary else [])}
    window = [start + timedelta(days=i) for i in range(WINDOW_DAYS)]
    live = [d for d in window if d not in closed]
    since = live[0]  # today is always live
    params = {**_params(since, today), "until": now, "start": start, "closed": sorted(closed)}
    t = _tables()
    sales: dict[tuple[date, int, str], tuple[int, Decimal, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT day, channel_id, currency, orders, revenue_base, unconverted
            FROM {t["sales"]} WHERE day = ANY(%(closed)s::date[])
            UNION ALL
            SELECT day, channel_id, currency, n, base, unconverted FROM (
                SELECT * FROM ({_sales_sql()}) AS s (day, channel_id, currency, n, amount, base, unconverted)
            ) AS live WHERE NOT day = ANY(%(closed)s::date[])
            """,  # noqa: S608
            params,
        )
        for day, channel_id, currency, n, base, unconverted in cursor.fetchall():
            sales[(day, channel_id, currency)] = (n, base, unconverted)
        cursor.execute(
            f"SELECT * FROM ({_units_sql()}) AS u (kind, day, units) WHERE NOT day = ANY(%(closed)s::date[])",  # noqa: S608
            params,
        )
        shipped: dict[date, int] = defaultdict(int)
        returned: dict[date, int] = defaultdict(int)
        for kind, day, units in cursor.fetchall():
            (shipped if kind == "shipped" else returned)[day] += int(units or 0)
    for day, summary in closed.items():
        shipped[day] += summary.units_shipped
        returned[day] += summary.units_returned
    return sales, shipped, returned, len(closed)


# The open shipments of one open order (o.id), through the index on order_id.
# Open orders are few and their shipments a sliver of all shipments (most are
# delivered), so this is driven from the orders; OFFSET 0 keeps the planner
# from flattening it into a hash join that scans every shipment.
_FO_OF_ORDER = f"""
    SELECT f.status, f.ship_by, f.promised_delivery, f.service_id, f.warehouse_id
    FROM {FulfillmentOrder._meta.db_table} f
    WHERE f.order_id = o.id AND f.status = ANY(%(fo_pipeline)s)
    OFFSET 0
"""  # noqa: S608


def _pipeline_and_late(today: date, now_local: datetime) -> tuple[dict, dict, int, int, int]:
    t = _tables()
    open_statuses = list(OPEN_ORDER_STATUSES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH open_orders AS MATERIALIZED (
                SELECT id, status FROM {t["order"]} WHERE status = ANY(%(open)s)
            ),
            open_fo AS MATERIALIZED (
                SELECT o.status AS order_status, f.status, f.ship_by, f.promised_delivery,
                       COALESCE(s.cutoff_time, p.cutoff_time) AS cutoff
                FROM open_orders o
                CROSS JOIN LATERAL ({_FO_OF_ORDER}) AS f
                LEFT JOIN {t["service"]} s ON s.id = f.service_id
                LEFT JOIN {t["policy"]} p ON p.warehouse_id = f.warehouse_id
            )
            SELECT 'order', status, count(*) FROM open_orders GROUP BY status
            UNION ALL
            SELECT 'fo', status, count(*) FROM open_fo GROUP BY status
            UNION ALL
            SELECT 'late_to_ship', '', count(*) FROM open_fo
            WHERE order_status = ANY(%(pre)s) AND status = ANY(%(fo_open)s)
              AND (ship_by < %(today)s OR (ship_by = %(today)s AND cutoff < %(now_time)s))
            UNION ALL
            SELECT 'late_in_transit', '', count(*) FROM open_fo
            WHERE status = ANY(%(on_the_way)s) AND promised_delivery < %(today)s
            UNION ALL
            SELECT 'low_stock', '', count(*) FROM {t["alert"]}
            WHERE status IN ('open', 'acknowledged') AND kind IN ('low', 'out')
            """,  # noqa: S608
            {
                "open": open_statuses,
                "pre": list(PRE_SHIPMENT_STATUSES),
                "fo_pipeline": list(FO_PIPELINE),
                "fo_open": list(FO_OPEN),
                "on_the_way": list(FO_ON_THE_WAY),
                "today": today,
                "now_time": now_local.time(),
            },
        )
        rows = cursor.fetchall()
    orders = {status: n for kind, status, n in rows if kind == "order"}
    fos = {status: n for kind, status, n in rows if kind == "fo"}
    single = {kind: n for kind, _, n in rows if kind not in ("order", "fo")}
    return (
        orders,
        fos,
        single.get("late_to_ship", 0),
        single.get("late_in_transit", 0),
        single.get("low_stock", 0),
    )


def _jeopardy(today: date, now_local: datetime, limit: int) -> tuple[list[Jeopardy], int]:
    """Open orders predicted to miss their promise, most urgent first, and how
    many there are. One statement: each rule is a branch; an order takes the
    first rule it matches (rank)."""
    t = _tables()
    soon = now_local + pick_lead()
    soon_time = soon.time() if soon.date() == now_local.date() else time.max
    sql = f"""
    WITH active AS (
        SELECT id, status, hold_reason, deliver_by, promised_at
        FROM {t["order"]} WHERE status = ANY(%(pre)s)
    ),
    fo AS (
        SELECT o.id AS order_id, f.status, f.ship_by, COALESCE(s.cutoff_time, p.cutoff_time) AS cutoff
        FROM active o
        CROSS JOIN LATERAL ({_FO_OF_ORDER}) AS f
        LEFT JOIN {t["service"]} s ON s.id = f.service_id
        LEFT JOIN {t["policy"]} p ON p.warehouse_id = f.warehouse_id
        WHERE f.status = ANY(%(fo_open)s) AND f.ship_by <= %(today)s
    ),
    reasons AS (
        SELECT id AS order_id, 1 AS rank, 'on_hold' AS reason, deliver_by AS due, NULL::time AS cutoff,
               hold_reason AS note, '' AS fo_status
        FROM active WHERE status = 'on_hold'
        UNION ALL
        SELECT id, 2, 'no_incoming', deliver_by, NULL, '', '' FROM active
        WHERE status = 'backordered' AND promised_at IS NULL
        UNION ALL
        SELECT id, 3, 'incoming_after_promise', promised_at, NULL, '', '' FROM active
        WHERE status = 'backordered' AND deliver_by IS NOT NULL AND promised_at >= deliver_by
        UNION ALL
        SELECT id, 4, 'backorder_date_passed', promised_at, NULL, '', '' FROM active
        WHERE status = 'backordered' AND promised_at < %(today)s
        UNION ALL
        SELECT id, 5, 'promise_passed', deliver_by, NULL, '', '' FROM active
        WHERE status <> 'on_hold' AND status <> 'backordered' AND deliver_by < %(today)s
        UNION ALL
        SELECT order_id, 6, 'missed_ship_by', ship_by, cutoff, '', status FROM fo WHERE ship_by < %(today)s
        UNION ALL
        SELECT order_id, 7, 'cutoff_passed', ship_by, cutoff, '', status FROM fo
        WHERE ship_by = %(today)s AND cutoff < %(now_time)s
        UNION ALL
        SELECT order_id, 8, 'not_picked_near_cutoff', ship_by, cutoff, '', status FROM fo
        WHERE ship_by = %(today)s AND status = ANY(%(not_picked)s) AND cutoff >= %(now_time)s
              AND cutoff <= %(soon_time)s
    ),
    first AS (
        SELECT DISTINCT ON (order_id) * FROM reasons ORDER BY order_id, rank, due NULLS LAST
    )
    SELECT j.order_id, j.reason, j.due, j.cutoff, j.note, j.fo_status, o.placed_at, o.deliver_by,
           c.code, o.is_vip, count(*) OVER () AS total
    FROM first j
    JOIN {t["order"]} o ON o.id = j.order_id
    JOIN {t["channel"]} c ON c.id = o.channel_id
    ORDER BY o.is_vip DESC, LEAST(j.due, o.deliver_by) NULLS LAST, o.placed_at, o.id
    LIMIT %(limit)s
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "pre": list(PRE_SHIPMENT_STATUSES),
                "fo_pipeline": list(FO_PIPELINE),
                "fo_open": list(FO_OPEN),
                "not_picked": list(FO_NOT_PICKED),
                "today": today,
                "now_time": now_local.time(),
                "soon_time": soon_time,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    items = [Jeopardy(*row[:10]) for row in rows]
    return items, (rows[0][10] if rows else 0)


def _labelled(model_status, counts: dict, order: tuple) -> list[tuple[str, str, int]]:
    labels = dict(model_status.choices)
    return [(status, labels[status], counts.get(status, 0)) for status in order]


def home_kpis(
    *, now: datetime | None = None, jeopardy_limit: int = JEOPARDY_LIST_SIZE, use_summary: bool = True
) -> HomeKpis:
    """Every figure of the home page, in six SQL statements. `use_summary=False`
    computes every day live from the orders (to check the summary against)."""
    now_local = timezone.localtime(now or timezone.now(), _tz())
    today = now_local.date()
    base = settings.BASE_CURRENCY
    sales, shipped, returned, summarized = _sales_and_units(now_local, use_summary)
    channel_rows = {c.pk: c for c in Channel.objects.only("code", "name").order_by("code")}
    days = [today - timedelta(days=WINDOW_DAYS - 1 - i) for i in range(WINDOW_DAYS)]
    day_index = {d: i for i, d in enumerate(days)}
    by_channel: dict[int, ChannelSales] = {}
    totals = ChannelSales(code="", name=str(_("All channels")))
    per_day: dict[str, list[int]] = {}
    unconverted = 0
    for (day, channel_id, _currency), (n, amount, not_converted) in sorted(sales.items()):
        channel = channel_rows[channel_id]
        row = by_channel.setdefault(channel_id, ChannelSales(code=channel.code, name=channel.name))
        per_day.setdefault(channel.code, [0] * WINDOW_DAYS)[day_index[day]] += n
        age = (today - day).days
        for period, length in PERIODS:
            if age < length:
                for target in (row, totals):
                    target.orders[period] += n
                    target.revenue[period] += amount
                    target.converted[period] += n - not_converted
        unconverted += not_converted
    for target in [*by_channel.values(), totals]:
        target.revenue = {p: round_money(v, base) for p, v in target.revenue.items()}
    orders, fos, late_to_ship, late_in_transit, low_stock = _pipeline_and_late(today, now_local)
    jeopardy, jeopardy_count = _jeopardy(today, now_local, jeopardy_limit)
    return HomeKpis(
        currency=base,
        today=today,
        days=days,
        channels=sorted(by_channel.values(), key=lambda c: (-c.revenue["month"], c.code)),
        totals=totals,
        unconverted=unconverted,
        orders_per_day=dict(sorted(per_day.items())),
        order_pipeline=_labelled(Order.Status, orders, OPEN_ORDER_STATUSES),
        fo_pipeline=_labelled(FulfillmentOrder.Status, fos, FO_PIPELINE),
        late_to_ship=late_to_ship,
        late_in_transit=late_in_transit,
        backorders=orders.get(S.BACKORDERED, 0),
        low_stock=low_stock,
        units_shipped=sum(shipped.values()),
        units_returned=sum(returned.values()),
        jeopardy=jeopardy,
        jeopardy_count=jeopardy_count,
        summarized_days=summarized,
    )
