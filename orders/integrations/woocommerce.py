"""WooCommerce order webhook -> Draft.

Written from the WooCommerce webhook and REST API (v3) documentation: the
webhook posts the order as the REST API returns it, with headers
`X-WC-Webhook-Topic: order.created`, `X-WC-Webhook-Resource: order`,
`X-WC-Webhook-Event: created` and `X-WC-Webhook-Signature` (base64
HMAC-SHA256 of the raw body keyed with the webhook's secret). The body has
`id`, `number`, `status`, `currency`, `prices_include_tax`, `total`,
`shipping_total`, `shipping_tax`, `billing` (with `email`, `phone`) and
`shipping` (`first_name`, `last_name`, `company`, `address_1`, `address_2`,
`city`, `state`, `postcode`, `country`), `line_items[]` (`id`, `sku`,
`quantity`, `subtotal` / `subtotal_tax` before coupons, `total` /
`total_tax` after), `shipping_lines[]`, `fee_lines[]`, `coupon_lines[]`.

Line amounts in WooCommerce always exclude tax; for a channel whose prices
include tax the line tax is added back. A line's discount is what its
coupons took off (subtotal - total). Unit prices come rounded up to the
currency when the line amount does not divide by its quantity. When the
webhook is created, WooCommerce sends an unsigned ping (`webhook_id=<n>`,
form-encoded) which is answered 200 and stored nowhere.
"""

from __future__ import annotations

import re
from decimal import Decimal

from oms.errors import InvalidInput
from oms.models import Channel

from ..services.placement import LineInput
from .common import Draft, address, check_currency, money, quantity, text, unit_price_and_discount

TOPIC_HEADER = "X-WC-Webhook-Topic"
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
ORDER_TOPIC = "order.created"
PING = re.compile(rb"^webhook_id=\d+$")
# Orders in these states will not be paid or shipped: held for staff to reject.
NOT_PLACEABLE = {"failed", "cancelled", "refunded", "trash", "checkout-draft"}


def external_id(payload: dict) -> str:
    raw = payload.get("id") if isinstance(payload, dict) else None
    if raw in (None, "", 0) or isinstance(raw, bool | dict | list):
        raise InvalidInput.field("id", "the order id is missing")
    return str(raw)[:100]


def _address(raw: object, email_phone: dict, name: str) -> dict | None:
    if not isinstance(raw, dict) or not (raw.get("address_1") or raw.get("city")):
        return None
    return address(
        {
            "name": " ".join(
                p for p in (text(raw.get("first_name"), 100), text(raw.get("last_name"), 100)) if p
            )
            or text(raw.get("company"), 200),
            "company": text(raw.get("company"), 200),
            "line1": text(raw.get("address_1"), 200),
            "line2": text(raw.get("address_2"), 200),
            "city": text(raw.get("city"), 100),
            "region": text(raw.get("state"), 100),
            "postal_code": text(raw.get("postcode"), 20),
            "country": text(raw.get("country"), 2),
            "phone": text(raw.get("phone") or email_phone.get("phone"), 40),
        },
        name,
    )


def draft(payload: dict, channel: Channel) -> Draft:
    order_id = external_id(payload)
    status = text(payload.get("status"), 30)
    if status in NOT_PLACEABLE:
        raise InvalidInput.field("status", f"the WooCommerce order is '{status}'")
    currency = text(payload.get("currency"), 3).upper()
    check_currency(channel, currency)
    inclusive = channel.prices_include_tax

    def amount(obj: dict, key: str, name: str) -> Decimal:
        return money(obj.get(key), name, currency, rounded=True)

    items = payload.get("line_items")
    if not isinstance(items, list) or not items:
        raise InvalidInput.field("line_items", "the order has no lines")
    lines = []
    for i, item in enumerate(items):
        name = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput.field(name, "is not an object")
        qty = quantity(item.get("quantity"), f"{name}.quantity")
        before = amount(item, "subtotal", f"{name}.subtotal")
        after = amount(item, "total", f"{name}.total")
        tax = amount(item, "total_tax", f"{name}.total_tax")
        if inclusive:
            before += amount(item, "subtotal_tax", f"{name}.subtotal_tax")
            after += tax
        unit, discount = unit_price_and_discount(before, after, qty, currency, f"{name}.total")
        lines.append(
            (
                f"{name}.sku",
                LineInput(
                    sku=text(item.get("sku"), 64),
                    quantity=qty,
                    unit_price=unit,
                    discount=discount,
                    tax_amount=tax,
                    external_id=text(item.get("id"), 100),
                ),
            )
        )
    for i, fee in enumerate(payload.get("fee_lines") or []):
        if isinstance(fee, dict) and str(fee.get("total") or "0").strip().strip("0.-"):
            raise InvalidInput.field(
                f"fee_lines[{i}]", f"fees ({text(fee.get('name'), 60)}) cannot be carried over to an order"
            )
    shipping = Decimal(0)
    for i, ship in enumerate(payload.get("shipping_lines") or []):
        if not isinstance(ship, dict):
            raise InvalidInput.field(f"shipping_lines[{i}]", "is not an object")
        shipping += amount(ship, "total", f"shipping_lines[{i}].total")
        if inclusive:
            shipping += amount(ship, "total_tax", f"shipping_lines[{i}].total_tax")
    billing = payload.get("billing") if isinstance(payload.get("billing"), dict) else {}
    billing_address = _address(billing, billing, "billing")
    shipping_address = _address(payload.get("shipping"), billing, "shipping") or billing_address
    if shipping_address is None:
        raise InvalidInput.field("shipping", "the order has no shipping or billing address")
    coupons = ", ".join(
        text(c.get("code"), 40)
        for c in payload.get("coupon_lines") or []
        if isinstance(c, dict) and c.get("code")
    )
    notes = [f"WooCommerce order {text(payload.get('number'), 40) or order_id} ({status or 'no status'})"]
    if coupons:
        notes.append(f"Coupons: {coupons}")
    if payload.get("customer_note"):
        notes.append(text(payload.get("customer_note"), 1000))
    return Draft(
        platform="woocommerce",
        external_id=order_id,
        currency=currency,
        email=text(billing.get("email"), 254),
        first_name=text(billing.get("first_name"), 100),
        last_name=text(billing.get("last_name"), 100),
        phone=text(billing.get("phone"), 40),
        shipping_address=shipping_address,
        billing_address=billing_address,
        lines=lines,
        shipping_amount=shipping,
        total=amount(payload, "total", "total"),
        notes="\n".join(notes),
    )
