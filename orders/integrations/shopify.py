"""Shopify `orders/create` webhook -> Draft.

Written from Shopify's order webhook payload (REST Admin order resource):
headers `X-Shopify-Topic: orders/create` and `X-Shopify-Hmac-Sha256` (base64
HMAC-SHA256 of the raw body keyed with the app's client secret); body with
`id`, `name`, `email`, `currency` (the shop's) and `presentment_currency`
(the customer's), `taxes_included`, `total_price`, `line_items[]` (`id`,
`sku`, `quantity`, `price`, `discount_allocations[].amount`,
`tax_lines[].price`), `shipping_lines[]` (`price`, `discounted_price`,
`discount_allocations`, `tax_lines`), `shipping_address` / `billing_address`
(`address1`, `address2`, `city`, `province_code`, `zip`, `country_code`, ...)
and `customer`. Every amount also comes as a `<field>_set` with
`shop_money` and `presentment_money`.

Currency: the order is taken in the presentment currency when that is the
channel's, else in the shop currency when that is the channel's (amounts
from `presentment_money` / `shop_money` accordingly); otherwise it is held.
Shipping tax is not read: the OMS computes it from its own tax rates, so a
platform rate that differs shows up as a total mismatch on hold.
"""

from __future__ import annotations

from decimal import Decimal

from oms.errors import InvalidInput
from oms.models import Channel

from ..services.placement import LineInput
from .common import Draft, address, money, quantity, text

TOPIC_HEADER = "X-Shopify-Topic"
SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
ORDER_TOPIC = "orders/create"


def external_id(payload: dict) -> str:
    raw = payload.get("id") if isinstance(payload, dict) else None
    if raw in (None, "") or isinstance(raw, bool | dict | list):
        raise InvalidInput.field("id", "the order id is missing")
    return str(raw)[:100]


class _Amounts:
    """Reads `<field>` or `<field>_set.<shop|presentment>_money.amount`."""

    def __init__(self, which: str, currency: str) -> None:
        self.which = which
        self.currency = currency

    def __call__(self, obj: dict, key: str, name: str) -> Decimal:
        money_set = obj.get(f"{key}_set")
        if isinstance(money_set, dict) and isinstance(money_set.get(f"{self.which}_money"), dict):
            return money(money_set[f"{self.which}_money"].get("amount"), name, self.currency)
        if self.which == "presentment":
            raise InvalidInput.field(f"{name}_set", "the amount in the customer's currency is missing")
        return money(obj.get(key), name, self.currency)

    def sum(self, items: object, key: str, name: str) -> Decimal:
        if not isinstance(items, list):
            return Decimal(0)
        return sum(
            (self(item, key, f"{name}[{i}].{key}") for i, item in enumerate(items) if isinstance(item, dict)),
            Decimal(0),
        )


def _currency(payload: dict, channel: Channel) -> _Amounts:
    shop = text(payload.get("currency"), 3).upper()
    presentment = text(payload.get("presentment_currency"), 3).upper() or shop
    if presentment == channel.currency:
        return _Amounts("presentment" if presentment != shop else "shop", presentment)
    if shop == channel.currency:
        return _Amounts("shop", shop)
    raise InvalidInput.field(
        "presentment_currency",
        f"the order is in {presentment} (shop currency {shop or '?'}) "
        f"but channel {channel.code} sells in {channel.currency}",
        code="wrong_currency",
    )


def _address(raw: object, name: str) -> dict | None:
    if not isinstance(raw, dict):
        return None
    full = text(raw.get("name"), 200) or " ".join(
        p for p in (text(raw.get("first_name"), 100), text(raw.get("last_name"), 100)) if p
    )
    return address(
        {
            "name": full,
            "company": text(raw.get("company"), 200),
            "line1": text(raw.get("address1"), 200),
            "line2": text(raw.get("address2"), 200),
            "city": text(raw.get("city"), 100),
            "region": text(raw.get("province_code"), 100),
            "postal_code": text(raw.get("zip"), 20),
            "country": text(raw.get("country_code"), 2),
            "phone": text(raw.get("phone"), 40),
            "latitude": raw.get("latitude"),
            "longitude": raw.get("longitude"),
        },
        name,
    )


def draft(payload: dict, channel: Channel) -> Draft:
    order_id = external_id(payload)
    if payload.get("cancelled_at"):
        raise InvalidInput.field(
            "cancelled_at", f"the order was cancelled on Shopify at {payload['cancelled_at']}"
        )
    amounts = _currency(payload, channel)
    if bool(payload.get("taxes_included")) != channel.prices_include_tax:
        raise InvalidInput.field(
            "taxes_included",
            f"is {bool(payload.get('taxes_included'))} but channel {channel.code} prices "
            + ("include" if channel.prices_include_tax else "exclude")
            + " tax",
        )
    items = payload.get("line_items")
    if not isinstance(items, list) or not items:
        raise InvalidInput.field("line_items", "the order has no lines")
    lines = []
    for i, item in enumerate(items):
        name = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput.field(name, "is not an object")
        if "discount_allocations" in item:
            discount = amounts.sum(item["discount_allocations"], "amount", f"{name}.discount_allocations")
        else:
            discount = amounts(item, "total_discount", f"{name}.total_discount")
        lines.append(
            (
                f"{name}.sku",
                LineInput(
                    sku=text(item.get("sku"), 64),
                    quantity=quantity(item.get("quantity"), f"{name}.quantity"),
                    unit_price=amounts(item, "price", f"{name}.price"),
                    discount=discount,
                    tax_amount=amounts.sum(item.get("tax_lines"), "price", f"{name}.tax_lines"),
                    external_id=text(item.get("id"), 100),
                ),
            )
        )
    shipping = Decimal(0)
    for i, ship in enumerate(payload.get("shipping_lines") or []):
        name = f"shipping_lines[{i}]"
        if not isinstance(ship, dict):
            raise InvalidInput.field(name, "is not an object")
        if "discounted_price" in ship or "discounted_price_set" in ship:
            shipping += amounts(ship, "discounted_price", f"{name}.discounted_price")
        else:
            shipping += amounts(ship, "price", f"{name}.price") - amounts.sum(
                ship.get("discount_allocations"), "amount", f"{name}.discount_allocations"
            )
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    shipping_address = _address(payload.get("shipping_address"), "shipping_address")
    if shipping_address is None:
        raise InvalidInput.field(
            "shipping_address", "is missing (orders that need no shipping are not handled)"
        )
    note = text(payload.get("note"), 1000)
    return Draft(
        platform="shopify",
        external_id=order_id,
        currency=amounts.currency,
        email=text(payload.get("email") or payload.get("contact_email") or customer.get("email"), 254),
        first_name=text(customer.get("first_name"), 100),
        last_name=text(customer.get("last_name"), 100),
        phone=text(payload.get("phone") or customer.get("phone"), 40),
        shipping_address=shipping_address,
        billing_address=_address(payload.get("billing_address"), "billing_address"),
        lines=lines,
        shipping_amount=shipping,
        total=amounts(payload, "total_price", "total_price"),
        notes="\n".join(p for p in (f"Shopify order {text(payload.get('name'), 40) or order_id}", note) if p),
    )
