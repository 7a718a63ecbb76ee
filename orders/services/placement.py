"""Order placement: validate, price, hold stock, authorize, allocate, record.

    1. validate and price (reads only);
    2. short transaction: soft-reserve the stock in the nearest warehouse that
       serves the channel and can ship every line above its safety stock (a
       cart hands over its own holds in the same step);
    3. no transaction: authorize the payment at the gateway;
    4. short transaction: turn the holds into an allocation and write the
       order, lines, payment, event and outbox rows together.
A decline releases the holds; a failure after authorization voids it. No
row lock is ever held while the gateway is called.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_for_order
from inventory.atp import Fulfilment, atp_promise_dates, promisable_by_location
from inventory.models import SKU, Reservation, Warehouse
from inventory.selectors import warehouses_that_can_ship
from inventory.services import (
    lock_active_reservations,
    reservations_allocate,
    reservations_release,
    stock_reserve,
)
from oms.actors import Actor
from oms.compiled import CompiledQuery, insert_rows, instance, model_columns
from oms.errors import InsufficientStock, InvalidInput, PaymentDeclined, PaymentUnavailable
from oms.geo import destination_point
from oms.models import Channel
from oms.money import ZERO, has_valid_precision, round_money
from oms.outbox import emitting

from ..models import Cart, Order, OrderLine, PriceListEntry
from ..payments import Authorization, CardDetails, GatewayDeclined, GatewayUnavailable, get_gateway
from ..payments.cards import card_problem
from ..pricing import PricedOrder, channel_shipping, price_lines, tax_rule_for
from .credit import account_terms, credit_hold_reason
from .idempotency import idempotency_bind, idempotency_claim, idempotency_release, request_fingerprint
from .lifecycle import event_for
from .payments import authorization_void, payment_authorization_rows

VIP_PRIORITY = 10


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal | None = None
    discount: Decimal = ZERO
    tax_amount: Decimal | None = None
    external_id: str = ""


@dataclass(frozen=True)
class CustomerInput:
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class PaymentInput:
    gateway: str
    card: CardDetails | None = None
    token: str | None = None


@dataclass(frozen=True)
class OrderInput:
    channel: Channel
    actor: Actor
    currency: str
    customer: CustomerInput
    shipping_address: dict
    lines: list[LineInput]
    billing_address: dict | None = None
    payment: PaymentInput | None = None
    external_id: str | None = None
    shipping_amount: Decimal | None = None
    expected_total: Decimal | None = None
    is_gift: bool = False
    gift_message: str = ""
    is_vip: bool = False
    is_replacement: bool = False
    notes: str = ""
    shipping_speed: str = Order.ShippingSpeed.STANDARD
    deliver_by: date | None = None
    pickup_store: str = ""
    source: str = Order.Source.API
    on_account: bool = False  # B2B: invoiced with payment terms, no card
    payment_terms_days: int | None = None  # on account with these (shorter) terms
    # Prices agreed beforehand (an accepted quote): the given unit prices and
    # shipping stand even if the price list changed since. Never from the API.
    agreed_prices: bool = False
    fingerprint_extra: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        """What identifies the request for idempotency (never the card number)."""
        return request_fingerprint(
            {
                "currency": self.currency,
                "customer": self.customer.__dict__,
                "shipping": self.shipping_address,
                "billing": self.billing_address,
                "lines": [ln.__dict__ for ln in self.lines],
                "external_id": self.external_id,
                "shipping_amount": self.shipping_amount,
                "total": self.expected_total,
                "flags": [self.is_gift, self.gift_message, self.is_vip, self.is_replacement],
                "payment": self.payment.gateway if self.payment else None,
                "account": [self.billed_on_account, self.payment_terms_days, self.agreed_prices],
                "delivery": [self.shipping_speed, str(self.deliver_by or ""), self.pickup_store],
                **self.fingerprint_extra,
            }
        )

    @property
    def billed_on_account(self) -> bool:
        return self.on_account or self.payment_terms_days is not None


@dataclass
class PlacementResult:
    order: Order
    created: bool


def order_place(
    *, data: OrderInput, idempotency_key: str | None = None, cart: Cart | None = None
) -> PlacementResult:
    """Place an order exactly once per external id, Idempotency-Key or cart.

    Every key the request carries is claimed (external id first, then the
    header's key, always in that order so two requests cannot wait on each
    other), and all are bound to the order made.
    """
    if cart is not None:
        keys = [(f"cart:{cart.public_id}", "cart")]
    else:
        keys = [(f"external:{data.external_id}", "external_id")] if data.external_id else []
        if idempotency_key:
            keys.append((f"key:{idempotency_key}", "Idempotency-Key"))
    claimed: list[str] = []
    try:
        for key, field_name in keys:
            existing = idempotency_claim(
                channel=data.channel, key=key, fingerprint=data.fingerprint(), field=field_name
            )
            if existing is not None:
                for own in claimed:
                    idempotency_release(channel=data.channel, key=own)
                return PlacementResult(existing, created=False)
            claimed.append(key)
        order = _place(data, keys=claimed, cart=cart)
    except BaseException:
        for own in claimed:
            idempotency_release(channel=data.channel, key=own)
        raise
    return PlacementResult(order, created=True)


@dataclass
class _Plan:
    skus: dict[str, SKU]
    quantities: dict[int, int]
    priced: PricedOrder
    destination: tuple[float, float] | None
    pickup: Warehouse | None = None


def _validate_and_price(data: OrderInput) -> _Plan:
    channel = data.channel
    if not channel.is_active:
        raise InvalidInput.field("channel", f"channel {channel.code} is not active")
    if data.currency != channel.currency:
        raise InvalidInput.field(
            "currency",
            f"must be {channel.currency}, the currency of channel {channel.code}",
            code="wrong_currency",
        )
    if not data.lines:
        raise InvalidInput.field("lines", "an order needs at least one line")
    if len(data.lines) > settings.MAX_ORDER_LINES:
        raise InvalidInput.field("lines", f"at most {settings.MAX_ORDER_LINES} lines per order")
    problems: dict[str, list[str]] = {}
    for i, ln in enumerate(data.lines):
        if not 1 <= ln.quantity <= settings.MAX_LINE_QUANTITY:
            problems[f"lines[{i}].quantity"] = [f"must be between 1 and {settings.MAX_LINE_QUANTITY}"]
    skus = _skus_with_price(channel, list({ln.sku for ln in data.lines}))
    for i, ln in enumerate(data.lines):
        if ln.sku not in skus:
            problems[f"lines[{i}].sku"] = [f"unknown SKU '{ln.sku}'"]
    if problems:
        raise InvalidInput(
            next(f"{k}: {v[0]}" for k, v in problems.items()),
            fields=problems,
            code="unknown_sku" if any(k.endswith(".sku") for k in problems) else "invalid",
        )

    if channel.price_authority:
        unit_prices = _channel_prices(data)
    else:
        unit_prices = _price_list_prices(data, channel, skus)

    for i, ln in enumerate(data.lines):
        for name, amount in (
            ("discount", ln.discount),
            ("tax_amount", ln.tax_amount),
            ("unit_price", ln.unit_price),
        ):
            if amount is not None and not has_valid_precision(amount, data.currency):
                problems[f"lines[{i}].{name}"] = [f"has more decimals than {data.currency} allows"]
        if ln.discount < 0:
            problems[f"lines[{i}].discount"] = ["must not be negative"]
        elif ln.discount > unit_prices[i] * ln.quantity:
            problems[f"lines[{i}].discount"] = ["is larger than the line amount"]
    if problems:
        raise InvalidInput(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)

    address = data.shipping_address
    tax = tax_rule_for(address["country"], address.get("region", ""))
    merchandise = sum((unit_prices[i] * ln.quantity - ln.discount for i, ln in enumerate(data.lines)), ZERO)
    if channel.price_authority or (data.agreed_prices and data.shipping_amount is not None):
        shipping = data.shipping_amount or ZERO
    else:
        shipping = channel_shipping(channel, merchandise)
    priced = price_lines(
        [
            (ln.quantity, unit_prices[i], ln.discount, ln.tax_amount if channel.price_authority else None)
            for i, ln in enumerate(data.lines)
        ],
        currency=data.currency,
        tax=tax,
        inclusive=channel.prices_include_tax,
        shipping=shipping,
    )
    if (
        data.expected_total is not None
        and round_money(data.expected_total, data.currency) != priced.grand_total
    ):
        raise InvalidInput.field(
            "total",
            f"is {data.expected_total} but the lines, shipping and tax add up to {priced.grand_total}",
            code="totals_mismatch",
        )
    quantities: dict[int, int] = defaultdict(int)
    for ln in data.lines:
        quantities[skus[ln.sku].pk] += ln.quantity
    pickup = _pickup_store(data) if data.pickup_store else None
    if data.deliver_by is not None and data.deliver_by < timezone.localdate():
        raise InvalidInput.field("deliver_by", "is in the past")
    return _Plan(
        skus=skus,
        quantities=dict(quantities),
        priced=priced,
        # Click and collect: stock is held near the store, where the order goes.
        destination=(float(pickup.latitude), float(pickup.longitude))
        if pickup
        else destination_point(
            address["country"],
            address.get("latitude"),
            address.get("longitude"),
        ),
        pickup=pickup,
    )


def _active_skus(price_authority: bool, *, codes: int, channel: int | None = None) -> QuerySet[SKU]:
    found = SKU.objects.filter(code__any=codes, is_active=True)
    if price_authority:
        return found.values(*model_columns(SKU))
    # The channel's price comes with the SKU: one query, not two. Unordered:
    # one entry per channel and SKU (the default ordering joined two tables).
    price = PriceListEntry.objects.filter(channel_id=channel, sku=OuterRef("pk")).order_by()
    price = price.values("unit_price")
    return found.annotate(channel_price=Subquery(price[:1])).values(*model_columns(SKU), "channel_price")


# Compiled once per kind of channel (building it cost more than running it).
_ACTIVE_SKUS = CompiledQuery(_active_skus)


def _skus_with_price(channel: Channel, codes: list[str]) -> dict[str, SKU]:
    """The active SKUs with these codes, each with its `channel_price` unless
    the channel sets its own prices."""
    scope = {} if channel.price_authority else {"channel": channel.pk}
    skus = {}
    for row in _ACTIVE_SKUS.rows(channel.price_authority, codes=codes, **scope):
        sku = instance(SKU, row)
        if "channel_price" in row:
            sku.channel_price = row["channel_price"]
        skus[sku.code] = sku
    return skus


def _pickup_store(data: OrderInput) -> Warehouse:
    store = Warehouse.objects.filter(code=data.pickup_store, is_active=True).first()
    if store is None:
        raise InvalidInput.field("pickup_store", f"unknown location '{data.pickup_store}'")
    if not store.allows_pickup:
        raise InvalidInput.field("pickup_store", f"{store.code} does not offer pick-up")
    served = store.channels.values_list("pk", flat=True)
    if served and data.channel.pk not in served:
        raise InvalidInput.field("pickup_store", f"{store.code} does not serve channel {data.channel.code}")
    return store


def _channel_prices(data: OrderInput) -> list[Decimal]:
    missing = {
        f"lines[{i}].unit_price": ["is required: this channel sets its own prices"]
        for i, ln in enumerate(data.lines)
        if ln.unit_price is None
    }
    if missing:
        raise InvalidInput(next(f"{k}: {v[0]}" for k, v in missing.items()), fields=missing)
    if data.expected_total is None:
        raise InvalidInput.field("total", "is required from a channel that sets its own prices")
    return [ln.unit_price for ln in data.lines]  # type: ignore[misc]


def _price_list_prices(data: OrderInput, channel: Channel, skus: dict[str, SKU]) -> list[Decimal]:
    """The channel's price of each line (`channel_price`, read with the SKUs)."""
    problems: dict[str, list[str]] = {}
    out: list[Decimal] = []
    for i, ln in enumerate(data.lines):
        price = skus[ln.sku].channel_price
        if price is None:
            problems[f"lines[{i}].sku"] = [f"'{ln.sku}' is not sold on channel {channel.code}"]
            continue
        price = round_money(price, data.currency)
        if data.agreed_prices and ln.unit_price is not None:
            price = round_money(ln.unit_price, data.currency)
        if ln.unit_price is not None and ln.unit_price != price:
            problems[f"lines[{i}].unit_price"] = [
                f"is {round_money(ln.unit_price, data.currency)} but the current price is {price}"
            ]
        if ln.tax_amount is not None:
            problems[f"lines[{i}].tax_amount"] = ["is computed by the OMS for this channel; omit it"]
        out.append(price)
    if problems:
        code = "price_mismatch" if any(k.endswith("unit_price") for k in problems) else "invalid"
        raise InvalidInput(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems, code=code)
    return out


