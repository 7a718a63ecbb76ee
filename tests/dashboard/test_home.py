"""The home dashboard: KPI figures against hand-computed expectations on a
small data set (two channels, three currencies, the today / 7 / 30 day
boundaries, a cancelled order left out, an order without an exchange rate),
the daily summary giving the same figures as the live computation and kept
right by the outbox handler, the rules of "orders in jeopardy", the htmx
fragment, roles and a constant number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection

from accounting.models import ExchangeRate
from customers.models import Customer
from fulfillment.models import Carrier, CarrierService, FulfillmentOrder, LocationPolicy
from inventory.models import StockAlert, StockMovement
from oms.outbox import handlers_for
from orders.models import Order, OrderLine
from returns.dashboard.kpis import dashboard_days_catch_up, dashboard_days_refresh, home_kpis
from returns.models import DashboardDay, DashboardSales, ReturnLine, ReturnRequest
from tests.dashboard.conftest import assert_constant_queries, page_queries
from tests.factories import ChannelFactory, SKUFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
D = Decimal
NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)  # a Wednesday, noon
TODAY = NOW.date()
S = Order.Status
F = FulfillmentOrder.Status


@pytest.fixture(autouse=True)
def _base(settings):
    settings.BASE_CURRENCY = "USD"
    settings.TIME_ZONE = "UTC"


def at(days_ago: int, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hh, mm, ss), tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.web = ChannelFactory(code="WEB", name="Web store", currency="USD")
        self.eu = ChannelFactory(code="EU", name="EU store", currency="EUR")
        self.customer = Customer.objects.create(email="ada@example.com", first_name="Ada", last_name="L")
        self.warehouse = WarehouseFactory(code="DC1")
        self.sku = SKUFactory()
        self.made = 0

    def order(
        self, channel, total: str, placed_at: datetime, status=S.DELIVERED, currency=None, **extra
    ) -> Order:
        self.made += 1
        return Order.objects.create(
            channel=channel,
            customer=self.customer,
            status=status,
            email=self.customer.email,
            shipping_address={"country": "US"},
            ship_country="US",
            currency=currency or channel.currency,
            subtotal=D(total),
            discount_total=0,
            shipping_total=0,
            tax_total=0,
            grand_total=D(total),
            placed_at=placed_at,
            **extra,
        )

    def fo(self, order, status, **extra) -> FulfillmentOrder:
        return FulfillmentOrder.objects.create(order=order, warehouse=self.warehouse, status=status, **extra)

    def shipped_units(self, units: int, when: datetime) -> None:
        # The ledger is append-only (a trigger refuses updates) and created_at
        # is set on insert by Django: write a past movement directly.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {StockMovement._meta.db_table} (sku_id, warehouse_id, kind, on_hand_delta,"  # noqa: S608
                " allocated_delta, reserved_delta, reference, reason, note, actor, created_at)"
                " VALUES (%s, %s, 'shipment', %s, %s, 0, 'test', '', '', 'test', %s)",
                [self.sku.pk, self.warehouse.pk, -units, -units, when],
            )


@pytest.fixture
def world():
    return World()


@pytest.fixture
def sales(world):
    """Orders placed around the window's edges, in USD, EUR (rated) and GBP (no rate)."""
    w = world
    ExchangeRate.objects.create(currency="EUR", day=TODAY - timedelta(days=10), rate=D("1.10"))
    ExchangeRate.objects.create(currency="EUR", day=TODAY - timedelta(days=2), rate=D("1.20"))
    orders = {
        "a": w.order(w.web, "100.00", at(0, 0, 0, 0)),  # today's first second
        "b": w.order(w.web, "50.00", at(1, 23, 59, 59)),  # yesterday's last second: 7 days, not today
        "c": w.order(w.web, "30.00", at(29, 0, 0, 0)),  # the window's first day
        "d": w.order(w.web, "999.00", at(30, 23, 59, 59)),  # just outside the window
        "e": w.order(w.web, "70.00", at(0, 9), status=S.CANCELLED),  # cancelled: not a sale
        "f": w.order(w.eu, "100.00", at(0, 8)),  # EUR at today's rate 1.20 -> 120.00
        "g": w.order(w.eu, "200.00", at(5, 8)),  # EUR at the rate of 10 days ago, 1.10 -> 220.00
        "h": w.order(w.eu, "10.00", at(0, 9), currency="GBP"),  # no GBP rate: counted, not in revenue
        "future": w.order(w.web, "5.00", NOW + timedelta(hours=1)),  # placed after "now"
    }
    return orders


