"""Editing an order before it ships: quantities, lines, address, shipping speed.

    1. read and decide (no locks): validate, re-price with placement's rules,
       and choose where every extra unit comes from (the line's own location
       first, then the nearest that can ship it, above safety stock);
    2. no transaction: authorize the extra amount with the card token on file;
    3. one short transaction: lock the order, check nothing moved since 1,
       cancel its unstarted shipments, move the stock allocation
       (inventory.services.stock_reallocate re-checks availability under the
       level locks, all or nothing), write the lines, totals, payment, the
       "edited" event and the outbox row;
    4. after commit: void authorizations the lower total no longer needs, and
       route the order again (fulfillment.sourcing, trigger "staff").
A shortage or a decline in 1-2 changes nothing; a failure in 3 voids the new
authorization. Nothing is captured before shipment, so a lower total needs no
refund: capture takes only what ships.

Existing lines keep the unit price the customer agreed to (a quantity change
scales the line's discount per unit); added lines take the channel's price
list. Tax follows the (new) destination; shipping follows the channel rule.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from customers.models import Customer
from inventory.models import SKU
from inventory.selectors import warehouses_that_can_ship
from inventory.services import stock_reallocate
from oms.actors import Actor
from oms.errors import (
    Conflict,
    DomainError,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PaymentDeclined,
    PaymentUnavailable,
)
from oms.geo import ISO_COUNTRIES, resolve_destination
from oms.money import ZERO, round_money
from oms.outbox import emit
from orders.models import Order, OrderLine, Payment, PriceListEntry
from orders.payments import Authorization, GatewayDeclined, GatewayUnavailable, get_gateway
from orders.pricing import PricedOrder, channel_shipping, price_lines, tax_rule_for
from orders.services.credit import credit_hold_reason
from orders.services.lifecycle import event_for, order_transition
from orders.services.payments import authorization_void, payment_authorization_record, payments_void

from .models import FulfillmentOrder
from .services.lifecycle import fo_transition

logger = logging.getLogger(__name__)

EDITABLE = {Order.Status.ON_HOLD, Order.Status.BACKORDERED, Order.Status.ALLOCATED}
UNSTARTED_FO = {FulfillmentOrder.Status.PENDING, FulfillmentOrder.Status.RELEASED}
Key = tuple[int, int]  # (sku_id, warehouse_id)


@dataclass
class _Line:
    """One order line after the edit (line is None for an added one)."""

    line: OrderLine | None
    sku: SKU
    quantity: int  # 0: removed
    unit_price: Decimal
    discount: Decimal
    given_tax: Decimal | None
    field: str  # the input field that names it in errors
    warehouse_id: int | None = None
    allocated: int = 0


@dataclass
class _Plan:
    order: Order
    snapshot: tuple
    lines: list[_Line]
    priced: PricedOrder
    address: dict
    speed: str
    release: list[tuple[int, int, int]] = field(default_factory=list)
    allocate: list[tuple[int, int, int]] = field(default_factory=list)
    held_back: dict[Key, int] = field(default_factory=dict)

    @property
    def active(self) -> list[_Line]:
        return [ln for ln in self.lines if ln.quantity > 0]


def order_edit(
    *,
    order_id: int,
    actor: Actor,
    reason: str,
    set_quantities: Mapping[int, int] | None = None,
    add_lines: Sequence[tuple[str, int]] | None = None,
    remove_lines: Sequence[int] | None = None,
    shipping_address: dict | None = None,
    shipping_speed: str | None = None,
) -> Order:
    """Edit an order no shipment of which has started (see the module note)."""
    plan = _plan(
        order_id,
        reason=reason,
        set_quantities=set_quantities or {},
        add_lines=list(add_lines or []),
        remove_lines=list(remove_lines or []),
        shipping_address=shipping_address,
        shipping_speed=shipping_speed,
    )
    auth, gateway = _authorize_extra(plan)
    try:
        order, surplus = _record(plan, actor=actor, reason=reason, auth=auth, gateway=gateway)
    except BaseException:
        if auth is not None:
            authorization_void(gateway=gateway, reference=auth.reference)
        raise
    if surplus:
        payments_void(payment_ids=surplus, actor=actor)
    if order.status == Order.Status.ALLOCATED:
        _reroute(order, actor)
    order.refresh_from_db()
    return order


# --- 1. read and decide ---------------------------------------------------------------


def _snapshot(order: Order, lines: Sequence[OrderLine]) -> tuple:
    """What must not change between planning and recording."""
    return (
        order.status,
        order.grand_total,
        order.shipping_address,
        order.shipping_speed,
        tuple(
            (ln.pk, ln.quantity, ln.quantity_cancelled, ln.quantity_allocated, ln.warehouse_id)
            for ln in sorted(lines, key=lambda ln: ln.pk)
        ),
    )


def _check_editable(order: Order, shipments: Sequence[FulfillmentOrder]) -> None:
    started = [fo for fo in shipments if fo.status not in UNSTARTED_FO | {FulfillmentOrder.Status.CANCELLED}]
    if started:
        raise Conflict(
            f"Shipment {started[0].number} is {started[0].get_status_display().lower()}; "
            f"order {order.number} can no longer be edited.",
            code="fulfillment_started",
            shipment=started[0].number,
        )
    if order.status not in EDITABLE:
        raise Conflict(
            f"Order {order.number} is {order.get_status_display().lower()}; only orders on hold, "
            "backordered or allocated can be edited.",
            code="not_editable",
            current_status=order.status,
        )


def _check_quantity(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput.field(name, "must be a whole number")
    if not 1 <= value <= settings.MAX_LINE_QUANTITY:
        raise InvalidInput.field(
            name, f"must be between 1 and {settings.MAX_LINE_QUANTITY} (remove the line to drop it)"
        )
    return value


def _check_address(address: Any) -> dict:
    if not isinstance(address, dict):
        raise InvalidInput.field("shipping_address", "must be an address object")
    country = str(address.get("country") or "").upper()
    if country not in ISO_COUNTRIES:
        raise InvalidInput.field("shipping_address.country", f"'{country}' is not an ISO 3166-1 country code")
    for name in ("name", "line1", "city"):
        if not str(address.get(name) or "").strip():
            raise InvalidInput.field(f"shipping_address.{name}", "is required")
    return {**address, "country": country, "region": str(address.get("region") or "").upper()}


def _plan(
    order_id: int,
    *,
    reason: str,
    set_quantities: Mapping[int, int],
    add_lines: list[tuple[str, int]],
    remove_lines: list[int],
    shipping_address: dict | None,
    shipping_speed: str | None,
) -> _Plan:
    if not (reason or "").strip():
        raise InvalidInput.field("reason", "is required: say why the order is edited")
    try:
        order = Order.objects.select_related("channel", "pickup_location").get(pk=order_id)
    except Order.DoesNotExist:
        raise NotFound(f"Order {order_id} does not exist.") from None
    current = list(OrderLine.objects.filter(order=order).select_related("sku").order_by("line_number"))
    _check_editable(order, list(FulfillmentOrder.objects.filter(order=order)))
    if not (set_quantities or add_lines or remove_lines or shipping_address is not None or shipping_speed):
        raise InvalidInput.field(
            "lines", "nothing to change: give lines, add, remove, shipping_address or shipping_speed"
        )
    if shipping_speed is not None and shipping_speed not in Order.ShippingSpeed.values:
        raise InvalidInput.field("shipping_speed", f"must be one of {', '.join(Order.ShippingSpeed.values)}")
    address = _check_address(shipping_address) if shipping_address is not None else order.shipping_address

    by_id = {ln.pk: ln for ln in current}
    for line_id in [*set_quantities, *remove_lines]:
        name = f"lines.{line_id}" if line_id in set_quantities else "remove"
        ln = by_id.get(line_id)
        if ln is None:
            raise InvalidInput.field(name, f"order {order.number} has no line {line_id}", code="unknown_line")
        if ln.quantity_cancelled >= ln.quantity:
            raise InvalidInput.field(name, f"line {ln.line_number} was removed already")
    both = set(set_quantities) & set(remove_lines)
    if both:
        raise InvalidInput.field("remove", f"line {min(both)} is both changed and removed")
    for line_id, qty in set_quantities.items():
        _check_quantity(qty, f"lines.{line_id}")

    channel = order.channel
    same_place = address == order.shipping_address
    lines: list[_Line] = []
    for ln in current:
        if ln.quantity_cancelled >= ln.quantity:
            continue  # removed by an earlier edit: stays as history
        qty = 0 if ln.pk in remove_lines else set_quantities.get(ln.pk, ln.quantity)
        changed = qty != ln.quantity
        discount = round_money(ln.discount * qty / ln.quantity, order.currency) if changed else ln.discount
        # A channel that sets its own prices sent its own tax; it stands while
        # neither the line nor the destination changes.
        keep_tax = channel.price_authority and same_place and not changed
        lines.append(
            _Line(
                ln,
                ln.sku,
                qty,
                ln.unit_price,
                discount,
                ln.tax_amount if keep_tax else None,
                f"lines.{ln.pk}",
                ln.warehouse_id,
                ln.quantity_allocated,
            )
        )
    lines += _added_lines(order, add_lines)
    active = [ln for ln in lines if ln.quantity > 0]
    if not active:
        raise InvalidInput.field("remove", "an order must keep at least one line; cancel it instead")
    if len(active) > settings.MAX_ORDER_LINES:
        raise InvalidInput.field("add", f"at most {settings.MAX_ORDER_LINES} lines per order")

    plan = _Plan(
        order=order,
        snapshot=_snapshot(order, current),
        lines=lines,
        priced=_price(order, active, address),
        address=address,
        speed=shipping_speed or order.shipping_speed,
    )
    if any(ln.warehouse_id for ln in lines):
        # Allocated (or held with its stock): every line keeps its units allocated.
        _plan_stock(plan)
    return plan


def _added_lines(order: Order, add_lines: list[tuple[str, int]]) -> list[_Line]:
    if not add_lines:
        return []
    codes = {code for code, _ in add_lines}
    skus = {s.code: s for s in SKU.objects.filter(code__in=codes, is_active=True)}
    prices = dict(
        PriceListEntry.objects.filter(channel=order.channel, sku__in=skus.values()).values_list(
            "sku_id", "unit_price"
        )
    )
    out = []
    for i, (code, qty) in enumerate(add_lines):
        sku = skus.get(code)
        if sku is None:
            raise InvalidInput.field(f"add[{i}].sku", f"unknown SKU '{code}'", code="unknown_sku")
        _check_quantity(qty, f"add[{i}].quantity")
        price = prices.get(sku.pk)
        if price is None:
            raise InvalidInput.field(f"add[{i}].sku", f"'{code}' is not sold on channel {order.channel.code}")
        out.append(
            _Line(None, sku, qty, round_money(price, order.currency), ZERO, None, f"add[{i}].quantity")
        )
    return out


def _price(order: Order, active: list[_Line], address: dict) -> PricedOrder:
    """Placement's rules (orders.services.placement._validate_and_price)."""
    channel = order.channel
    tax = tax_rule_for(address["country"], address.get("region", ""))
    merchandise = sum((ln.unit_price * ln.quantity - ln.discount for ln in active), ZERO)
    agreed = hasattr(order, "quote") and order.quote is not None  # an accepted quote's price stands
    if channel.price_authority or agreed:
        shipping = order.shipping_total
    else:
        shipping = channel_shipping(channel, merchandise)
    return price_lines(
        [(ln.quantity, ln.unit_price, ln.discount, ln.given_tax) for ln in active],
        currency=order.currency,
        tax=tax,
        inclusive=channel.prices_include_tax,
        shipping=shipping,
    )


