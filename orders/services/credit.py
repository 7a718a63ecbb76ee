"""Orders on account (B2B): payment terms and credit limits.

A customer with payment terms may order on account: no card, each shipment
is invoiced, due net N days. Its exposure is what it owes on open invoices
plus what its open on-account orders will still invoice, in the base
currency; an order that would take the exposure over the customer's credit
limit is placed on hold for approval (staff release it by re-sourcing).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F, Sum
from django.utils import timezone

from accounting.invoicing import receivable_open_base
from accounting.models import Invoice
from accounting.services import base_currency, exchange_rate
from customers.models import Customer
from oms.errors import InvalidInput
from oms.money import round_money

from ..models import Order

ZERO = Decimal(0)
# Orders whose goods have not all been invoiced yet.
OPEN_STATUSES = [
    Order.Status.ON_HOLD,
    Order.Status.BACKORDERED,
    Order.Status.ALLOCATED,
    Order.Status.FULFILLING,
    Order.Status.PARTIALLY_SHIPPED,
]


def account_terms(customer: Customer, requested: int | None) -> int:
    """The terms an on-account order gets: the customer's, or shorter ones asked for."""
    if customer.payment_terms_days is None:
        raise InvalidInput.field(
            "on_account",
            f"customer {customer.email} has no account terms: pay by card, or ask for an account",
            code="no_account",
        )
    if requested is None:
        return customer.payment_terms_days
    if not 0 <= requested <= customer.payment_terms_days:
        raise InvalidInput.field(
            "payment_terms_days",
            f"must be between 0 and the customer's {customer.payment_terms_days} days",
        )
    return requested


def credit_exposure(customer_id: int) -> Decimal:
    """Open invoices plus the uninvoiced part of open on-account orders, in
    the base currency (orders at the newest rate; invoices at their own)."""
    base = base_currency()
    exposure = receivable_open_base(customer_id=customer_id)
    open_orders = dict(
        Order.objects.filter(
            customer_id=customer_id, payment_terms_days__isnull=False, status__in=OPEN_STATUSES
        ).values_list("id", "currency")
    )
    if not open_orders:
        return exposure
    ordered = Order.objects.filter(pk__in=open_orders).values("currency").annotate(total=Sum("grand_total"))
    invoiced = (
        Invoice.objects.filter(order_ref__in=[Order(pk=pk).number for pk in open_orders])
        .values("currency")
        .annotate(total=Sum(F("total")))
    )
    per_currency: dict[str, Decimal] = {}
    for row in ordered:
        per_currency[row["currency"]] = per_currency.get(row["currency"], ZERO) + row["total"]
    for row in invoiced:
        per_currency[row["currency"]] = per_currency.get(row["currency"], ZERO) - row["total"]
    today = timezone.localdate()
    for currency, amount in per_currency.items():
        if amount > 0:
            exposure += round_money(amount * exchange_rate(currency=currency, day=today, latest=True), base)
    return exposure


def credit_hold_reason(*, customer: Customer, currency: str, amount: Decimal) -> str:
    """Why an on-account order of `amount` must wait for approval, or ""."""
    if customer.credit_limit is None:
        return ""
    base = base_currency()
    this = round_money(amount * exchange_rate(currency=currency, day=timezone.localdate(), latest=True), base)
    exposure = credit_exposure(customer.pk)
    if exposure + this <= customer.credit_limit:
        return ""
    return (
        f"Credit limit: {exposure + this} {base} owed and ordered on account (this order {this}) is over "
        f"the limit of {round_money(customer.credit_limit, base)} {base}; approve to release."
    )
