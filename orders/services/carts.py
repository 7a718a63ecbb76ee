"""Carts: lines take soft reservations that expire with the cart.

Lock order: the cart row, then its reservations, then stock levels (inside
inventory.services). Every change pushes the cart's expiry (and its holds')
forward; a cart left alone expires, is recorded as abandoned with its value,
and its stock goes back on sale.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory.atp import Fulfilment, promisable_by_location
from inventory.models import SKU, Reservation
from inventory.selectors import warehouses_that_can_ship
from inventory.services import lock_active_reservations, reservations_release, stock_reserve
from oms.errors import Conflict, Gone, InsufficientStock, InvalidInput
from oms.geo import destination_point
from oms.models import Channel
from oms.money import ZERO
from oms.outbox import emit

from ..models import Cart, CartLine, PriceListEntry
from .placement import LineInput, OrderInput, PlacementResult, order_place


def _ttl(cart: Cart) -> timedelta:
    return timedelta(minutes=cart.channel.cart_ttl_minutes)


def _ensure_open(cart: Cart, now: datetime) -> None:
    # Expired is expired whether or not the expiry task has got to it yet.
    if cart.status == Cart.Status.ABANDONED or (cart.status == Cart.Status.OPEN and cart.expires_at <= now):
        raise Gone("The cart has expired and its stock was released; start a new cart.", code="cart_expired")
    if cart.status != Cart.Status.OPEN:
        raise Conflict(f"The cart is {cart.get_status_display().lower()}.", code="cart_closed")


def _cart_holds(cart: Cart) -> list[Reservation]:
    return lock_active_reservations(
        cart.lines.exclude(reservation__isnull=True).values_list("reservation_id", flat=True)
    )


@transaction.atomic
def cart_create(
    *, channel: Channel, email: str = "", ship_country: str = "", lines: Iterable[tuple[str, int]] = ()
) -> Cart:
    if channel.price_authority:
        raise InvalidInput.field(
            "channel", f"channel {channel.code} sets its own prices; send orders, not carts"
        )
    now = timezone.now()
    cart = Cart.objects.create(
        public_id=uuid.uuid4(),
        channel=channel,
        email=email.strip().lower(),
        currency=channel.currency,
        ship_country=ship_country.upper(),
        expires_at=now + timedelta(minutes=channel.cart_ttl_minutes),
    )
    for index, (sku_code, quantity) in enumerate(lines):
        try:
            cart_set_line(cart=cart, sku_code=sku_code, quantity=quantity, add=True)
        except InvalidInput as exc:
            raise InvalidInput(
                exc.message, code=exc.code, fields={f"lines[{index}].{k}": v for k, v in exc.fields.items()}
            ) from None
        except InsufficientStock as exc:
            raise InsufficientStock(
                exc.message, **exc.details, fields={f"lines[{index}].{k}": v for k, v in exc.fields.items()}
            ) from None
    cart.refresh_from_db()
    return cart


@transaction.atomic
def cart_set_line(*, cart: Cart, sku_code: str, quantity: int, add: bool = False) -> Cart:
    """Set (or with add=True, increase) a SKU's quantity; 0 removes the line."""
    now = timezone.now()
    cart = Cart.objects.select_for_update(of=("self",)).select_related("channel").get(pk=cart.pk)
    _ensure_open(cart, now)
    sku = SKU.objects.filter(code=sku_code, is_active=True).first()
    if sku is None:
        raise InvalidInput.field("sku", f"unknown SKU '{sku_code}'", code="unknown_sku")
    line = cart.lines.filter(sku=sku).first()
    new_quantity = (line.quantity if line and add else 0) + quantity
    if quantity < 0 or new_quantity > settings.MAX_LINE_QUANTITY or (add and quantity == 0):
        raise InvalidInput.field(
            "quantity", f"must be between {1 if add else 0} and {settings.MAX_LINE_QUANTITY}"
        )

    holds = _cart_holds(cart)
    cart.expires_at = now + _ttl(cart)
    Reservation.objects.filter(id__in=[r.id for r in holds]).update(expires_at=cart.expires_at)
    old = [r for r in holds if line is not None and r.id == line.reservation_id]

    if new_quantity == 0:
        if line is not None:
            reservations_release(reservation_ids=[r.id for r in old], reference=f"cart:{cart.public_id}")
            line.delete()
    else:
        price = (
            PriceListEntry.objects.filter(channel=cart.channel, sku=sku)
            .values_list("unit_price", flat=True)
            .first()
        )
        if price is None:
            raise InvalidInput.field("sku", f"'{sku_code}' is not sold on channel {cart.channel.code}")
        reservation = _reserve_for_line(cart, sku, new_quantity, old)
        if line is None:
            line = CartLine(cart=cart, sku=sku)
        line.quantity, line.unit_price, line.reservation = new_quantity, price, reservation
        line.save()
    cart.save(update_fields=["expires_at", "updated_at"])
    return cart