def _plan_stock(plan: _Plan) -> None:
    """Choose where each line's units are allocated after the edit: fewer
    units are released where they are; more are taken at the line's own
    location when it can, else the whole line moves to the nearest location
    (the order's other locations first) that can ship it, above safety stock.
    Read without locks: stock_reallocate checks it again under them."""
    order = plan.order
    target = order.pickup_location
    point = resolve_destination(plan.address).point if target is None else None
    if target is not None:
        point = (float(target.latitude), float(target.longitude))
    used = {ln.warehouse_id for ln in plan.lines if ln.warehouse_id and ln.quantity > 0}
    for ln in plan.lines:
        if ln.quantity == ln.allocated and ln.warehouse_id:
            continue
        if ln.quantity < ln.allocated:  # fewer (0: removed)
            plan.release.append((ln.sku.pk, ln.warehouse_id, ln.allocated - ln.quantity))  # type: ignore[arg-type]
            ln.allocated = ln.quantity
            if ln.quantity == 0:
                ln.warehouse_id = None
            continue
        own = {(ln.sku.pk, ln.warehouse_id): ln.allocated} if ln.warehouse_id else {}
        able = warehouses_that_can_ship(
            {ln.sku.pk: ln.quantity}, channel_id=order.channel_id, destination=point, extra_available=own
        )
        if not able:
            raise InsufficientStock(
                f"{ln.field}: not enough {ln.sku.code} in any one location for {ln.quantity} units",
                fields={ln.field: [f"not enough {ln.sku.code} in any one location for {ln.quantity} units"]},
                shortages=[{"sku": ln.sku.code, "requested": ln.quantity}],
            )
        preferred = [ln.warehouse_id] if ln.warehouse_id else [*sorted(used)]
        chosen = next(
            (c for wh in preferred for c in able if c.warehouse.pk == wh),
            able[0],
        )
        wh = chosen.warehouse.pk
        if wh == ln.warehouse_id:
            plan.allocate.append((ln.sku.pk, wh, ln.quantity - ln.allocated))
        else:
            if ln.warehouse_id and ln.allocated:
                plan.release.append((ln.sku.pk, ln.warehouse_id, ln.allocated))
            plan.allocate.append((ln.sku.pk, wh, ln.quantity))
        if held := chosen.held_back.get(ln.sku.pk):
            plan.held_back[(ln.sku.pk, wh)] = held
        ln.warehouse_id, ln.allocated = wh, ln.quantity
        used.add(wh)


