"""Customer invoices and payments, supplier invoices and payments: the
posting rules, foreign currency and the FX difference on settlement, and bad
input refused with nothing posted."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounting.invoicing import (
    InvoiceInput,
    InvoiceLineInput,
    invoice_issue,
    invoice_payment_record,
    receivable_open_base,
    supplier_invoice_record,
    supplier_payment_record,
)
from accounting.models import ExchangeRate, Invoice, JournalEntry, JournalLine, SupplierInvoice
from accounting.selectors import trial_balance
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput
from oms.reconcile import registered_checks

pytestmark = pytest.mark.django_db
D = Decimal
DAY = date(2026, 11, 2)
LATER = date(2026, 12, 2)
SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def _rates(settings):
    settings.BASE_CURRENCY = "USD"
    ExchangeRate.objects.create(currency="EUR", day=DAY, rate=D("1.10"))
    ExchangeRate.objects.create(currency="EUR", day=LATER, rate=D("1.05"))
    ExchangeRate.objects.create(currency="GBP", day=DAY, rate=D("1.25"))


def eur_invoice(ref="shipment:1", *, net="100.00", tax="19.00", shipping="10.00", currency="EUR", day=DAY):
    return invoice_issue(
        data=InvoiceInput(
            source_ref=ref,
            order_ref="00000042",
            customer_id=7,
            customer_name="Acme GmbH",
            customer_email="ap@acme.example",
            currency=currency,
            terms_days=30,
            lines=[
                InvoiceLineInput(
                    sku="MUG",
                    description="Mug",
                    quantity=4,
                    unit_price=D("25.00"),
                    net_amount=D(net),
                    tax=D(tax),
                )
            ],
            shipping_net=D(shipping),
        ),
        day=day,
        actor=SYSTEM,
    )


def postings(entry) -> list[tuple[str, Decimal, Decimal, Decimal, str]]:
    return sorted(
        (ln.account.code, ln.debit, ln.credit, ln.amount, ln.currency)
        for ln in entry.lines.select_related("account")
    )


def balance(code: str) -> Decimal:
    return next((r.balance for r in trial_balance() if r.code == code), D(0))


def books_balance() -> None:
    checks = registered_checks()
    assert checks["every journal entry balances"]() == []
    assert checks["the trial balance sums to zero"]() == []


def test_an_invoice_books_receivable_revenue_shipping_and_tax_at_the_days_rate():
    invoice = eur_invoice()
    assert invoice.number == f"INV{invoice.pk:08d}"
    assert (invoice.total, invoice.rate, invoice.due_date) == (
        D("129.00"),
        D("1.10"),
        DAY + timedelta(days=30),
    )
    assert postings(invoice.entry) == [
        ("1200", D("141.90"), 0, D("129.00"), "EUR"),
        ("2200", 0, D("20.90"), D("19.00"), "EUR"),
        ("4000", 0, D("110.00"), D("100.00"), "EUR"),
        ("4100", 0, D("11.00"), D("10.00"), "EUR"),
    ]
    assert eur_invoice() == invoice  # once per source
    assert JournalEntry.objects.filter(source_type="invoice").count() == 1
    assert receivable_open_base(customer_id=7) == D("141.90")
    books_balance()


def test_settling_at_another_rate_books_the_fx_difference_and_clears_the_receivable():
    invoice = eur_invoice()
    payment = invoice_payment_record(
        invoice_id=invoice.pk, amount=D("129.00"), day=LATER, reference="BANK-1", actor=SYSTEM
    )
    # 129 EUR was worth 141.90 USD when invoiced and 135.45 USD when paid: a 6.45 loss.
    assert postings(payment.entry) == [
        ("1000", D("135.45"), 0, D("129.00"), "EUR"),
        ("1200", 0, D("141.90"), D("129.00"), "EUR"),
        ("7900", D("6.45"), 0, D("6.45"), "USD"),
    ]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.paid_at) == ("paid", D("129.00"), LATER)
    assert balance("1200") == 0
    assert balance("7900") == D("6.45")
    assert receivable_open_base(customer_id=7) == 0
    # The same bank reference again is the same payment, not a second one.
    again = invoice_payment_record(
        invoice_id=invoice.pk, amount=D("129.00"), day=LATER, reference="BANK-1", actor=SYSTEM
    )
    assert again == payment
    books_balance()


def test_a_gain_when_the_currency_rose_and_partial_payments_leave_nothing_behind():
    ExchangeRate.objects.create(currency="EUR", day=DAY + timedelta(days=1), rate=D("1.1333"))
    ExchangeRate.objects.create(currency="EUR", day=DAY + timedelta(days=2), rate=D("1.1777"))
    invoice = eur_invoice(net="33.33", tax="0.00", shipping="0.00")
    first = invoice_payment_record(
        invoice_id=invoice.pk, amount=D("11.11"), day=DAY + timedelta(days=1), reference="P1", actor=SYSTEM
    )
    gain = [ln for ln in first.entry.lines.all() if ln.account.code == "7900"]
    assert gain[0].credit == D("12.59") - D("12.22")  # 11.11 x 1.1333 - 11.11 x 1.10
    invoice_payment_record(
        invoice_id=invoice.pk, amount=D("22.22"), day=DAY + timedelta(days=2), reference="P2", actor=SYSTEM
    )
    assert balance("1200") == 0  # 36.66 booked, 12.22 + 24.44 cleared
    books_balance()


def test_bad_payments_are_refused_and_nothing_is_posted():
    invoice = eur_invoice()
    before = (JournalEntry.objects.count(), JournalLine.objects.count())
    cases = [
        ({"amount": D("-5.00"), "day": LATER}, "amount"),
        ({"amount": D("0"), "day": LATER}, "amount"),
        ({"amount": D("129.01"), "day": LATER}, "amount"),
        ({"amount": D("10.001"), "day": LATER}, "amount"),
        ({"amount": "ten", "day": LATER}, "amount"),
        ({"amount": D("10.00"), "day": date(2026, 11, 20)}, "currency"),  # no EUR rate that day
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as err:
            invoice_payment_record(invoice_id=invoice.pk, reference="X", actor=SYSTEM, **kwargs)
        assert field in err.value.fields, (kwargs, err.value.fields)
    with pytest.raises(InvalidInput) as err:
        invoice_payment_record(invoice_id=invoice.pk, amount=D("1"), day=LATER, reference=" ", actor=SYSTEM)
    assert "reference" in err.value.fields
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == before
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0


def test_an_invoice_in_an_unknown_currency_or_without_a_rate_is_refused():
    with pytest.raises(InvalidInput) as err:
        eur_invoice(currency="XYZ")
    assert "currency" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        eur_invoice(currency="GBP", day=DAY - timedelta(days=1))  # no GBP rate on or before
    assert err.value.code == "missing_exchange_rate"
    assert not Invoice.objects.exists() and not JournalEntry.objects.exists()


def test_a_paid_invoice_takes_no_more_payments():
    invoice = eur_invoice()
    invoice_payment_record(invoice_id=invoice.pk, amount=invoice.total, day=DAY, reference="P1", actor=SYSTEM)
    with pytest.raises(Conflict):
        invoice_payment_record(invoice_id=invoice.pk, amount=D("1.00"), day=DAY, reference="P2", actor=SYSTEM)


def test_a_supplier_invoice_clears_goods_received_books_input_tax_and_a_price_difference():
    bill = supplier_invoice_record(
        supplier_id=3,
        supplier_name="Mugs Ltd",
        number="ML-881",
        currency="GBP",
        issue_date=DAY,
        due_date=DAY + timedelta(days=45),
        net_total=D("208.00"),
        tax_total=D("41.60"),
        received_value=D("200.00"),
        po_ref="po:12",
        actor=SYSTEM,
    )
    assert postings(bill.entry) == [
        ("2000", 0, D("312.00"), D("249.60"), "GBP"),
        ("2100", D("250.00"), 0, D("200.00"), "GBP"),
        ("2200", D("52.00"), 0, D("41.60"), "GBP"),
        ("5000", D("10.00"), 0, D("8.00"), "GBP"),
    ]
    assert supplier_invoice_record(
        supplier_id=3, supplier_name="Mugs Ltd", number="ML-881", currency="GBP", issue_date=DAY,
        due_date=DAY, net_total=D("1"), tax_total=D("0"), actor=SYSTEM,
    ) == bill  # fmt: skip
    ExchangeRate.objects.create(currency="GBP", day=LATER, rate=D("1.20"))
    pay = supplier_payment_record(
        supplier_invoice_id=bill.pk, amount=D("249.60"), day=LATER, reference="OUT-9", actor=SYSTEM
    )
    # Owed 312.00 USD as booked; paid 299.52 USD: a 12.48 gain.
    assert postings(pay.entry) == [
        ("1000", 0, D("299.52"), D("249.60"), "GBP"),
        ("2000", D("312.00"), 0, D("249.60"), "GBP"),
        ("7900", 0, D("12.48"), D("12.48"), "USD"),
    ]
    bill.refresh_from_db()
    assert bill.status == SupplierInvoice.Status.PAID
    assert balance("2000") == 0
    books_balance()


def test_bad_supplier_invoices_are_refused():
    base = {
        "supplier_id": 3, "supplier_name": "Mugs Ltd", "number": "A1", "currency": "GBP", "issue_date": DAY,
        "due_date": DAY, "net_total": D("10.00"), "tax_total": D("0.00"), "actor": SYSTEM,
    }  # fmt: skip
    for change, field in [
        ({"number": " "}, "number"),
        ({"currency": "ABC"}, "currency"),
        ({"net_total": D("-1")}, "net_total"),
        ({"tax_total": D("-1")}, "tax_total"),
        ({"due_date": DAY - timedelta(days=1)}, "due_date"),
    ]:
        with pytest.raises(InvalidInput) as err:
            supplier_invoice_record(**{**base, **change})
        assert field in err.value.fields
    assert not JournalEntry.objects.exists()


def test_a_refund_to_the_card_reverses_revenue_shipping_and_tax_and_a_restock_reverses_cost():
    from accounting.posting import post_refund, post_restock

    refund = post_refund(
        ref="refund:1",
        day=DAY,
        currency="EUR",
        goods_net=D("40.00"),
        shipping_net=D("5.00"),
        tax=D("8.55"),
        channel_id=None,
        actor=SYSTEM,
    )
    assert refund.source_type == "card_refund"
    assert postings(refund) == [
        ("1100", 0, D("58.91"), D("53.55"), "EUR"),
        ("2200", D("9.41"), 0, D("8.55"), "EUR"),
        ("4100", D("5.50"), 0, D("5.00"), "EUR"),
        ("4900", D("44.00"), 0, D("40.00"), "EUR"),
    ]
    assert post_refund(
        ref="refund:1", day=DAY, currency="EUR", goods_net=D("1"), shipping_net=D("0"), tax=D("0"),
        channel_id=None, actor=SYSTEM,
    ) == refund  # fmt: skip
    note = post_refund(
        ref="credit:2", day=DAY, currency="USD", goods_net=D("10.00"), shipping_net=D("0"), tax=D("0"),
        channel_id=None, actor=SYSTEM, to_card=False,
    )  # fmt: skip
    assert (note.source_type, postings(note)) == (
        "credit_note",
        [("1200", 0, D("10.00"), D("10.00"), "USD"), ("4900", D("10.00"), 0, D("10.00"), "USD")],
    )
    restock = post_restock(
        ref="return:1", day=DAY, costs=[(D("6.00"), "USD"), (D("4.00"), "USD"), (D("2.00"), "GBP")],
        channel_id=None, actor=SYSTEM,
    )  # fmt: skip
    assert postings(restock) == [
        ("1300", D("2.50"), 0, D("2.00"), "GBP"),
        ("1300", D("10.00"), 0, D("10.00"), "USD"),
        ("5000", 0, D("2.50"), D("2.00"), "GBP"),
        ("5000", 0, D("10.00"), D("10.00"), "USD"),
    ]
    assert post_refund(
        ref="nothing", day=DAY, currency="USD", goods_net=D("0"), shipping_net=D("0"), tax=D("0"),
        channel_id=None, actor=SYSTEM,
    ) is None  # fmt: skip
    books_balance()