def _shortage_error(data: OrderInput, plan: _Plan) -> InsufficientStock:
    stock = promisable_by_location(plan.quantities, channel_id=data.channel.pk, fulfilment=Fulfilment.SHIP)
    fields: dict[str, list[str]] = {}
    shortages = []
    for i, ln in enumerate(data.lines):
        sku = plan.skus[ln.sku]
        here = stock.get(sku.pk, {}).values()
        total = sum(p.atp for p in here)
        best = max((p.atp for p in here), default=0)
        wanted = plan.quantities[sku.pk]
        if best < wanted:
            # Say so when safety stock is why: the units are on the shelf but not for sale.
            kept = ", safety stock held back" if any(p.available > p.atp for p in here) else ""
            fields[f"lines[{i}].quantity"] = [
                f"only {best} of {ln.sku} available in one warehouse ({total} in all{kept})"
            ]
            shortages.append({"sku": ln.sku, "requested": wanted, "available": total, "best_warehouse": best})
    if not fields:
        message = "No single warehouse can ship every line of this order."
        fields = {"lines": [message]}
    else:
        message = next(f"{k}: {v[0]}" for k, v in fields.items())
    return InsufficientStock(message, fields=fields, shortages=shortages)


def _hold_stock(
    data: OrderInput, plan: _Plan, reference: str, cart: Cart | None
) -> tuple[Warehouse, list[Reservation]]:
    """Soft-reserve the whole order in one warehouse, nearest first, among the
    locations that serve the channel, leaving their safety stock alone.

    Staff-entered orders (phone, store) follow the rules of the channel they
    are entered for: safety stock is kept for what no channel was promised
    (damage, miscounts, store walk-ins), and a staff member who must use it
    can lower it for the location first, which leaves a trace in the admin.
    """
    own: dict[tuple[int, int], int] = defaultdict(int)
    cart_holds: list[int] = []
    if cart is not None:
        for r in Reservation.objects.filter(cart_line__cart=cart, status=Reservation.Status.ACTIVE):
            own[(r.sku_id, r.warehouse_id)] += r.quantity
            cart_holds.append(r.pk)
    expires_at = timezone.now() + timedelta(seconds=settings.PLACEMENT_RESERVATION_SECONDS)
    candidates = warehouses_that_can_ship(
        plan.quantities, channel_id=data.channel.pk, destination=plan.destination, extra_available=own
    )
    for candidate in candidates[:3]:
        try:
            with transaction.atomic():
                release = lock_active_reservations(cart_holds)
                holds = stock_reserve(
                    warehouse_id=candidate.warehouse.pk,
                    quantities=plan.quantities,
                    expires_at=expires_at,
                    reference=reference,
                    release=release,
                    held_back=candidate.held_back,
                )
            return candidate.warehouse, holds
        except InsufficientStock:
            continue  # another order took it meanwhile: try the next nearest
    raise _shortage_error(data, plan)


