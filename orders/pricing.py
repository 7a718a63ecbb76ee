"""Order pricing: lines, discounts, shipping, tax and totals, rounded per currency.

Rounding is per line (as an invoice shows it), then summed, so the totals
always equal the sum of what the customer sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms.compiled import CompiledQuery
from oms.money import ZERO, round_money

from .models import TaxRate


@dataclass(frozen=True)
class TaxRule:
    rate: Decimal
    applies_to_shipping: bool


NO_TAX = TaxRule(ZERO, False)


def _rates(_shape: None, *, country: str, regions: list[str]):
    return TaxRate.objects.filter(country=country, region__any=regions).values(
        "region", "rate", "applies_to_shipping"
    )


# Compiled once: every order placed and every quote reads it.
_RATES = CompiledQuery(_rates)


def tax_rule_for(country: str, region: str = "") -> TaxRule:
    """The region's rate if there is one, else the country's, else no tax."""
    rates = {r["region"]: r for r in _RATES.rows(country=country.upper(), regions=["", region.upper()])}
    rate = rates.get(region.upper()) or rates.get("")
    return TaxRule(rate["rate"], rate["applies_to_shipping"]) if rate else NO_TAX


@dataclass
class PricedLine:
    index: int
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax_amount: Decimal
    line_total: Decimal  # quantity x unit_price - discount, in the channel's tax convention


@dataclass
class PricedOrder:
    lines: list[PricedLine]
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal
    tax_total: Decimal
    grand_total: Decimal

    def totals(self) -> dict[str, Decimal]:
        """The order-level totals, named as on Order and Quote."""
        return {
            "subtotal": self.subtotal,
            "discount_total": self.discount_total,
            "shipping_total": self.shipping_total,
            "tax_total": self.tax_total,
            "grand_total": self.grand_total,
        }


def channel_shipping(channel, merchandise: Decimal) -> Decimal:
    """What a channel charges for shipping an order of `merchandise` value
    (after discounts): its flat rate, free from its threshold on."""
    threshold = channel.free_shipping_threshold
    return ZERO if threshold is not None and merchandise >= threshold else channel.shipping_flat_rate


def tax_on(amount: Decimal, rate: Decimal, *, inclusive: bool, currency: str) -> Decimal:
    if rate == 0:
        return round_money(ZERO, currency)
    if inclusive:
        return round_money(amount - amount / (1 + rate), currency)
    return round_money(amount * rate, currency)


def price_lines(
    lines: list[tuple[int, Decimal, Decimal, Decimal | None]],
    *,
    currency: str,
    tax: TaxRule,
    inclusive: bool,
    shipping: Decimal,
) -> PricedOrder:
    """Price (quantity, unit_price, discount, given_tax_or_None) lines.

    A given tax amount (from a price-authoritative channel) is kept as is.
    """
    priced: list[PricedLine] = []
    for index, (quantity, unit_price, discount, given_tax) in enumerate(lines):
        unit_price = round_money(unit_price, currency)
        gross = unit_price * quantity
        discount = round_money(discount, currency)
        line_total = gross - discount
        line_tax = (
            round_money(given_tax, currency)
            if given_tax is not None
            else tax_on(line_total, tax.rate, inclusive=inclusive, currency=currency)
        )
        priced.append(
            PricedLine(
                index, quantity, round_money(unit_price, currency), discount, tax.rate, line_tax, line_total
            )
        )
    shipping = round_money(shipping, currency)
    shipping_tax = (
        tax_on(shipping, tax.rate, inclusive=inclusive, currency=currency)
        if tax.applies_to_shipping
        else ZERO
    )
    subtotal = sum((p.unit_price * p.quantity for p in priced), ZERO)
    discount_total = sum((p.discount for p in priced), ZERO)
    tax_total = sum((p.tax_amount for p in priced), ZERO) + shipping_tax
    grand_total = subtotal - discount_total + shipping + (ZERO if inclusive else tax_total)
    return PricedOrder(
        lines=priced,
        subtotal=round_money(subtotal, currency),
        discount_total=round_money(discount_total, currency),
        shipping_total=shipping,
        shipping_tax=round_money(shipping_tax, currency),
        tax_total=round_money(tax_total, currency),
        grand_total=round_money(grand_total, currency),
    )
