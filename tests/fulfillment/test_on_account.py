"""B2B orders on account: no card, each shipment invoiced with the customer's
terms at the day's rate, credit limits holding an order for approval, and the
FX difference when a foreign-currency invoice is settled at another rate."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.invoicing import invoice_payment_record
from accounting.models import ExchangeRate, Invoice, JournalEntry
from accounting.selectors import trial_balance
from customers.models import Customer
from fulfillment.shipping import shipment_ship
from fulfillment.sourcing.services import order_source
from inventory.models import StockLevel
from oms.actors import Actor
from oms.errors import InvalidInput
from oms.reconcile import registered_checks
from orders.models import Order
from orders.payments import CardDetails
from orders.services.placement import CustomerInput, LineInput, OrderInput, PaymentInput, order_place
from tests.factories import VISA, ChannelFactory, sku_in_stock

from .conftest import release_whole_order
from .shipping_world import STAFF, pack

pytestmark = pytest.mark.django_db
D = Decimal
ADDRESS = {
    "name": "Acme Receiving",
    "line1": "350 5th Ave",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


def business(channel, *, terms=30, limit=None) -> Customer:
    return Customer.objects.create(
        channel=channel,
        email="ap@acme.example",
        company="Acme Corp",
        payment_terms_days=terms,
        credit_limit=limit,
    )


def place(channel, sku, quantity=2, **kwargs) -> Order:
    data = OrderInput(
        channel=channel,
        actor=Actor.for_channel(channel),
        currency=channel.currency,
        customer=CustomerInput(email="ap@acme.example"),
        shipping_address=ADDRESS,
        lines=[LineInput(sku=sku.code, quantity=quantity)],
        **{"on_account": True, **kwargs},
    )
    return order_place(data=data).order


def ship(order, carrier):
    fo = release_whole_order(order, service_id=carrier.services.get(code="ground").pk)
    pack(fo)
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    return fo


def books_balance() -> None:
    checks = registered_checks()
    assert checks["every journal entry balances"]() == []
    assert checks["the trial balance sums to zero"]() == []
    assert checks["every shipment that left is in the books"]() == []


def test_a_foreign_currency_order_on_account_is_invoiced_at_the_days_rate_and_settled_with_fx(
    warehouse, carrier, boxes, materials
):
    today = timezone.localdate()
    ExchangeRate.objects.create(currency="EUR", day=today, rate=D("1.10"))
    ExchangeRate.objects.create(currency="EUR", day=today + timedelta(days=20), rate=D("1.16"))
    channel = ChannelFactory(code="B2B-EU", currency="EUR")
    business(channel, terms=45)
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10, price="40.00", unit_cost=D("12.00"))
    order = place(channel, sku)
    assert (order.status, order.payment_terms_days, len(order.payments.all())) == ("allocated", 45, 0)
    fo = ship(order, carrier)

    invoice = Invoice.objects.get(source_ref=f"shipment:{fo.pk}")
    order.refresh_from_db()
    assert (invoice.currency, invoice.total, invoice.rate) == ("EUR", order.grand_total, D("1.10"))
    assert (invoice.issue_date, invoice.due_date) == (today, today + timedelta(days=45))
    assert (invoice.order_ref, invoice.customer_name, invoice.lines.get().quantity) == (
        order.number,
        "Acme Corp",
        2,
    )
    receivable = invoice.entry.lines.get(account__code="1200")
    assert receivable.debit == (order.grand_total * D("1.10")).quantize(D("0.01"))
    # The goods-out entry books only the cost: the invoice booked the revenue.
    goods_out = JournalEntry.objects.get(source_type="goods_out", source_ref=f"shipment:{fo.pk}")
    assert sorted(goods_out.lines.values_list("account__code", flat=True)) == ["1300", "5000"]

    payment = invoice_payment_record(
        invoice_id=invoice.pk,
        amount=invoice.total,
        day=today + timedelta(days=20),
        reference="SEPA-77",
        actor=STAFF,
    )
    fx = payment.entry.lines.get(account__code="7900")
    assert fx.credit == (invoice.total * D("1.16")).quantize(D("0.01")) - receivable.debit  # a gain
    assert next(r.balance for r in trial_balance() if r.code == "1200") == 0
    books_balance()


def test_an_order_over_the_credit_limit_is_held_for_approval(channel, warehouse, carrier):
    business(channel, limit=D("100.00"))
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10, price="30.00")
    first = place(channel, sku)  # 60 + 5 shipping
    assert first.status == Order.Status.ALLOCATED
    second = place(channel, sku)  # 65 more: 130 > 100
    assert second.status == Order.Status.ON_HOLD
    assert "Credit limit" in second.hold_reason and "100.00 USD" in second.hold_reason
    assert second.lines.all()[0].quantity_allocated == 2  # the stock stays put for it
    assert order_source(order_id=second.pk, actor=Actor.system()) is None  # not routed while held
    # Approval: staff re-source it, which releases the hold.
    decision = order_source(order_id=second.pk, actor=STAFF, trigger="staff")
    assert decision is not None
    second.refresh_from_db()
    assert second.status != Order.Status.ON_HOLD


def test_only_customers_with_terms_order_on_account_and_nothing_is_left_behind(channel, warehouse):
    Customer.objects.create(channel=channel, email="ap@acme.example")  # no terms
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5, price="30.00")
    with pytest.raises(InvalidInput) as err:
        place(channel, sku)
    assert "on_account" in err.value.fields
    assert not Order.objects.exists()
    level = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    assert (level.allocated, level.soft_reserved) == (0, 0)
    with pytest.raises(InvalidInput) as err:
        place(channel, sku, payment=PaymentInput(gateway="test", card=CardDetails(**VISA)))
    assert "payment" in err.value.fields


def test_an_order_on_account_through_the_api(api, channel, warehouse):
    business(channel)
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5, price="30.00")
    payload = {
        "currency": "USD",
        "customer": {"email": "ap@acme.example"},
        "shipping_address": ADDRESS,
        "lines": [{"sku": sku.code, "quantity": 1}],
        "on_account": True,
    }
    response = api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["payment_terms_days"] == 30