def _check_payment(data: OrderInput, amount: Decimal) -> None:
    """Refuse what no gateway would accept before any stock is held."""
    if data.billed_on_account:
        if data.payment is not None:
            raise InvalidInput.field("payment", "an order on account is invoiced: leave the card out")
        return
    if amount <= 0:
        return
    if data.payment is None:
        raise InvalidInput.field("payment", "is required for an order with a total above zero")
    try:
        get_gateway(data.payment.gateway)
    except LookupError:
        raise InvalidInput.field(
            "payment.gateway", f"unknown payment gateway '{data.payment.gateway}'"
        ) from None
    problem = card_problem(data.payment.card) if data.payment.card else None
    if problem:
        reason, message, name = problem
        raise PaymentDeclined(message, fields={name: [message]}, reason=reason)


def _authorize(data: OrderInput, amount: Decimal, idempotency_key: str) -> Authorization | None:
    if amount <= 0 or data.payment is None:
        return None
    gateway = get_gateway(data.payment.gateway)
    try:
        return gateway.authorize(
            amount=amount,
            currency=data.currency,
            card=data.payment.card,
            token=data.payment.token,
            idempotency_key=idempotency_key,
        )
    except GatewayDeclined as exc:
        raise PaymentDeclined(exc.message, fields={exc.field: [exc.message]}, reason=exc.reason) from None
    except GatewayUnavailable as exc:
        raise PaymentUnavailable() from exc


