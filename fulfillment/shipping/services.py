"""Hand-over: a packed parcel leaves with the carrier, or a pick-up order
leaves with the customer.

In one transaction, under the order lock then the shipment lock (the order of
fulfillment.services.lifecycle): the packed units leave stock (on hand and
allocated go down together), the order lines count them shipped and no
longer allocated, the shipment becomes shipped (or delivered when collected),
the order follows, and one `shipment.shipped` outbox event carries what
accounting, payment capture and the customer e-mail need. Nothing talks to
the network here: the capture and the e-mail are outbox handlers.

A repeated call finds the shipment already handed over and is refused with
409, so a retry cannot ship, count or capture anything twice.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounting.invoicing import InvoiceInput, InvoiceLineInput, invoice_issue
from accounting.posting import GoodsOut, post_goods_out
from inventory.services import stock_ship
from oms.actors import Actor
from oms.errors import Conflict, InvalidTransition
from oms.money import round_money
from oms.outbox import emit
from orders.models import Order, OrderLine

from ..models import FulfillmentOrder, FulfillmentOrderLine
from ..models.shipments import FO_SHIPPED
from ..services.lifecycle import access_fulfillment_order, fo_transition, order_follow_shipments
from .shares import ShipmentValue, shipment_value

Status = FulfillmentOrder.Status
Method = FulfillmentOrder.Method

SHIPPED_TOPIC = "shipment.shipped"


@transaction.atomic
def shipment_ship(*, fulfillment_order_id: int, actor: Actor) -> FulfillmentOrder:
    """A packed parcel is handed to its carrier: it becomes shipped."""
    fo = access_fulfillment_order(fulfillment_order_id, for_update=True)
    if fo.method != Method.SHIP:
        raise InvalidTransition(
            f"Shipment {fo.number} is collected in store, not handed to a carrier; record the collection.",
            code="pickup_not_shipped",
            current_status=fo.status,
        )
    if fo.status in FO_SHIPPED:
        raise Conflict(
            f"Shipment {fo.number} was already handed to the carrier"
            f"{_when(fo.shipped_at)}; it is {fo.get_status_display().lower()}.",
            code="already_shipped",
            current_status=fo.status,
        )
    _check_packed(fo)
    if not fo.tracking_number or fo.service_id is None:
        raise Conflict(f"Shipment {fo.number} has no carrier label; complete packing first.", code="no_label")
    return _hand_over(fo, actor=actor, to_status=Status.SHIPPED, kind="shipped", collected=False)


@transaction.atomic
def pickup_collect(*, fulfillment_order_id: int, actor: Actor) -> FulfillmentOrder:
    """The customer collects a packed pick-up order in store: it is delivered."""
    fo = access_fulfillment_order(fulfillment_order_id, for_update=True)
    if fo.method != Method.PICKUP:
        raise InvalidTransition(
            f"Shipment {fo.number} goes by carrier; it cannot be collected in store.",
            code="not_a_pickup",
            current_status=fo.status,
        )
    if fo.status == Status.DELIVERED:
        raise Conflict(
            f"Shipment {fo.number} was already collected{_when(fo.delivered_at)}.",
            code="already_collected",
            current_status=fo.status,
        )
    _check_packed(fo)
    return _hand_over(fo, actor=actor, to_status=Status.DELIVERED, kind="collected", collected=True)


def _when(moment) -> str:
    return f" on {timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


def _check_packed(fo: FulfillmentOrder) -> None:
    if fo.order.status in {Order.Status.CANCELLED, Order.Status.ON_HOLD}:
        raise InvalidTransition(
            f"Order {fo.order.number} is {fo.order.get_status_display().lower()}; "
            f"shipment {fo.number} cannot leave.",
            current_status=fo.status,
        )
    if fo.status != Status.PACKED:
        raise InvalidTransition(
            f"Shipment {fo.number} is {fo.get_status_display().lower()}; only a packed shipment "
            "can be handed over.",
            current_status=fo.status,
        )


def _hand_over(
    fo: FulfillmentOrder, *, actor: Actor, to_status: str, kind: str, collected: bool
) -> FulfillmentOrder:
    order = fo.order
    fo_lines = list(FulfillmentOrderLine.objects.filter(fulfillment_order=fo).order_by("id"))
    per_line: dict[int, int] = defaultdict(int)
    per_sku: dict[int, int] = defaultdict(int)
    for line in fo_lines:
        if line.quantity_packed != line.quantity_open:
            raise Conflict(
                f"Shipment {fo.number} is marked packed but line {line.pk} has {line.quantity_packed} of "
                f"{line.quantity_open} units packed.",
                code="pack_incomplete",
            )
        if line.quantity_packed:
            per_line[line.order_line_id] += line.quantity_packed
            per_sku[line.sku_id] += line.quantity_packed
    if not per_line:
        raise Conflict(f"Shipment {fo.number} carries no units.", code="nothing_to_ship")

    # Order lines are guarded by the order lock this transaction holds.
    order_lines = list(OrderLine.objects.filter(order=order).select_related("sku").order_by("line_number"))
    value = shipment_value(order, order_lines, per_line)
    stock_ship(
        warehouse_id=fo.warehouse_id,
        quantities=dict(per_sku),
        reference=f"shipment:{fo.pk}",
        actor=str(actor),
    )
    changed = []
    for ln in order_lines:
        qty = per_line.get(ln.pk, 0)
        if not qty:
            continue
        if qty > ln.quantity_allocated or ln.quantity_shipped + qty > ln.quantity - ln.quantity_cancelled:
            raise Conflict(
                f"Order {order.number} line {ln.line_number} has {ln.quantity_allocated} units allocated "
                f"and {ln.quantity_shipped} of {ln.quantity} shipped; {qty} more cannot ship.",
                code="order_line_mismatch",
            )
        ln.quantity_shipped += qty
        ln.quantity_allocated -= qty
        changed.append(ln)
    OrderLine.objects.bulk_update(changed, ["quantity_shipped", "quantity_allocated"])

    payload = _payload(fo, value, collected=collected)
    summary = {k: payload[k] for k in ("goods_value", "shipping_charged", "total_charged", "currency")}
    fo_transition(
        fo,
        to_status,
        actor=actor,
        kind=kind,
        message=(
            "Collected by the customer."
            if collected
            else f"Handed to {fo.service.carrier.name}, tracking {fo.tracking_number}."
        ),
        data={"units": sum(per_line.values()), **summary},
    )
    if collected and fo.shipped_at is None:
        fo.shipped_at = fo.delivered_at
        fo.save(update_fields=["shipped_at"])
    payload["shipped_at"] = fo.shipped_at.isoformat()
    order_follow_shipments(order, actor=actor)
    emit(SHIPPED_TOPIC, payload, aggregate=f"shipment:{fo.pk}")
    _book_goods_out(fo, order, value, actor)
    return fo


def _book_goods_out(fo: FulfillmentOrder, order, value: ShipmentValue, actor: Actor) -> None:
    """Revenue, tax and the cost of the goods, in this same transaction: a
    shipment the books cannot take (no exchange rate yet) does not leave.
    An order on account is invoiced per shipment: the invoice books the
    receivable and revenue, the goods-out entry only the cost."""
    included = order.prices_include_tax
    day = timezone.localdate()
    goods_net = value.goods_value - (value.line_tax if included else 0)
    shipping_net = value.shipping_charged - (value.shipping_tax if included else 0)
    tax = value.line_tax + value.shipping_tax
    if order.payment_terms_days is not None and goods_net + shipping_net + tax > 0:
        _invoice(fo, order, value, day, actor)
        goods_net = shipping_net = tax = Decimal(0)
    post_goods_out(
        ref=f"shipment:{fo.pk}",
        day=day,
        memo=f"{fo.number} of order {order.number}",
        value=GoodsOut(
            currency=value.currency,
            goods_net=goods_net,
            shipping_net=shipping_net,
            tax=tax,
            costs=[
                (round_money(lv.unit_cost * lv.quantity, lv.cost_currency), lv.cost_currency)
                for lv in value.lines
                if lv.cost_currency
            ],
        ),
        channel_id=order.channel_id,
        actor=actor,
    )


def _invoice(fo: FulfillmentOrder, order, value: ShipmentValue, day, actor: Actor) -> None:
    included = order.prices_include_tax
    customer = order.customer
    lines = []
    for lv in value.lines:
        net = lv.value - (lv.tax if included else 0)
        lines.append(
            InvoiceLineInput(
                sku=lv.line.sku.code,
                description=lv.line.sku.name,
                quantity=lv.quantity,
                unit_price=round_money(net / lv.quantity, value.currency),
                net_amount=net,
                tax=lv.tax,
            )
        )
    invoice_issue(
        data=InvoiceInput(
            source_ref=f"shipment:{fo.pk}",
            order_ref=order.number,
            customer_id=customer.pk,
            customer_name=customer.company or customer.full_name or order.email,
            customer_email=order.email,
            billing_address=order.billing_address or order.shipping_address,
            channel_id=order.channel_id,
            currency=value.currency,
            terms_days=order.payment_terms_days,
            lines=lines,
            shipping_net=value.shipping_charged - (value.shipping_tax if included else 0),
            shipping_tax=value.shipping_tax,
        ),
        day=day,
        actor=actor,
    )


def _payload(fo: FulfillmentOrder, value: ShipmentValue, *, collected: bool) -> dict[str, Any]:
    """The accounting hook: what left, at what price and cost, and the money
    it stands for (capture amount = total_charged)."""
    service = fo.service if fo.service_id else None
    return {
        "fulfillment_order_id": fo.pk,
        "shipment": fo.number,
        "order_id": fo.order_id,
        "warehouse_id": fo.warehouse_id,
        "method": fo.method,
        "collected": collected,
        "carrier": service.carrier.code if service else None,
        "service": service.code if service else None,
        "tracking_number": fo.tracking_number,
        "promised_delivery": fo.promised_delivery.isoformat() if fo.promised_delivery else None,
        **value.as_dict(),
        "carrier_cost": str(fo.shipping_cost) if service else "0",
        "carrier_cost_currency": fo.shipping_cost_currency,
    }