# --- 2. authorize the difference ----------------------------------------------------


def _open_authorized(order_id: int) -> list[Payment]:
    return list(Payment.objects.filter(order_id=order_id, status=Payment.Status.AUTHORIZED).order_by("id"))


def _authorize_extra(plan: _Plan) -> tuple[Authorization | None, str]:
    """Authorize what the new total needs beyond the open authorizations, with
    the card token on file. Called outside any transaction."""
    order = plan.order
    if order.payment_terms_days is not None:
        return None, ""
    payments = _open_authorized(order.pk)
    open_amount = sum((p.amount_authorized - p.amount_captured for p in payments), ZERO)
    extra = plan.priced.grand_total - open_amount
    if extra <= 0:
        return None, ""
    card = next(
        (p for p in Payment.objects.filter(order_id=order.pk).exclude(token="").order_by("-id")),
        None,
    )
    if card is None:
        raise PaymentDeclined(
            f"The order has no card on file to authorize the extra {extra} {order.currency}.",
            fields={"payment": ["no card on file for this order"]},
            reason="missing_payment_method",
        )
    try:
        auth = get_gateway(card.gateway).authorize(
            amount=extra,
            currency=order.currency,
            card=None,
            token=card.token,
            idempotency_key=f"edit:{order.pk}:{uuid.uuid4().hex}",
        )
    except GatewayDeclined as exc:
        raise PaymentDeclined(exc.message, fields={exc.field: [exc.message]}, reason=exc.reason) from None
    except GatewayUnavailable as exc:
        raise PaymentUnavailable() from exc
    return auth, card.gateway