def _special_code(data: OrderInput, is_vip: bool) -> str | None:
    prefix = "R" if data.is_replacement else "V" if is_vip else "G" if data.is_gift else None
    return f"{prefix}-{secrets.token_hex(5).upper()}" if prefix else None


def _place(data: OrderInput, *, keys: list[str], cart: Cart | None) -> Order:
    plan = _validate_and_price(data)
    _check_payment(data, plan.priced.grand_total)
    reference = f"placing:{uuid.uuid4().hex}"
    promised_at = None
    try:
        warehouse, holds = _hold_stock(data, plan, reference, cart)
    except InsufficientStock:
        # A cart's checkout stays all-or-nothing: its holds are what it showed the shopper.
        if not data.channel.allow_backorders or cart is not None:
            raise
        warehouse, holds = None, []
        promised_at = _promise_date(data, plan)
    hold_ids = [r.pk for r in holds]
    try:
        # A fresh key per attempt: a retry with another card must not get a cached decline.
        auth = _authorize(data, plan.priced.grand_total, reference)
    except BaseException:
        _give_back(hold_ids, cart, reference)
        raise
    try:
        return _record(data, plan, warehouse, holds, auth, keys=keys, cart=cart, promised_at=promised_at)
    except BaseException:
        if auth is not None:
            authorization_void(gateway=data.payment.gateway, reference=auth.reference)  # type: ignore[union-attr]
        _give_back(hold_ids, cart, reference)
        raise