def _reserve_for_line(cart: Cart, sku: SKU, quantity: int, old: list[Reservation]) -> Reservation:
    own = {(r.sku_id, r.warehouse_id): r.quantity for r in old}
    destination = destination_point(cart.ship_country) if cart.ship_country else None
    for candidate in warehouses_that_can_ship(
        {sku.pk: quantity}, channel_id=cart.channel_id, destination=destination, extra_available=own
    )[:3]:
        try:
            with transaction.atomic():
                return stock_reserve(
                    warehouse_id=candidate.warehouse.pk,
                    quantities={sku.pk: quantity},
                    expires_at=cart.expires_at,
                    reference=f"cart:{cart.public_id}",
                    release=old,
                    held_back=candidate.held_back,
                )[0]
        except InsufficientStock:
            continue
    here = promisable_by_location([sku.pk], channel_id=cart.channel_id, fulfilment=Fulfilment.SHIP)
    best = max((r.quantity for r in old), default=0)
    best += max((p.atp for p in here.get(sku.pk, {}).values()), default=0)
    raise InsufficientStock(
        f"Only {best} of {sku.code} can be reserved; {quantity} requested.",
        fields={"quantity": [f"only {best} available"]},
        sku=sku.code,
        requested=quantity,
        available=best,
    )


def cart_checkout(*, cart: Cart, data: OrderInput) -> PlacementResult:
    """Place the cart's order. One cart makes at most one order, whatever the retries."""
    now = timezone.now()
    if cart.status == Cart.Status.CHECKED_OUT and cart.order_id:
        return PlacementResult(cart.order, created=False)
    _ensure_open(cart, now)
    lines = [LineInput(sku=ln.sku.code, quantity=ln.quantity) for ln in cart.lines.select_related("sku")]
    if not lines:
        raise InvalidInput.field("lines", "the cart is empty")
    data = OrderInput(**{**data.__dict__, "lines": lines, "fingerprint_extra": {"cart": str(cart.public_id)}})
    return order_place(data=data, cart=cart)


@transaction.atomic
def cart_adopt_holds(*, cart_id: int, reservation_ids: list[int]) -> None:
    """After a failed checkout the cart keeps the stock held for the order."""
    cart = Cart.objects.select_for_update(of=("self",)).select_related("channel").get(pk=cart_id)
    holds = {r.sku_id: r for r in lock_active_reservations(reservation_ids)}
    cart.expires_at = max(cart.expires_at, timezone.now() + _ttl(cart))
    Reservation.objects.filter(id__in=[r.id for r in holds.values()]).update(
        expires_at=cart.expires_at, reference=f"cart:{cart.public_id}"
    )
    lines = list(cart.lines.all())
    for line in lines:
        line.reservation = holds.get(line.sku_id)
    CartLine.objects.bulk_update(lines, ["reservation"])
    cart.save(update_fields=["expires_at", "updated_at"])


def cart_value(cart: Cart) -> Decimal:
    return cart.lines.aggregate(v=Sum(F("quantity") * F("unit_price"), default=ZERO))["v"]


def carts_expire(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Abandon open carts past their expiry, one short transaction each."""
    now = now or timezone.now()
    done = 0
    while done < limit:
        with transaction.atomic():
            cart = (
                Cart.objects.filter(status=Cart.Status.OPEN, expires_at__lte=now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("channel")
                .order_by("id")
                .first()
            )
            if cart is None:
                break
            holds = _cart_holds(cart)
            if holds:
                reservations_release(
                    reservation_ids=[r.id for r in holds], reference=f"cart:{cart.public_id}"
                )
            cart.status = Cart.Status.ABANDONED
            cart.abandoned_at = now
            cart.abandoned_value = cart_value(cart)
            cart.save(update_fields=["status", "abandoned_at", "abandoned_value", "updated_at"])
            if cart.channel.send_cart_reminders and cart.email and cart.lines.exists():
                emit("cart.abandoned", {"cart_id": cart.pk}, aggregate=f"cart:{cart.pk}")
            done += 1
    return done