def check_sales(k) -> None:
    assert k.currency == "USD"
    assert k.period_total("today") == {"orders": 3, "revenue": D("220.00"), "aov": D("110.00")}
    assert k.period_total("week") == {"orders": 5, "revenue": D("490.00"), "aov": D("122.50")}
    assert k.period_total("month") == {"orders": 6, "revenue": D("520.00"), "aov": D("104.00")}
    assert k.unconverted == 1
    rows = {c.code: c for c in k.channels}
    assert [c.code for c in k.channels] == ["EU", "WEB"]  # biggest 30-day revenue first
    assert rows["WEB"].orders == {"today": 1, "week": 2, "month": 3}
    assert rows["WEB"].revenue == {"today": D("100.00"), "week": D("150.00"), "month": D("180.00")}
    assert rows["EU"].orders == {"today": 2, "week": 3, "month": 3}
    assert rows["EU"].revenue == {"today": D("120.00"), "week": D("340.00"), "month": D("340.00")}
    assert rows["EU"].aov("month") == D("170.00")
    assert k.orders_per_day["WEB"][-1] == 1 and k.orders_per_day["WEB"][-2] == 1
    assert k.orders_per_day["WEB"][0] == 1 and sum(k.orders_per_day["WEB"]) == 3
    assert k.orders_per_day["EU"][-1] == 2 and k.orders_per_day["EU"][-6] == 1
    assert k.days[0] == TODAY - timedelta(days=29) and k.days[-1] == TODAY


def test_sales_by_channel_in_the_base_currency(sales):
    k = home_kpis(now=NOW)
    assert k.summarized_days == 0
    check_sales(k)


def test_the_summary_gives_the_same_figures_and_today_stays_live(world, sales):
    written = dashboard_days_refresh(first=TODAY - timedelta(days=40), last=TODAY - timedelta(days=1))
    assert written == 40
    assert DashboardSales.objects.filter(day=TODAY - timedelta(days=5)).get().revenue_base == D("220.0000")
    k = home_kpis(now=NOW)
    assert k.summarized_days == 29
    check_sales(k)
    # An order placed today after the refresh shows at once (today is live).
    world.order(world.web, "10.00", at(0, 11))
    assert home_kpis(now=NOW).period_total("today")["orders"] == 4
    # A summary in another base currency is not used.
    DashboardDay.objects.update(base_currency="EUR")
    assert home_kpis(now=NOW).summarized_days == 0


def test_cancelling_an_order_of_a_summarized_day_recomputes_it(sales):
    dashboard_days_refresh(first=TODAY - timedelta(days=30), last=TODAY - timedelta(days=1))
    Order.objects.filter(pk=sales["g"].pk).update(status=S.CANCELLED, cancelled_at=NOW)
    stale = home_kpis(now=NOW).period_total("week")
    assert stale["orders"] == 5  # the summary still has it until the event is handled
    handler = handlers_for("order.cancelled")["dashboard.summary.order.cancelled"]
    handler(SimpleNamespace(payload={"order_id": sales["g"].pk}))
    handler(SimpleNamespace(payload={"order_id": sales["g"].pk}))  # at least once: twice changes nothing
    week = home_kpis(now=NOW).period_total("week")
    assert week == {"orders": 4, "revenue": D("270.00"), "aov": D("90.00")}  # H has no rate
    assert home_kpis(now=NOW, use_summary=False).period_total("week") == week


def test_catch_up_summarizes_the_missing_closed_days_and_yesterday(sales):
    assert dashboard_days_catch_up(today=TODAY) == 30
    assert dashboard_days_catch_up(today=TODAY) == 1  # yesterday, again
    DashboardDay.objects.filter(day=TODAY - timedelta(days=3)).delete()
    assert dashboard_days_catch_up(today=TODAY) == 3  # from the missing day to yesterday
    assert not DashboardDay.objects.filter(day=TODAY).exists()
    assert "dashboard.summary.order.placed" not in handlers_for("order.placed")