def _promise_date(data: OrderInput, plan: _Plan) -> date | None:
    """When a backorder can ship: the day the channel's forward ATP (incoming
    purchase orders and transfers, above each location's safety stock) covers
    every line after the units promised to backorders ahead of it (same or
    higher priority, all earlier), plus the handling days. None if nothing on
    the way covers a line."""
    priority = VIP_PRIORITY if data.is_vip or data.is_replacement else 0
    ahead = dict(
        OrderLine.objects.filter(
            order__status=Order.Status.BACKORDERED, order__priority__gte=priority, sku_id__in=plan.quantities
        )
        .values("sku_id")
        .annotate(qty=Sum("quantity"))
        .values_list("sku_id", "qty")
    )
    dates = atp_promise_dates(plan.quantities, channel_id=data.channel.pk, ahead=ahead)
    if any(d is None for d in dates.values()):
        return None
    return max(dates.values()) + timedelta(days=settings.BACKORDER_HANDLING_DAYS)  # type: ignore[type-var]


def _give_back(hold_ids: list[int], cart: Cart | None, reference: str) -> None:
    """Undo step 2: a cart keeps its (moved) holds for another try, others are released."""
    if cart is None:
        reservations_release(reservation_ids=hold_ids, reference=reference)
        return
    from .carts import cart_adopt_holds

    cart_adopt_holds(cart_id=cart.pk, reservation_ids=hold_ids)