# --- 3. record ------------------------------------------------------------------------


def _line_dict(ln: OrderLine, currency: str) -> dict[str, Any]:
    return {
        "id": ln.pk,
        "line_number": ln.line_number,
        "sku": ln.sku.code,
        "quantity": ln.quantity - ln.quantity_cancelled,
        **{
            name: str(round_money(getattr(ln, name), currency))
            for name in ("unit_price", "discount", "tax_amount", "line_total")
        },
        "warehouse_id": ln.warehouse_id,
    }


def _totals(order: Order) -> dict[str, str]:
    return {
        name: str(round_money(getattr(order, name), order.currency))
        for name in ("subtotal", "discount_total", "shipping_total", "tax_total", "grand_total")
    }


@transaction.atomic
def _record(
    plan: _Plan, *, actor: Actor, reason: str, auth: Authorization | None, gateway: str
) -> tuple[Order, list[int]]:
    """Write the edit; returns the order and the payments it no longer needs."""
    order = (
        Order.objects.select_for_update(of=("self",), no_key=True)
        .select_related("channel")
        .get(pk=plan.order.pk)
    )
    current = list(OrderLine.objects.filter(order=order).select_related("sku").order_by("line_number"))
    shipments = list(FulfillmentOrder.objects.filter(order=order).order_by("id").select_for_update())
    _check_editable(order, shipments)
    if _snapshot(order, current) != plan.snapshot:
        raise Conflict(f"Order {order.number} changed while it was being edited; try again.")
    before = {
        "lines": [_line_dict(ln, order.currency) for ln in current if ln.quantity_cancelled < ln.quantity],
        "totals": _totals(order),
        "shipping_address": order.shipping_address,
        "shipping_speed": order.shipping_speed,
    }
    for fo in shipments:
        if fo.status in UNSTARTED_FO:
            fo_transition(
                fo, FulfillmentOrder.Status.CANCELLED, actor=actor, kind="order_edited", message=reason
            )

    priced = plan.priced
    hold_reason = ""
    increase = priced.grand_total - order.grand_total
    if order.payment_terms_days is not None and increase > 0:
        # Locked as at placement: two orders of one customer must not both fit under its limit.
        customer = Customer.objects.select_for_update(no_key=True).get(pk=order.customer_id)
        hold_reason = credit_hold_reason(customer=customer, currency=order.currency, amount=increase)

    stock_reallocate(
        release=plan.release,
        allocate=plan.allocate,
        reference=f"order:{order.pk}:edit",
        held_back=plan.held_back,
    )

    by_line = dict(zip((id(ln) for ln in plan.active), priced.lines, strict=True))
    changed, added = [], []
    next_number = (current[-1].line_number if current else 0) + 1
    for ln in plan.lines:
        if ln.line is None:
            p = by_line[id(ln)]
            added.append(
                OrderLine(
                    order=order,
                    line_number=next_number,
                    sku=ln.sku,
                    quantity=ln.quantity,
                    unit_price=p.unit_price,
                    discount=p.discount,
                    tax_rate=p.tax_rate,
                    tax_amount=p.tax_amount,
                    line_total=p.line_total,
                    unit_cost=ln.sku.unit_cost,
                    warehouse_id=ln.warehouse_id,
                    quantity_allocated=ln.allocated,
                )
            )
            next_number += 1
            continue
        row = ln.line
        if ln.quantity == 0:
            # Kept as history (shipments and pick lists may point at it), worth nothing.
            row.quantity_cancelled = row.quantity
            row.discount = row.tax_amount = row.line_total = ZERO
        else:
            p = by_line[id(ln)]
            row.quantity = ln.quantity
            row.discount, row.tax_rate, row.tax_amount, row.line_total = (
                p.discount,
                p.tax_rate,
                p.tax_amount,
                p.line_total,
            )
        row.warehouse_id, row.quantity_allocated = ln.warehouse_id, ln.allocated
        changed.append(row)
    OrderLine.objects.bulk_update(
        changed,
        [
            "quantity",
            "quantity_cancelled",
            "discount",
            "tax_rate",
            "tax_amount",
            "line_total",
            "warehouse",
            "quantity_allocated",
        ],
    )
    OrderLine.objects.bulk_create(added)

    places = {ln.warehouse_id for ln in plan.active}
    order.warehouse_id = places.pop() if len(places) == 1 else None
    for name, value in priced.totals().items():
        setattr(order, name, value)
    order.shipping_address = plan.address
    order.ship_country = plan.address["country"]
    order.shipping_speed = plan.speed
    order.save(
        update_fields=[
            "warehouse",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "grand_total",
            "shipping_address",
            "ship_country",
            "shipping_speed",
            "updated_at",
        ]
    )

    authorized = None
    if auth is not None:
        payment_authorization_record(
            order=order, gateway=gateway, auth=auth, message="order edit: extra authorization"
        )
        authorized = str(auth.amount)

    after_lines = list(OrderLine.objects.filter(order=order).select_related("sku").order_by("line_number"))
    event = event_for(
        order,
        "edited",
        actor,
        message=f"Edited: {reason.strip()}",
        data={
            "reason": reason.strip(),
            "before": before,
            "after": {
                "lines": [
                    _line_dict(ln, order.currency)
                    for ln in after_lines
                    if ln.quantity_cancelled < ln.quantity
                ],
                "totals": _totals(order),
                "shipping_address": order.shipping_address,
                "shipping_speed": order.shipping_speed,
            },
            "authorized": authorized,
            "cancelled_shipments": [fo.number for fo in shipments if fo.status == "cancelled"],
        },
    )
    event.save()
    if hold_reason:
        order.hold_reason = hold_reason[:255]
        order.save(update_fields=["hold_reason", "updated_at"])
        if order.status != Order.Status.ON_HOLD:
            order_transition(order, Order.Status.ON_HOLD, actor=actor, kind="held", message=hold_reason)
    emit("order.edited", {"order_id": order.pk}, aggregate=f"order:{order.pk}")
    return order, _surplus(order, auth)


def _surplus(order: Order, auth: Authorization | None) -> list[int]:
    """Whole, uncaptured authorizations the lower total leaves unneeded (newest
    first), voided after commit; what is left covers the total."""
    if auth is not None or order.payment_terms_days is not None:
        return []
    payments = _open_authorized(order.pk)
    spare = sum((p.amount_authorized - p.amount_captured for p in payments), ZERO) - order.grand_total
    out = []
    for p in reversed(payments):
        if p.amount_captured == 0 and 0 < p.amount_authorized <= spare:
            out.append(p.pk)
            spare -= p.amount_authorized
    return out


# --- 4. route again -------------------------------------------------------------------


def _reroute(order: Order, actor: Actor) -> None:
    """Shipments follow the edit. The edit stands if routing fails now: the
    order keeps its allocation and staff can re-run sourcing."""
    from .sourcing.services import order_source

    try:
        order_source(order_id=order.pk, actor=actor, trigger="staff")
    except DomainError as exc:
        logger.warning("order %s edited but not re-routed: %s", order.number, exc.message)
        with transaction.atomic():
            event_for(
                order, "reroute_failed", actor, message=f"Not re-routed after the edit: {exc.message}"
            ).save()
