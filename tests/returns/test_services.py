"""Returns end to end through the services: request inside the policy,
authorize, receive and inspect, restock, refund to the card (in full or in
part), an exchange, the policy refusing with its reason, and bad input
changing nothing. Stock, payments and the books follow and reconcile."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import JournalEntry
from fulfillment.models import FulfillmentOrder
from fulfillment.shipping import shipment_ship
from fulfillment.shipping.capture import capture_shipment
from inventory.models import StockLevel, StockMovement
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition
from orders.models import Order, Payment, PaymentTransaction
from returns.models import CustomerCase, ReturnEvent, ReturnLine, ReturnPolicy, ReturnRequest
from returns.services import (
    Inspection,
    ReturnLineInput,
    refund_due,
    return_authorize,
    return_exchange,
    return_receive,
    return_refund,
    return_request,
)
from tests.factories import sku_in_stock
from tests.fulfillment.conftest import boxes, carrier, materials, place_order, release_whole_order  # noqa: F401
from tests.fulfillment.shipping_world import STAFF, pack, reconcile_problems, shipped_events

pytestmark = pytest.mark.django_db
D = Decimal
R = ReturnLine.Reason


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


@pytest.fixture
def delivered(channel, warehouse, carrier, boxes, materials):  # noqa: F811
    """A card-paid order of 2 mugs (20.00) and 1 lamp (35.00), shipped,
    captured and delivered three days ago."""
    mug = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10, price="20.00", unit_cost=D("8.00"))
    lamp = sku_in_stock(
        channel=channel, warehouse=warehouse, quantity=10, price="35.00", unit_cost=D("15.00")
    )
    order = place_order(channel, [(mug.code, 2), (lamp.code, 1)])
    fo = release_whole_order(order, service_id=carrier.services.get(code="ground").pk)
    pack(fo)
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    capture_shipment(shipped_events()[-1])
    when = timezone.now() - timedelta(days=3)
    FulfillmentOrder.objects.filter(pk=fo.pk).update(delivered_at=when)
    Order.objects.filter(pk=order.pk).update(delivered_at=when)
    order.refresh_from_db()
    lines = {ln.sku.code: ln for ln in order.lines.select_related("sku")}
    return order, lines[mug.code], lines[lamp.code]


def ask(order, *items, **kwargs) -> ReturnRequest:
    return return_request(
        order_id=order.pk,
        lines=[
            ReturnLineInput(order_line_id=line.pk, quantity=qty, reason=reason) for line, qty, reason in items
        ],
        actor=kwargs.pop("actor", STAFF),
        source=kwargs.pop("source", ReturnRequest.Source.CUSTOMER),
        **kwargs,
    )


def on_hand(line) -> int:
    return sum(StockLevel.objects.filter(sku_id=line.sku_id).values_list("on_hand", flat=True))


def test_request_authorize_receive_restock_and_refund(delivered):
    order, mug, lamp = delivered
    ReturnPolicy.objects.create(channel=order.channel, restocking_fee_pct=D("10"))
    request = ask(order, (mug, 2, R.NO_LONGER_NEEDED), (lamp, 1, R.DEFECTIVE))
    assert request.status == ReturnRequest.Status.AUTHORIZED  # inside the policy: at once
    assert request.return_shipping_paid_by == "merchant"  # a defect is on us
    before = on_hand(mug)
    lines = {ln.sku_id: ln for ln in request.lines.all()}
    return_receive(
        return_id=request.pk,
        inspections=[
            Inspection(lines[mug.sku_id].pk, 2, ReturnLine.Condition.NEW, ReturnLine.Disposition.RESTOCK),
            Inspection(lines[lamp.sku_id].pk, 1, ReturnLine.Condition.DAMAGED, ReturnLine.Disposition.SCRAP),
        ],
        actor=STAFF,
    )
    assert on_hand(mug) == before + 2
    assert StockMovement.objects.filter(kind="return", reference=f"return:{request.pk}").count() == 1
    restock = JournalEntry.objects.get(source_type="restock", source_ref=f"return:{request.pk}")
    assert {(ln.account.code, ln.debit, ln.credit) for ln in restock.lines.select_related("account")} == {
        ("1300", D("16.00"), 0),
        ("5000", 0, D("16.00")),
    }
    split, fee = refund_due(ReturnRequest.objects.get(pk=request.pk))
    assert fee == D("4.00")  # 10% of the unwanted mugs, none on the defective lamp
    assert split.goods_net == D("36.00") + D("35.00") and split.shipping_net == order.shipping_total

    request = return_refund(return_id=request.pk, actor=STAFF)
    assert request.status == ReturnRequest.Status.COMPLETED
    assert request.refund_total == split.total == D("71.00") + order.shipping_total
    [refund] = PaymentTransaction.objects.filter(order=order, kind="refund", success=True)
    assert refund.amount == request.refund_total
    payment = Payment.objects.get(order=order)
    assert (payment.amount_refunded, payment.status) == (request.refund_total, "partially_refunded")
    entry = JournalEntry.objects.get(source_type="card_refund", source_ref=f"refund:{refund.pk}")
    assert entry.lines.get(account__code="1100").credit == request.refund_total
    assert list(ReturnEvent.objects.filter(request=request).values_list("kind", flat=True)) == [
        "requested",
        "received",
        "refunded",
    ]
    # Again (a double click): nothing more.
    with pytest.raises(InvalidTransition):
        return_refund(return_id=request.pk, actor=STAFF)
    assert PaymentTransaction.objects.filter(order=order, kind="refund").count() == 1
    assert reconcile_problems() == {}


def test_a_partial_refund_and_never_more_than_the_goods_or_the_payment(delivered):
    order, mug, _ = delivered
    request = ask(order, (mug, 1, R.SIZE_FIT))
    [line] = request.lines.all()
    return_receive(
        return_id=request.pk,
        inspections=[Inspection(line.pk, 1, ReturnLine.Condition.OPENED, ReturnLine.Disposition.RESTOCK)],
        actor=STAFF,
    )
    with pytest.raises(InvalidInput) as err:
        return_refund(return_id=request.pk, actor=STAFF, amount=D("20.01"))
    assert "amount" in err.value.fields and "20.00" in err.value.message
    assert not PaymentTransaction.objects.filter(kind="refund").exists()
    request = return_refund(return_id=request.pk, actor=STAFF, amount=D("15.00"))
    assert request.refund_total == D("15.00")
    assert Payment.objects.get(order=order).amount_refunded == D("15.00")
    assert reconcile_problems() == {}


def test_an_exchange_sends_a_replacement_at_no_charge_with_priority(delivered):
    order, mug, _ = delivered
    request = ask(order, (mug, 1, R.DAMAGED), resolution=ReturnRequest.Resolution.EXCHANGE)
    request = return_exchange(return_id=request.pk, actor=STAFF)  # an advance exchange
    replacement = request.replacement_order
    assert replacement.is_replacement and replacement.special_code.startswith("R-")
    assert (replacement.grand_total, replacement.priority) == (0, 10)
    assert [(ln.sku_id, ln.quantity, ln.unit_price) for ln in replacement.lines.all()] == [(mug.sku_id, 1, 0)]
    assert replacement.shipping_address == order.shipping_address
    assert return_exchange(return_id=request.pk, actor=STAFF).replacement_order == replacement  # once
    [line] = request.lines.all()
    request = return_receive(
        return_id=request.pk,
        inspections=[Inspection(line.pk, 1, ReturnLine.Condition.DAMAGED, ReturnLine.Disposition.QUARANTINE)],
        actor=STAFF,
    )
    assert request.status == ReturnRequest.Status.COMPLETED
    with pytest.raises(Conflict):
        return_refund(return_id=request.pk, actor=STAFF)


def test_outside_the_policy_is_refused_with_the_reason_or_goes_to_review(delivered):
    order, mug, lamp = delivered
    ReturnPolicy.objects.create(channel=order.channel, window_days=2, non_returnable_skus=[lamp.sku.code])
    with pytest.raises(Conflict) as err:
        ask(order, (mug, 1, R.SIZE_FIT), (lamp, 1, R.SIZE_FIT))
    assert err.value.code == "outside_policy"
    assert (
        "2-day return window ended" in err.value.message
        and f"{lamp.sku.code} cannot be returned" in err.value.message
    )
    assert not ReturnRequest.objects.exists()
    # Staff may put it up for review: it waits, with a case in the queue.
    request = ask(order, (mug, 1, R.SIZE_FIT), source=ReturnRequest.Source.STAFF, allow_review=True)
    assert request.status == ReturnRequest.Status.REQUESTED and "window" in request.review_reason
    assert CustomerCase.objects.get(order=order).kind == "return_review"
    assert return_authorize(return_id=request.pk, actor=STAFF).status == ReturnRequest.Status.AUTHORIZED


def test_bad_requests_change_nothing(delivered):
    order, mug, _ = delivered
    cases = [
        ([ReturnLineInput(mug.pk, 3, R.SIZE_FIT)], "lines[0].quantity"),  # 2 shipped
        ([ReturnLineInput(mug.pk, 0, R.SIZE_FIT)], "lines[0].quantity"),
        ([ReturnLineInput(mug.pk, 1, "bored")], "lines[0].reason"),
        ([ReturnLineInput(999999, 1, R.SIZE_FIT)], "lines[0].order_line_id"),
        (
            [ReturnLineInput(mug.pk, 1, R.SIZE_FIT), ReturnLineInput(mug.pk, 2, R.DAMAGED)],
            "lines[1].quantity",
        ),
    ]
    for lines, field in cases:
        with pytest.raises(InvalidInput) as err:
            return_request(order_id=order.pk, lines=lines, actor=STAFF, source="staff")
        assert field in err.value.fields, (lines, err.value.fields)
    with pytest.raises(InvalidInput) as err:
        return_request(
            order_id=order.pk, lines=[ReturnLineInput(mug.pk, 1, R.SIZE_FIT)], actor=STAFF, source="staff",
            location_code="NOWHERE",
        )  # fmt: skip
    assert "location" in err.value.fields
    assert not ReturnRequest.objects.exists() and not ReturnLine.objects.exists()
    # What an earlier return holds cannot be returned twice.
    ask(order, (mug, 2, R.SIZE_FIT))
    with pytest.raises(InvalidInput) as err:
        ask(order, (mug, 1, R.SIZE_FIT))
    assert "0 not yet in a return" in err.value.message


def test_an_unshipped_order_has_nothing_to_return(channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5, price="10.00")
    order = place_order(channel, [(sku.code, 1)])
    line = order.lines.all()[0]
    with pytest.raises(InvalidInput) as err:
        return_request(
            order_id=order.pk,
            lines=[ReturnLineInput(line.pk, 1, R.SIZE_FIT)],
            actor=Actor.system(),
            source="api",
        )
    assert "0 shipped" in err.value.message


def test_refunding_more_than_was_paid_is_refused_and_changes_nothing(delivered):
    from orders.services.payments import RefundSplit, payment_refund

    order, _, _ = delivered
    paid = Payment.objects.get(order=order).amount_captured
    with pytest.raises(InvalidInput) as err:
        payment_refund(order_id=order.pk, key="goodwill", split=RefundSplit(goods_net=paid + D("0.01")))
    assert err.value.code == "refund_exceeds_payment" and str(paid) in err.value.message
    assert not PaymentTransaction.objects.filter(kind="refund").exists()
    assert not JournalEntry.objects.filter(source_type="card_refund").exists()
    assert Payment.objects.get(order=order).amount_refunded == 0
    # Up to what was paid, in two goes; then nothing is left to refund.
    payment_refund(order_id=order.pk, key="goodwill", split=RefundSplit(goods_net=D("10.00")))
    payment_refund(order_id=order.pk, key="rest", split=RefundSplit(goods_net=paid - D("10.00")))
    with pytest.raises(InvalidInput):
        payment_refund(order_id=order.pk, key="more", split=RefundSplit(goods_net=D("0.01")))
    assert Payment.objects.get(order=order).status == "refunded"
    assert reconcile_problems() == {}
