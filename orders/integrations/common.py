"""What the adapters share: the webhook signature check, and turning a
platform's amounts, addresses and SKUs into an OrderInput.

Every mapping problem is an InvalidInput naming the platform's own field
(`line_items[2].sku`), so the held intake record says exactly what to fix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from django.db.models import Q

from inventory.models import SKU
from oms.actors import Actor
from oms.errors import InvalidInput
from oms.models import Channel
from oms.money import ZERO, has_valid_precision, parse_amount, quantum, round_money

from ..models import Order
from ..services.placement import CustomerInput, LineInput, OrderInput, PaymentInput
from .gateway import NAME as PLATFORM_GATEWAY

MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
MAX_AMOUNT = Decimal(10) ** 12  # fits NUMERIC(18, 4) with room for sums


def signature_valid(*, secret: str, body: bytes, signature: str | None) -> bool:
    """`signature` is the base64 HMAC-SHA256 of the raw body keyed with the
    secret (Shopify's X-Shopify-Hmac-Sha256, WooCommerce's X-WC-Webhook-Signature)."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    try:
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)


def sign(*, secret: str, body: bytes) -> str:
    """The signature a platform would send for this body (tests, tooling)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def money(raw: object, name: str, currency: str, *, rounded: bool = False) -> Decimal:
    """An amount from the payload, refused (naming the field) unless it is a
    number with no more decimals than the currency has; `rounded` rounds it
    to the currency instead (platforms that store tax unrounded)."""
    try:
        value = parse_amount("0" if raw in ("", None) else raw)
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput.field(name, f"'{raw}' is not an amount") from None
    if value < 0:
        raise InvalidInput.field(name, f"{value} is negative")
    if value >= MAX_AMOUNT:
        raise InvalidInput.field(name, f"{value} is too large")
    if rounded:
        return round_money(value, currency)
    if not has_valid_precision(value, currency):
        raise InvalidInput.field(name, f"{value} has more decimals than {currency} allows")
    return value


def quantity(raw: object, name: str) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise InvalidInput.field(name, f"'{raw}' is not a whole number") from None
    if value < 1:
        raise InvalidInput.field(name, "must be at least 1")
    return value


def unit_price_and_discount(
    before: Decimal, after: Decimal, qty: int, currency: str, name: str
) -> tuple[Decimal, Decimal]:
    """A unit price and a line discount from line amounts before and after
    discounts, when the platform gives no exact unit price (20.00 for 3).

    The unit price is rounded up to the currency so the discount is never
    negative; the line's net amount stays exactly `after`."""
    unit = (before / qty).quantize(quantum(currency), rounding=ROUND_CEILING)
    discount = unit * qty - after
    if discount < 0:
        raise InvalidInput.field(name, f"the line total {after} is more than its amount before discounts")
    return unit, discount


def text(value: object, limit: int) -> str:
    return "" if value is None else str(value).strip()[:limit]


def address(raw: dict | None, name: str) -> dict:
    """Check an address already in the OMS shape (name, company, line1, line2,
    city, region, postal_code, country, phone, latitude, longitude) as the
    order API does, naming the platform field at fault."""
    from ..api.serializers import AddressIn  # the API's own address rules, not a copy

    if not isinstance(raw, dict):
        raise InvalidInput.field(name, "is missing")
    for key in ("latitude", "longitude"):
        try:
            raw[key] = (
                None
                if raw.get(key) in (None, "")
                else str(Decimal(str(raw[key])).quantize(Decimal("0.000001")))
            )
        except InvalidOperation:
            raw[key] = None
    if (raw["latitude"] is None) != (raw["longitude"] is None) or raw["latitude"] == raw[
        "longitude"
    ] == "0.000000":
        raw["latitude"] = raw["longitude"] = None  # Shopify sends 0, 0 for "unknown"
    serializer = AddressIn(data={k: v for k, v in raw.items() if v not in (None, "")})
    if not serializer.is_valid():
        fields = {f"{name}.{k}": [str(m) for m in v] for k, v in serializer.errors.items()}
        first = next(iter(fields.items()))
        raise InvalidInput(f"{first[0]}: {first[1][0]}", fields=fields)
    return dict(serializer.validated_data)


