"""Property: any sequence of business events (goods shipped, card captures,
refunds, restocks, purchase receipts, write-offs, B2B invoices and their
payments, supplier invoices and payments), in several currencies and at
rates that move from day to day, leaves every entry balanced, the trial
balance at zero, every document agreeing with the ledger, and a fully paid
invoice with nothing left on the receivable."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.handlers import _purchase_receipt, _stock_adjustment
from accounting.invoicing import (
    InvoiceInput,
    InvoiceLineInput,
    invoice_issue,
    invoice_payment_record,
    supplier_invoice_record,
    supplier_payment_record,
)
from accounting.models import (
    ExchangeRate,
    Invoice,
    InvoicePayment,
    JournalEntry,
    JournalLine,
    SupplierInvoice,
    SupplierPayment,
)
from accounting.posting import GoodsOut, post_card_capture, post_goods_out, post_refund, post_restock
from accounting.selectors import trial_balance
from oms.actors import Actor
from oms.reconcile import registered_checks

pytestmark = pytest.mark.django_db
D = Decimal
SYSTEM = Actor.system()
CURRENCIES = ["USD", "EUR", "GBP", "JPY"]
DAY0 = date(2026, 10, 1)
DAYS = 4
_serial = itertools.count(1)


def money(currency: str, minor: int) -> Decimal:
    return D(minor).scaleb(0 if currency == "JPY" else -2)


amounts = st.integers(min_value=0, max_value=2_000_000)
positive = st.integers(min_value=1, max_value=2_000_000)
currency = st.sampled_from(CURRENCIES)
day = st.integers(min_value=0, max_value=DAYS - 1)
share = st.fractions(min_value=0, max_value=1, max_denominator=7)

events = st.one_of(
    st.tuples(st.just("ship"), currency, amounts, amounts, amounts, amounts, currency, day),
    st.tuples(st.just("capture"), currency, positive, day),
    st.tuples(st.just("refund"), currency, amounts, amounts, amounts, st.booleans(), day),
    st.tuples(st.just("restock"), currency, positive, day),
    st.tuples(st.just("receipt"), currency, positive, day),
    st.tuples(st.just("adjust"), currency, st.integers(-50, 50).filter(bool), positive, day),
    st.tuples(st.just("invoice"), currency, positive, amounts, amounts, day, st.integers(0, 60)),
    st.tuples(st.just("pay_invoice"), st.integers(0, 20), share, day),
    st.tuples(st.just("bill"), currency, positive, amounts, amounts, day),
    st.tuples(st.just("pay_bill"), st.integers(0, 20), share, day),
)
rate = st.decimals(min_value=D("0.005"), max_value=D("150"), places=5)


def run(event) -> None:
    kind, *args = event
    n = next(_serial)
    if kind == "ship":
        c, goods, shipping, tax, cost, cost_c, d = args
        post_goods_out(
            ref=f"ship:{n}",
            day=DAY0 + timedelta(days=d),
            memo="shipment",
            value=GoodsOut(
                c, money(c, goods), money(c, shipping), money(c, tax), [(money(cost_c, cost), cost_c)]
            ),
            channel_id=None,
            actor=SYSTEM,
        )
    elif kind == "capture":
        c, amount, d = args
        post_card_capture(
            ref=f"cap:{n}",
            day=DAY0 + timedelta(days=d),
            amount=money(c, amount),
            currency=c,
            channel_id=None,
            actor=SYSTEM,
        )
    elif kind == "refund":
        c, goods, shipping, tax, to_card, d = args
        post_refund(
            ref=f"ref:{n}",
            day=DAY0 + timedelta(days=d),
            currency=c,
            goods_net=money(c, goods),
            shipping_net=money(c, shipping),
            tax=money(c, tax),
            channel_id=None,
            actor=SYSTEM,
            to_card=to_card,
        )
    elif kind == "restock":
        c, cost, d = args
        post_restock(
            ref=f"rs:{n}",
            day=DAY0 + timedelta(days=d),
            costs=[(money(c, cost), c)],
            channel_id=None,
            actor=SYSTEM,
        )
    elif kind in ("receipt", "adjust"):
        c, *rest, _ = args  # the handlers date their entries by the event: today
        if kind == "receipt":
            payload = {
                "po_id": n,
                "event_id": n,
                "reference": "",
                "value": str(money(c, rest[0])),
                "currency": c,
            }
            _purchase_receipt(SimpleNamespace(pk=n, payload=payload, created_at=None))
        else:
            quantity, cost = rest
            line = {
                "sku_id": 1,
                "sku": "X",
                "quantity": quantity,
                "unit_cost": str(money(c, cost)),
                "cost_currency": c,
            }
            payload = {
                "kind": "write_off",
                "reason": "damaged",
                "reference": "",
                "warehouse_id": 1,
                "lines": [line],
            }
            _stock_adjustment(SimpleNamespace(pk=n, payload=payload, created_at=None))
    elif kind == "invoice":
        c, net, shipping, tax, d, terms = args
        invoice_issue(
            data=InvoiceInput(
                source_ref=f"inv:{n}",
                customer_id=1,
                customer_name="Acme",
                customer_email="ap@acme.example",
                currency=c,
                terms_days=terms,
                lines=[InvoiceLineInput("X", "X", 1, money(c, net), money(c, net), money(c, tax))],
                shipping_net=money(c, shipping),
            ),
            day=DAY0 + timedelta(days=d),
            actor=SYSTEM,
        )
    elif kind in ("pay_invoice", "pay_bill"):
        index, part, d = args
        model, record = (
            (Invoice, invoice_payment_record)
            if kind == "pay_invoice"
            else (SupplierInvoice, supplier_payment_record)
        )
        open_docs = list(model.objects.filter(status="open").order_by("id"))
        if not open_docs:
            return
        doc = open_docs[index % len(open_docs)]
        minor = D(1).scaleb(0 if doc.currency == "JPY" else -2)
        amount = (
            (doc.outstanding * part.numerator / part.denominator).quantize(minor)
            if part < 1
            else doc.outstanding
        )
        if amount <= 0:
            return
        key = "invoice_id" if kind == "pay_invoice" else "supplier_invoice_id"
        record(**{key: doc.pk}, amount=amount, day=DAY0 + timedelta(days=d), reference=f"P{n}", actor=SYSTEM)
    elif kind == "bill":
        c, net, tax, received, d = args
        supplier_invoice_record(
            supplier_id=1,
            supplier_name="Supplier",
            number=f"B{n}",
            currency=c,
            issue_date=DAY0 + timedelta(days=d),
            due_date=DAY0 + timedelta(days=d + 30),
            net_total=money(c, net),
            tax_total=money(c, tax),
            received_value=money(c, received),
            actor=SYSTEM,
        )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rates=st.lists(st.tuples(rate, rate, rate), min_size=DAYS, max_size=DAYS),
    sequence=st.lists(events, min_size=1, max_size=14),
)
def test_any_sequence_of_business_events_keeps_the_books_balanced(settings, rates, sequence):
    settings.BASE_CURRENCY = "USD"
    for model in (
        InvoicePayment,
        SupplierPayment,
        Invoice,
        SupplierInvoice,
        JournalLine,
        JournalEntry,
        ExchangeRate,
    ):
        model.objects.all().delete()
    ExchangeRate.objects.bulk_create(
        ExchangeRate(currency=c, day=DAY0 + timedelta(days=d), rate=r)
        for d, day_rates in enumerate(rates)
        for c, r in zip(["EUR", "GBP", "JPY"], day_rates, strict=True)
    )
    for event in sequence:
        run(event)
    checks = registered_checks()
    for name in (
        "every journal entry balances",
        "the trial balance sums to zero",
        "invoices and their payments agree with the ledger",
    ):
        assert checks[name]() == [], name
    assert sum((row.balance for row in trial_balance()), D(0)) == 0
    # A paid invoice leaves nothing on the receivable (to the cent, whatever the rates did).
    for invoice in Invoice.objects.filter(status="paid"):
        entries = [invoice.entry_id, *invoice.payments.values_list("entry_id", flat=True)]
        lines = JournalLine.objects.filter(entry_id__in=entries, account__code="1200")
        assert sum((ln.debit - ln.credit for ln in lines), D(0)) == 0
