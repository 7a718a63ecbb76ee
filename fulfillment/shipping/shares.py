"""What a shipment is worth: its slice of the order's money.

An order's value is cut at cumulative shares: a shipment takes
share(total, shipped after) - share(total, shipped before), each rounded to
the currency. However the order splits into parcels and in whatever order
they leave, the slices add up to the order's totals exactly, to the minor
unit, and the last parcel takes whatever the rounding left.

The share of the order a set of shipped units stands for is weighted by line
value (line_total), so a cheap accessory does not carry half the shipping
charge; an order whose lines are all free is weighted by units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from orders.models import Order, OrderLine
from orders.services.payments import amount_share

ZERO = Decimal(0)


def shipped_share(lines: Sequence[OrderLine], shipped: Mapping[int, int]) -> Fraction:
    """The part (0..1) of the order that `shipped` (order line id -> units) stands for."""
    weights = {ln.pk: Fraction(ln.line_total) for ln in lines}
    if not any(weights.values()):
        weights = {ln.pk: Fraction(ln.quantity) for ln in lines}
    total = sum(weights.values(), Fraction(0))
    if not total:
        return Fraction(0)
    part = sum((weights[ln.pk] * Fraction(shipped.get(ln.pk, 0), ln.quantity) for ln in lines), Fraction(0))
    return min(part / total, Fraction(1))


def _slice(amount: Decimal, before: Fraction, after: Fraction, currency: str) -> Decimal:
    return amount_share(amount, after, currency) - amount_share(amount, before, currency)


@dataclass(frozen=True)
class LineValue:
    line: OrderLine
    quantity: int
    value: Decimal
    tax: Decimal
    unit_cost: Decimal
    cost_currency: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "order_line_id": self.line.pk,
            "line_number": self.line.line_number,
            "sku_id": self.line.sku_id,
            "sku": self.line.sku.code,
            "quantity": self.quantity,
            "unit_price": str(self.line.unit_price),
            "value": str(self.value),
            "tax": str(self.tax),
            "unit_cost": str(self.unit_cost),
            "cost_currency": self.cost_currency,
        }


@dataclass(frozen=True)
class ShipmentValue:
    currency: str
    lines: list[LineValue]
    goods_value: Decimal
    line_tax: Decimal
    shipping_charged: Decimal
    shipping_tax: Decimal
    total_charged: Decimal
    share_before: Fraction
    share_after: Fraction

    @property
    def completes_order(self) -> bool:
        return self.share_after == 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "lines": [line.as_dict() for line in self.lines],
            "goods_value": str(self.goods_value),
            "line_tax": str(self.line_tax),
            "shipping_charged": str(self.shipping_charged),
            "shipping_tax": str(self.shipping_tax),
            "total_charged": str(self.total_charged),
            "order_share": {"before": str(self.share_before), "after": str(self.share_after)},
            "completes_order": self.completes_order,
        }


def shipment_value(order: Order, lines: Sequence[OrderLine], shipping: Mapping[int, int]) -> ShipmentValue:
    """The money side of shipping `shipping` (order line id -> units) of
    `order`, whose `lines` still hold the quantities shipped before it.
    Unit cost is the SKU's current cost (read with the lines' `sku`)."""
    currency = order.currency
    before = {ln.pk: ln.quantity_shipped for ln in lines}
    after = {pk: qty + shipping.get(pk, 0) for pk, qty in before.items()}
    share_before, share_after = shipped_share(lines, before), shipped_share(lines, after)
    values = []
    for ln in lines:
        qty = shipping.get(ln.pk, 0)
        if not qty:
            continue
        cut_before = Fraction(before[ln.pk], ln.quantity)
        cut_after = Fraction(after[ln.pk], ln.quantity)
        values.append(
            LineValue(
                line=ln,
                quantity=qty,
                value=_slice(ln.line_total, cut_before, cut_after, currency),
                tax=_slice(ln.tax_amount, cut_before, cut_after, currency),
                unit_cost=ln.sku.unit_cost,
                cost_currency=ln.sku.cost_currency,
            )
        )
    goods = sum((v.value for v in values), ZERO)
    line_tax = sum((v.tax for v in values), ZERO)
    # Tax on shipping is what the order's tax total holds beyond its lines' tax.
    order_shipping_tax = max(order.tax_total - sum((ln.tax_amount for ln in lines), ZERO), ZERO)
    shipping_charged = _slice(order.shipping_total, share_before, share_after, currency)
    shipping_tax = _slice(order_shipping_tax, share_before, share_after, currency)
    total = goods + shipping_charged + (ZERO if order.prices_include_tax else line_tax + shipping_tax)
    return ShipmentValue(
        currency=currency,
        lines=values,
        goods_value=goods,
        line_tax=line_tax,
        shipping_charged=shipping_charged,
        shipping_tax=shipping_tax,
        total_charged=total,
        share_before=share_before,
        share_after=share_after,
    )