@transaction.atomic
def _record(
    data: OrderInput,
    plan: _Plan,
    warehouse: Warehouse | None,
    holds: list[Reservation],
    auth: Authorization | None,
    *,
    keys: list[str],
    cart: Cart | None,
    promised_at: date | None = None,
) -> Order:
    """Write the order and everything with it; the stock is allocated last, so
    its rows stay locked only for the end of this transaction. The order is
    returned with its lines, payments and events attached, ready to render."""
    channel = data.channel
    customer = customer_for_order(
        channel=channel,
        email=data.customer.email,
        first_name=data.customer.first_name,
        last_name=data.customer.last_name,
        phone=data.customer.phone,
    )
    is_vip = data.is_vip or customer.is_vip
    priced = plan.priced
    backordered = warehouse is None
    now = timezone.now()
    terms, hold_reason = None, ""
    if data.billed_on_account:
        # Locked: two orders of one customer must not both fit under its limit.
        customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
        terms = account_terms(customer, data.payment_terms_days)
        hold_reason = credit_hold_reason(customer=customer, currency=data.currency, amount=priced.grand_total)
    status = Order.Status.BACKORDERED if backordered else Order.Status.ALLOCATED
    order = Order.objects.create(
        channel=channel,
        external_id=data.external_id or None,
        source=Order.Source.CART if cart is not None else data.source,
        status=Order.Status.ON_HOLD if hold_reason else status,
        hold_reason=hold_reason,
        payment_terms_days=terms,
        customer=customer,
        email=customer.email,
        shipping_address=data.shipping_address,
        billing_address=data.billing_address,
        ship_country=data.shipping_address["country"],
        currency=data.currency,
        **priced.totals(),
        prices_include_tax=channel.prices_include_tax,
        warehouse=warehouse,
        promised_at=promised_at,
        is_gift=data.is_gift,
        gift_message=data.gift_message,
        shipping_speed=data.shipping_speed,
        deliver_by=data.deliver_by,
        pickup_location=plan.pickup,
        is_vip=is_vip,
        is_replacement=data.is_replacement,
        special_code=_special_code(data, is_vip),
        # Replacements (a customer already let down) and VIPs are allocated first.
        priority=VIP_PRIORITY if is_vip or data.is_replacement else 0,
        notes=data.notes,
        placed_at=now,
        created_by=data.actor.user if data.actor.type == "staff" else None,
    )
    lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                line_number=i + 1,
                sku=plan.skus[ln.sku],
                external_id=ln.external_id,
                quantity=ln.quantity,
                unit_price=p.unit_price,
                discount=p.discount,
                tax_rate=p.tax_rate,
                tax_amount=p.tax_amount,
                line_total=p.line_total,
                unit_cost=plan.skus[ln.sku].unit_cost,
                warehouse=warehouse,
                quantity_allocated=0 if backordered else ln.quantity,
            )
            for i, (ln, p) in enumerate(zip(data.lines, priced.lines, strict=True))
        ]
    )
    rows = []
    if auth is not None:
        rows = payment_authorization_rows(order=order, gateway=data.payment.gateway, auth=auth)  # type: ignore[union-attr]
    event = event_for(
        order,
        "placed",
        data.actor,
        to_status=order.status,
        message=f"Placed via {order.get_source_display().lower()}; "
        + (
            f"backordered, promised for {promised_at or 'a date not known yet'}."
            if backordered
            else f"allocated from {warehouse.code}."
        )
        + (f" On account, net {terms} days." if terms is not None else "")
        + (f" On hold: {hold_reason}" if hold_reason else ""),
        data={
            "warehouse": None if backordered else warehouse.code,
            "grand_total": str(priced.grand_total),
            "promised_at": str(promised_at) if promised_at else None,
        },
    )
    # The payment, its transaction, the event and the outbox row: one statement.
    outbox = emitting("order.placed", {"order_id": order.pk}, aggregate=f"order:{order.pk}")
    insert_rows([*rows, event, outbox])
    idempotency_bind(channel=channel, keys=keys, order=order)
    if cart is not None:
        Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.CHECKED_OUT, order=order, updated_at=now)
    if holds:
        reservations_allocate(reservation_ids=[r.pk for r in holds], reference=f"order:{order.pk}")
    order._prefetched_objects_cache = {"lines": lines, "payments": rows[:1], "events": [event]}
    return order
