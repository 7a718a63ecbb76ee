"""What follows a hand-over, through the outbox: the payment capture (split
per shipment, adding up to the authorization, once per shipment even when
the event is redelivered; declines recorded) and the "shipped" e-mail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connections
from django.urls import reverse

from fulfillment.models import FulfillmentOrder
from fulfillment.notifications import order_shipped
from fulfillment.shipping import pickup_collect, shipment_ship
from fulfillment.shipping.capture import capture_shipment
from fulfillment.shipping.selectors import tracking_token
from inventory.models import Warehouse
from oms.errors import Conflict
from oms.outbox import deliver
from orders.models import OrderEvent, Payment, PaymentTransaction
from orders.payments import GatewayUnavailable
from orders.payments.test_gateway import TestGateway
from orders.services.payments import CAPTURE_LOCK_CLASS, amount_share, payment_capture
from tests.factories import WarehouseFactory, sku_in_stock, tax_rate

from .conftest import place_order, release_whole_order
from .shipping_world import STAFF, pack, shipped_events, split_order

pytestmark = pytest.mark.django_db
CAPTURE = PaymentTransaction.Kind.CAPTURE


@pytest.fixture
def pen(channel, warehouse, carrier, boxes, materials):
    tax_rate("US", "0.08875", region="NY")
    return sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=30,
        price="3.33",
        length_mm=140,
        width_mm=20,
        height_mm=20,
        weight_grams=20,
    )


def ship_in_three(channel, carrier, pen):
    order = place_order(channel, [(pen.code, 3)])
    service = carrier.services.get(code="ground").pk
    for fo in split_order(order, [[(1, 1)], [(1, 1)], [(1, 1)]], service_id=service):
        pack(fo)
        shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    return order, shipped_events()


def captures(order) -> list[Decimal]:
    return list(
        PaymentTransaction.objects.filter(order=order, kind=CAPTURE, success=True)
        .order_by("id")
        .values_list("amount", flat=True)
    )


def test_amount_share_cuts_add_up_exactly():
    cuts = [amount_share(Decimal("10.00"), Fraction(n, 3), "USD") for n in range(4)]
    assert cuts == [Decimal("0.00"), Decimal("3.33"), Decimal("6.67"), Decimal("10.00")]
    assert amount_share(Decimal("1001"), Fraction(1, 2), "JPY") == Decimal("501")  # half up
    assert amount_share(Decimal("0.005"), Fraction(1), "USD") == Decimal("0.01")
    with pytest.raises(ValueError):
        amount_share(Decimal("1"), Fraction(3, 2), "USD")


def test_captures_add_up_to_the_authorization_and_redelivery_captures_once(channel, carrier, pen):
    order, events = ship_in_three(channel, carrier, pen)
    payment = Payment.objects.get(order=order)
    assert payment.amount_authorized == order.grand_total
    for event in events:
        assert deliver(event)
    amounts = captures(order)
    assert amounts == [Decimal(e.payload["total_charged"]) for e in events]
    assert sum(amounts) == payment.amount_authorized  # to the cent
    payment.refresh_from_db()
    assert payment.amount_captured == payment.amount_authorized
    assert payment.status == Payment.Status.CAPTURED
    for event in events:  # a redelivery (the outbox lost the handler's success)
        capture_shipment(event)
    assert captures(order) == amounts


def test_the_last_shipment_captures_the_remainder_in_any_order(channel, carrier, pen):
    order, events = ship_in_three(channel, carrier, pen)
    for event in reversed(events):
        capture_shipment(event)
    payment = Payment.objects.get(order=order)
    assert sum(captures(order)) == payment.amount_captured == payment.amount_authorized
    assert captures(order)[0] == payment.amount_authorized  # the completing shipment took it all


def test_a_partial_shipment_captures_its_share_only(channel, carrier, pen):
    order = place_order(channel, [(pen.code, 3)])
    first, _ = split_order(order, [[(1, 1)], [(1, 2)]], service_id=carrier.services.get(code="ground").pk)
    pack(first)
    shipment_ship(fulfillment_order_id=first.pk, actor=STAFF)
    [event] = shipped_events()
    capture_shipment(event)
    payment = Payment.objects.get(order=order)
    assert payment.amount_captured == Decimal(event.payload["total_charged"]) < payment.amount_authorized
    assert payment.status == Payment.Status.AUTHORIZED  # the rest stays authorized for the next parcel
    capture_shipment(event)  # redelivered while the authorization still has room
    assert Payment.objects.get(order=order).amount_captured == payment.amount_captured
    assert PaymentTransaction.objects.filter(order=order, kind=CAPTURE).count() == 1


def test_a_decline_is_recorded_on_the_order(channel, carrier, pen):
    order = place_order(channel, [(pen.code, 1)])
    fo = pack(release_whole_order(order, service_id=carrier.services.get(code="ground").pk))
    # An authorization the gateway no longer knows: it refuses the capture.
    Payment.objects.filter(order=order).update(reference="auth_expired_123")
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    [event] = shipped_events()
    assert deliver(event)  # handled: a decline is not retried
    [txn] = PaymentTransaction.objects.filter(order=order, kind=CAPTURE)
    assert not txn.success and "unknown_authorization" not in txn.message
    assert txn.message.startswith(f"shipment {fo.number}: declined: No authorization")
    order.refresh_from_db()
    assert order.hold_reason.startswith(f"Payment capture declined (shipment {fo.number})")
    assert OrderEvent.objects.filter(order=order, kind="payment_capture_declined").count() == 1
    capture_shipment(event)  # redelivered: the decline stands, the gateway is not asked again
    assert PaymentTransaction.objects.filter(order=order, kind=CAPTURE).count() == 1
    assert Payment.objects.get(order=order).amount_captured == 0


def test_an_unreachable_gateway_is_retried_later(channel, carrier, pen, monkeypatch):
    order = place_order(channel, [(pen.code, 1)])
    fo = pack(release_whole_order(order, service_id=carrier.services.get(code="ground").pk))
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    [event] = shipped_events()

    def down(self, **kwargs):
        raise GatewayUnavailable("processing_error")

    with monkeypatch.context() as m:
        m.setattr(TestGateway, "capture", down)
        assert not deliver(event)
    assert not PaymentTransaction.objects.filter(order=order, kind=CAPTURE).exists()
    event.refresh_from_db()
    assert "payments.capture_shipment" not in event.done_handlers
    assert deliver(event)
    assert captures(order) == [order.grand_total]


def test_a_capture_already_running_elsewhere_is_not_doubled(channel, carrier, pen):
    order = place_order(channel, [(pen.code, 1)])
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:  # another worker is mid-capture for this order
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [CAPTURE_LOCK_CLASS, order.pk])
        with pytest.raises(Conflict) as exc:
            payment_capture(order_id=order.pk, key="shipment X", amount=Decimal("1.00"))
        assert exc.value.code == "capture_in_progress"
        assert not PaymentTransaction.objects.filter(order=order, kind=CAPTURE).exists()
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [CAPTURE_LOCK_CLASS, order.pk])
    finally:
        other.close()
    assert payment_capture(order_id=order.pk, key="shipment X", amount=Decimal("1.00")).captured == 1
    assert payment_capture(order_id=order.pk, key="shipment X", amount=Decimal("1.00")).replayed


# --- The "shipped" e-mail ----------------------------------------------------------------


def test_shipped_email_has_tracking_links_eta_and_items_and_is_sent_once(
    channel, carrier, pen, mailoutbox, settings
):
    settings.SITE_URL = "https://shop.example.com"
    channel.sender_email = "orders@shop.example.com"
    channel.save(update_fields=["sender_email"])
    order = place_order(channel, [(pen.code, 2)], phone="+1 212 555 0100")
    ground = carrier.services.get(code="ground").pk
    fo = pack(release_whole_order(order, service_id=ground, promised_delivery=date(2031, 6, 13)))
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    fo.refresh_from_db()
    [event] = shipped_events()
    assert deliver(event)

    [mail] = mailoutbox
    assert mail.to == [order.email] and mail.from_email == "orders@shop.example.com"
    assert order.number in mail.subject and "has shipped" in mail.subject
    html = mail.alternatives[0][0]
    carrier_url = f"https://track.example.com/acme/{fo.tracking_number}"
    page_url = "https://shop.example.com" + reverse("tracking-page", args=[tracking_token(fo)])
    eta = "Friday 13 June 2031"
    for body in (mail.body, html):
        assert fo.tracking_number in body
        assert carrier_url in body and page_url in body
        assert eta in body
        assert pen.name in body and "Acme" in body
    assert f'href="{page_url}"' in html

    order_shipped(event)  # redelivered
    event.done_handlers = []
    deliver(event)
    assert len(mailoutbox) == 1
    assert fo.events.filter(kind="shipped_email_sent").count() == 1


def test_a_collected_pickup_gets_no_shipped_email(channel, mailoutbox, carrier, boxes, materials):
    store = WarehouseFactory(kind=Warehouse.Kind.STORE, allows_pickup=True)
    sku = sku_in_stock(channel=channel, warehouse=store, quantity=2, length_mm=100, width_mm=80, height_mm=40)
    order = place_order(channel, [(sku.code, 1)])
    fo = pack(release_whole_order(order, method=FulfillmentOrder.Method.PICKUP))
    pickup_collect(fulfillment_order_id=fo.pk, actor=STAFF)
    [event] = shipped_events()
    assert deliver(event)
    assert mailoutbox == []
    assert captures(order) == [order.grand_total]