def resolve_skus(wanted: list[tuple[str, str]]) -> dict[str, str]:
    """Map each given code to an active SKU's code, by SKU code first, then by
    barcode (GTIN/EAN/UPC). `wanted` is (field name, code); unknown codes are
    one InvalidInput naming every field."""
    codes = {code for _, code in wanted if code}
    found: dict[str, str] = {}
    by_barcode: dict[str, str] = {}
    for sku_code, barcode in SKU.objects.filter(
        Q(code__in=codes) | Q(barcode__in=codes), is_active=True
    ).values_list("code", "barcode"):
        found[sku_code] = sku_code
        if barcode:
            by_barcode[barcode] = sku_code
    resolved = {code: found.get(code) or by_barcode.get(code) for code in codes}
    problems = {
        name: [f"unknown SKU or barcode '{code}'" if code else "has no SKU"]
        for name, code in wanted
        if not code or resolved.get(code) is None
    }
    if problems:
        first = next(iter(problems.items()))
        raise InvalidInput(f"{first[0]}: {first[1][0]}", fields=problems, code="unknown_sku")
    return resolved  # type: ignore[return-value]


def check_currency(channel: Channel, currency: str, name: str = "currency") -> None:
    if currency != channel.currency:
        raise InvalidInput.field(
            name,
            f"the order is in {currency} but channel {channel.code} sells in {channel.currency}",
            code="wrong_currency",
        )


@dataclass
class Draft:
    """An order as read from a platform, before SKU codes are resolved."""

    platform: str
    external_id: str
    currency: str
    email: str
    shipping_address: dict
    lines: list[tuple[str, LineInput]]  # (platform field of its SKU, line)
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    billing_address: dict | None = None
    shipping_amount: Decimal = ZERO
    total: Decimal | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)


def order_input(draft: Draft, *, channel: Channel, actor: Actor) -> OrderInput:
    """The OrderInput for order_place: SKUs resolved, the platform's prices
    kept when the channel sets its own (price_authority), and the payment
    recorded as taken by the platform."""
    if not draft.email:
        raise InvalidInput.field("email", "the order has no customer e-mail")
    if not draft.lines:
        raise InvalidInput.field("line_items", "the order has no lines")
    codes = resolve_skus([(name, ln.sku) for name, ln in draft.lines])
    lines = []
    for _, ln in draft.lines:
        if channel.price_authority:
            lines.append(
                LineInput(
                    sku=codes[ln.sku],
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    discount=ln.discount,
                    tax_amount=ln.tax_amount,
                    external_id=ln.external_id,
                )
            )
        else:
            # The price list prices the order; the platform's total is still checked.
            lines.append(
                LineInput(
                    sku=codes[ln.sku], quantity=ln.quantity, discount=ln.discount, external_id=ln.external_id
                )
            )
    return OrderInput(
        channel=channel,
        actor=actor,
        currency=draft.currency,
        customer=CustomerInput(
            email=draft.email[:254],
            first_name=draft.first_name[:100],
            last_name=draft.last_name[:100],
            phone=draft.phone[:40],
        ),
        shipping_address=draft.shipping_address,
        billing_address=draft.billing_address,
        lines=lines,
        payment=PaymentInput(
            gateway=PLATFORM_GATEWAY, token=f"{draft.platform}:{channel.code}:{draft.external_id}"
        ),
        external_id=draft.external_id,
        shipping_amount=draft.shipping_amount if channel.price_authority else None,
        expected_total=draft.total,
        notes=draft.notes,
        source=Order.Source.IMPORT,
    )
