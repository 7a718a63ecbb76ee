"""Customer value metrics against figures worked out by hand, the ranking
API, and the beat task. The fixture writes rows directly (the metrics are a
read over orders, shipments and returns, whatever produced them): two
customers with orders in USD and EUR at different rates, a cancelled order,
a return with a refund and a restock, carrier costs in both currencies, and a
customer without orders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounting.models import ExchangeRate
from customers.models import Customer, CustomerMetrics
from fulfillment.models import FulfillmentOrder
from orders.models import Order, OrderLine
from returns.metrics import customer_metrics_refresh
from returns.metrics_tasks import refresh_customer_metrics
from returns.models import ReturnLine, ReturnRequest
from tests.factories import ChannelFactory, SKUFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"
    settings.TIME_ZONE = "UTC"


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        for day, rate in ((date(2024, 1, 1), "1.10"), (date(2024, 2, 1), "1.20")):
            ExchangeRate.objects.update_or_create(currency="EUR", day=day, defaults={"rate": D(rate)})
        self.channel = ChannelFactory()
        self.warehouse = WarehouseFactory()
        self.mug = SKUFactory(unit_cost=D("30.00"), cost_currency="USD")
        self.vase = SKUFactory(unit_cost=D("10.00"), cost_currency="EUR")
        self.piano = SKUFactory(unit_cost=D("170.00"), cost_currency="USD")
        self.ada = Customer.objects.create(channel=self.channel, email="ada@example.com", first_name="Ada")
        self.bob = Customer.objects.create(channel=self.channel, email="bob@example.com", first_name="Bob")
        self.cy = Customer.objects.create(channel=self.channel, email="cy@example.com", first_name="Cy")

    def order(self, customer, currency, grand_total, placed, lines, status=Order.Status.SHIPPED):
        order = Order.objects.create(
            channel=self.channel,
            customer=customer,
            email=customer.email,
            status=status,
            shipping_address={"name": customer.first_name, "country": "US"},
            ship_country="US",
            currency=currency,
            grand_total=D(grand_total),
            placed_at=placed,
        )
        made = []
        for n, (sku, qty, shipped) in enumerate(lines, start=1):
            made.append(
                OrderLine.objects.create(
                    order=order,
                    line_number=n,
                    sku=sku,
                    quantity=qty,
                    unit_cost=sku.unit_cost,
                    quantity_shipped=shipped,
                )
            )
        return order, made

    def shipment(self, order, cost, currency, shipped, status=FulfillmentOrder.Status.DELIVERED):
        return FulfillmentOrder.objects.create(
            order=order,
            warehouse=self.warehouse,
            status=status,
            shipping_cost=D(cost),
            shipping_cost_currency=currency,
            shipped_at=shipped,
        )


@pytest.fixture
def world() -> World:
    w = World()
    # Ada: 100.00 USD on Jan 10 (2 mugs at 30.00 USD cost, shipped for 8.00 USD) ...
    a1, _ = w.order(w.ada, "USD", "100.00", at(2024, 1, 10), [(w.mug, 2, 2)])
    w.shipment(a1, "8.00", "USD", at(2024, 1, 11))
    # ... and 50.00 EUR on Feb 15 (rate of Feb 1: 1.20): 3 vases at 10.00 EUR cost,
    # shipped for 5.00 EUR; one vase came back, restocked, refunded 15.00 EUR on Mar 1.
    a2, (vases,) = w.order(w.ada, "EUR", "50.00", at(2024, 2, 15), [(w.vase, 3, 3)])
    w.shipment(a2, "5.00", "EUR", at(2024, 2, 16))
    rr = ReturnRequest.objects.create(
        order=a2,
        channel=w.channel,
        customer=w.ada,
        status=ReturnRequest.Status.COMPLETED,
        source=ReturnRequest.Source.STAFF,
        location=w.warehouse,
        return_shipping_paid_by="customer",
        refund_total=D("15.00"),
        completed_at=at(2024, 3, 1),
    )
    ReturnLine.objects.create(
        request=rr,
        order_line=vases,
        sku=w.vase,
        quantity=1,
        reason=ReturnLine.Reason.SIZE_FIT,
        quantity_received=1,
        disposition=ReturnLine.Disposition.RESTOCK,
        unit_cost=D("10.00"),
    )
    # A cancelled order and a shipment not yet gone count for nothing.
    cancelled, _ = w.order(
        w.ada, "USD", "999.00", at(2024, 3, 5), [(w.mug, 1, 0)], status=Order.Status.CANCELLED
    )
    w.shipment(cancelled, "50.00", "USD", None, status=FulfillmentOrder.Status.CANCELLED)
    # Bob: 200.00 EUR on Jan 20 (rate of Jan 1: 1.10) for a piano costing 170.00 USD, shipped for 10.00 USD.
    b1, _ = w.order(w.bob, "EUR", "200.00", at(2024, 1, 20), [(w.piano, 1, 1)])
    w.shipment(b1, "10.00", "USD", at(2024, 1, 21))
    return w


def test_metrics_match_hand_computed_figures(world):
    written = customer_metrics_refresh()

    assert written == Customer.objects.count() == 3
    ada = CustomerMetrics.objects.get(customer=world.ada)
    # revenue 100.00 + 50.00 x 1.20 = 160.00
    # cogs 2 x 30.00 + 3 x 10.00 x 1.20 - 1 x 10.00 x 1.20 (restocked) = 84.00
    # refunds 15.00 x 1.20 = 18.00; shipping 8.00 + 5.00 x 1.20 = 14.00
    assert (ada.currency, ada.revenue, ada.cogs, ada.refunds, ada.shipping_cost) == (
        "USD",
        D("160.00"),
        D("84.00"),
        D("18.00"),
        D("14.00"),
    )
    assert ada.margin == D("44.00")
    assert (ada.order_count, ada.average_order_value) == (2, D("80.00"))
    assert (ada.units_shipped, ada.units_returned, ada.return_rate) == (5, 1, D("0.2000"))
    assert (ada.first_order_at, ada.last_order_at) == (at(2024, 1, 10), at(2024, 2, 15))

    bob = CustomerMetrics.objects.get(customer=world.bob)
    # revenue 200.00 x 1.10 = 220.00; margin 220.00 - 170.00 - 10.00 = 40.00
    assert (bob.revenue, bob.cogs, bob.refunds, bob.shipping_cost, bob.margin) == (
        D("220.00"),
        D("170.00"),
        D("0.00"),
        D("10.00"),
        D("40.00"),
    )
    assert (bob.order_count, bob.average_order_value, bob.return_rate) == (1, D("220.00"), D("0.0000"))

    cy = CustomerMetrics.objects.get(customer=world.cy)
    assert (cy.revenue, cy.margin, cy.order_count, cy.return_rate) == (0, 0, 0, None)
    assert cy.segment == CustomerMetrics.Segment.NO_ORDERS
    assert cy.recency_score is None


def test_rfm_scores_and_segments(world):
    customer_metrics_refresh()

    ada = CustomerMetrics.objects.get(customer=world.ada)
    bob = CustomerMetrics.objects.get(customer=world.bob)
    # Two customers with orders: the lower ranks 1, the higher 5.
    # Ada ordered last and most often but spent less: loyal. Bob once, long ago: lost.
    assert (ada.recency_score, ada.frequency_score, ada.monetary_score) == (5, 5, 1)
    assert ada.segment == CustomerMetrics.Segment.LOYAL
    assert (bob.recency_score, bob.frequency_score, bob.monetary_score) == (1, 1, 5)
    assert bob.segment == CustomerMetrics.Segment.LOST


def test_refresh_is_idempotent_and_follows_changes(world):
    customer_metrics_refresh()
    first = {m.pk: (m.revenue, m.margin, m.segment) for m in CustomerMetrics.objects.all()}

    assert refresh_customer_metrics() == 3  # the beat task, run again
    assert {m.pk: (m.revenue, m.margin, m.segment) for m in CustomerMetrics.objects.all()} == first

    # Cy's first order, today: new.
    world.order(world.cy, "USD", "10.00", at(2024, 4, 1), [(world.mug, 1, 1)])
    customer_metrics_refresh()
    cy = CustomerMetrics.objects.get(customer=world.cy)
    assert (cy.revenue, cy.cogs, cy.margin, cy.order_count) == (D("10.00"), D("30.00"), D("-20.00"), 1)
    assert cy.segment == CustomerMetrics.Segment.NEW


def test_an_amount_without_a_rate_is_left_out(world):
    # An EUR order before the first EUR rate: counted as an order, not as money.
    world.order(world.bob, "EUR", "70.00", at(2023, 12, 1), [(world.vase, 1, 0)])
    customer_metrics_refresh()
    bob = CustomerMetrics.objects.get(customer=world.bob)
    assert (bob.order_count, bob.revenue) == (2, D("220.00"))


def test_ranking_by_margin_and_revenue(world, staff_api):
    customer_metrics_refresh()

    by_margin = staff_api.get("/api/v1/customers/ranking/?by=margin&limit=10")
    assert by_margin.status_code == 200, by_margin.json()
    body = by_margin.json()
    assert body["currency"] == "USD"
    assert [(r["customer_id"], r["margin"]) for r in body["results"]] == [
        (world.ada.pk, "44.00"),
        (world.bob.pk, "40.00"),
    ]
    assert body["results"][0]["email"] == "ada@example.com"
    assert body["results"][0]["segment"] == "loyal"

    by_revenue = staff_api.get("/api/v1/customers/ranking/", {"by": "revenue", "limit": 1})
    assert [r["customer_id"] for r in by_revenue.json()["results"]] == [world.bob.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"by": "love"}, "by"),
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"limit": "501"}, "limit"),
    ],
)
def test_ranking_bad_input_names_the_field(staff_api, query, field):
    response = staff_api.get("/api/v1/customers/ranking/", query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_ranking_is_staff_only(api):
    assert api.get("/api/v1/customers/ranking/").status_code == 403