def test_return_rate_is_units_back_over_units_shipped_in_30_days(world, sales):
    w = world
    w.shipped_units(10, at(0, 9))
    w.shipped_units(10, at(3))
    w.shipped_units(5, at(31))  # before the window
    line = OrderLine.objects.create(
        order=sales["b"], line_number=1, sku=w.sku, quantity=3, unit_price=D("10"), line_total=D("30")
    )
    for received_at, units in ((at(2), 3), (at(40), 2)):
        ret = ReturnRequest.objects.create(
            order=sales["b"],
            channel=w.web,
            customer=w.customer,
            status=ReturnRequest.Status.RECEIVED,
            source=ReturnRequest.Source.CUSTOMER,
            location=w.warehouse,
            return_shipping_paid_by="customer",
            received_at=received_at,
        )
        ReturnLine.objects.create(
            request=ret,
            order_line=line,
            sku=w.sku,
            quantity=units,
            reason="size_fit",
            quantity_received=units,
        )
    k = home_kpis(now=NOW)
    assert (k.units_shipped, k.units_returned) == (20, 3)
    assert k.return_rate == D("0.15")
    dashboard_days_refresh(first=TODAY - timedelta(days=45), last=TODAY - timedelta(days=1))
    k = home_kpis(now=NOW)
    assert (k.units_shipped, k.units_returned, k.summarized_days) == (20, 3, 29)


@pytest.fixture
def pipeline(world):
    """Open orders placed 40 days ago (outside the sales window), one per
    jeopardy rule and a few that are fine. The location cuts off at 11:00; a
    carrier service at 13:00. Now is 12:00."""
    w = world
    LocationPolicy.objects.create(warehouse=w.warehouse, cutoff_time=time(11, 0))
    carrier = Carrier.objects.create(code="ups", name="UPS", currency="USD", tracking_prefix="1Z")
    late_service = CarrierService.objects.create(
        carrier=carrier, code="ground", name="Ground", level="ground", cutoff_time=time(13, 0)
    )
    old = at(40)
    today, yesterday, tomorrow = TODAY, TODAY - timedelta(days=1), TODAY + timedelta(days=1)
    o = {}
    o["hold"] = w.order(w.web, "10", old, S.ON_HOLD, hold_reason="Fraud check")
    o["no_incoming"] = w.order(w.web, "10", old, S.BACKORDERED)
    o["after_promise"] = w.order(
        w.web,
        "10",
        old,
        S.BACKORDERED,
        deliver_by=today + timedelta(days=3),
        promised_at=today + timedelta(days=5),
    )
    o["backorder_passed"] = w.order(w.web, "10", old, S.BACKORDERED, promised_at=yesterday)
    o["backorder_fine"] = w.order(w.web, "10", old, S.BACKORDERED, promised_at=tomorrow)
    o["promise_passed"] = w.order(w.web, "10", old, S.ALLOCATED, deliver_by=yesterday)
    o["missed_ship_by"] = w.order(w.web, "10", old, S.FULFILLING)
    w.fo(o["missed_ship_by"], F.RELEASED, ship_by=yesterday)
    o["cutoff_passed"] = w.order(w.web, "10", old, S.FULFILLING)
    w.fo(o["cutoff_passed"], F.PACKED, ship_by=today)
    o["near_cutoff"] = w.order(w.web, "10", old, S.FULFILLING, is_vip=True)
    w.fo(o["near_cutoff"], F.PENDING, ship_by=today, service=late_service)
    o["picking"] = w.order(w.web, "10", old, S.FULFILLING)
    w.fo(o["picking"], F.PICKING, ship_by=today, service=late_service)
    o["tomorrow"] = w.order(w.web, "10", old, S.FULFILLING)
    w.fo(o["tomorrow"], F.RELEASED, ship_by=tomorrow)
    o["in_transit_late"] = w.order(w.web, "10", old, S.SHIPPED)
    w.fo(o["in_transit_late"], F.IN_TRANSIT, ship_by=old.date(), promised_delivery=yesterday)
    o["delivered"] = w.order(w.web, "10", old, S.DELIVERED, deliver_by=old.date())
    w.fo(o["delivered"], F.DELIVERED, ship_by=old.date())
    for kind, status in (("low", "open"), ("out", "acknowledged"), ("low", "resolved"), ("over", "open")):
        StockAlert.objects.create(
            kind=kind, status=status, sku=SKUFactory(), warehouse=w.warehouse, message="m", last_seen_at=NOW
        )
    return o


def test_pipeline_late_shipments_backorders_and_low_stock(pipeline):
    k = home_kpis(now=NOW)
    assert [(status, n) for status, _, n in k.order_pipeline] == [
        ("on_hold", 1),
        ("backordered", 4),
        ("allocated", 1),
        ("fulfilling", 5),
        ("partially_shipped", 0),
        ("shipped", 1),
    ]
    fos = {status: n for status, _, n in k.fo_pipeline}
    assert fos == {
        "pending": 1,
        "released": 2,
        "picking": 1,
        "packed": 1,
        "shipped": 0,
        "in_transit": 1,
        "out_for_delivery": 0,
        "exception": 0,
    }
    assert (k.late_to_ship, k.late_in_transit) == (2, 1)  # missed ship-by + cut-off passed; in transit
    assert k.backorders == 4
    assert k.low_stock == 2  # live low and stock-out alerts only


def test_orders_in_jeopardy_with_their_reason(pipeline):
    k = home_kpis(now=NOW)
    reasons = {item.order_id: item.reason for item in k.jeopardy}
    expected = {
        "hold": "on_hold",
        "no_incoming": "no_incoming",
        "after_promise": "incoming_after_promise",
        "backorder_passed": "backorder_date_passed",
        "promise_passed": "promise_passed",
        "missed_ship_by": "missed_ship_by",
        "cutoff_passed": "cutoff_passed",
        "near_cutoff": "not_picked_near_cutoff",
    }
    assert reasons == {pipeline[key].pk: reason for key, reason in expected.items()}
    assert k.jeopardy_count == 8
    assert k.jeopardy[0].order_id == pipeline["near_cutoff"].pk  # VIP first
    by_id = {item.order_id: item for item in k.jeopardy}
    hold = by_id[pipeline["hold"].pk]
    assert hold.note == "Fraud check" and "On hold" in hold.reason_text
    near = by_id[pipeline["near_cutoff"].pk]
    assert (near.cutoff, near.fo_status_label) == (time(13, 0), "Pending")
    assert by_id[pipeline["cutoff_passed"].pk].cutoff == time(11, 0)  # the location's cut-off
    # An hour earlier the 13:00 cut-off is three hours away and 11:00 has not passed.
    earlier = {item.order_id: item.reason for item in home_kpis(now=NOW - timedelta(hours=2)).jeopardy}
    assert pipeline["near_cutoff"].pk not in earlier and pipeline["cutoff_passed"].pk not in earlier
    # The list is capped; the count is not.
    short = home_kpis(now=NOW, jeopardy_limit=3)
    assert (len(short.jeopardy), short.jeopardy_count) == (3, 8)


def test_home_page_shows_the_kpis_with_links(role_client, world, pipeline):
    world.order(world.web, "42.00", datetime.now(UTC))
    client = role_client("manager")
    _, response = page_queries(client, "/dashboard/")
    html = response.content.decode()
    assert 'id="kpis"' in html and 'hx-trigger="every 15s"' in html
    assert "Orders in jeopardy" in html and "Fraud check" in html
    assert f'href="/dashboard/orders/{pipeline["hold"].number}/"' in html
    assert "/dashboard/orders/?status=backordered" in html
    assert "/dashboard/inventory/?status=low" in html
    assert "Web store" in html and "$42.00" in html
    assert 'data-figure="' in html and "vendor/plotly.min.js" in html


def test_the_kpi_block_answers_htmx_alone(role_client, world):
    world.order(world.web, "42.00", datetime.now(UTC))
    _, response = page_queries(role_client("customer_service"), "/dashboard/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="kpis"')
    assert "<html" not in html and "sidebar" not in html


def test_roles(role_client, world):
    for role in ("manager", "customer_service", "warehouse", "accounting"):
        assert role_client(role).get("/dashboard/").status_code == 200
    assert role_client().get("/dashboard/").status_code == 403
    anonymous = role_client("manager")
    anonymous.logout()
    assert anonymous.get("/dashboard/").status_code == 302


def test_constant_queries(role_client, world, pipeline):
    client = role_client("manager")
    n = [0]

    def grow():
        n[0] += 1
        channel = ChannelFactory(code=f"NEW{n[0]}", currency="USD")
        for days_ago in (0, 3, 20):
            world.order(channel, "10.00", datetime.now(UTC) - timedelta(days=days_ago))
        late = world.order(channel, "10", at(40), S.FULFILLING)
        world.fo(late, F.RELEASED, ship_by=TODAY - timedelta(days=2))
        world.order(channel, "10", at(40), S.ON_HOLD, hold_reason="Address check")
        world.order(channel, "10", at(40), S.BACKORDERED)

    count = assert_constant_queries(client, "/dashboard/", grow)
    assert assert_constant_queries(client, "/dashboard/", grow, HTTP_HX_REQUEST="true") == count
    dashboard_days_catch_up()
    assert page_queries(client, "/dashboard/")[0] == count
