"""Printed invoices and quotes, read back with pypdf: seller and buyer,
number, dates, terms, lines, totals, what is paid and what is still due; a
quote's totals and validity."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounting.documents import invoice_pdf
from accounting.invoicing import InvoiceInput, InvoiceLineInput, invoice_issue, invoice_payment_record
from accounting.models import ExchangeRate
from customers.models import Customer
from oms.actors import Actor
from orders.documents_quotes import quote_pdf
from orders.services.quotes import QuoteInput, QuoteLineInput, quote_create
from tests.factories import ChannelFactory, sku_in_stock, tax_rate

pytestmark = pytest.mark.django_db
D = Decimal
DAY = date(2026, 11, 2)
SYSTEM = Actor.system()
BILL_TO = {
    "name": "Accounts Payable",
    "company": "Acme GmbH",
    "line1": "Hauptstrasse 5",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


def pdf_text(data: bytes) -> str:
    """The document's words in reading order, whitespace collapsed (a label and
    its right-aligned amount come out as "Total 1,252.48 EUR")."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


@pytest.fixture
def channel(db):
    return ChannelFactory(name="Northwind Wholesale", currency="EUR", support_email="ar@northwind.example")


def issue(channel, *, currency="EUR", lines=None, ref="shipment:1", terms=30, shipping=("15.00", "2.85")):
    return invoice_issue(
        data=InvoiceInput(
            source_ref=ref,
            order_ref="00000042",
            customer_id=7,
            customer_name="Acme GmbH",
            customer_email="ap@acme.example",
            currency=currency,
            terms_days=terms,
            lines=lines
            or [
                InvoiceLineInput(
                    sku="MUG-1",
                    description="Stoneware mug",
                    quantity=40,
                    unit_price=D("25.00"),
                    net_amount=D("1000.00"),
                    tax=D("190.00"),
                ),
                InvoiceLineInput(
                    sku="TRAY-2",
                    description="Serving tray",
                    quantity=3,
                    unit_price=D("12.50"),
                    net_amount=D("37.50"),
                    tax=D("7.13"),
                ),
            ],
            shipping_net=D(shipping[0]),
            shipping_tax=D(shipping[1]),
            billing_address=BILL_TO,
            channel_id=channel.pk,
        ),
        day=DAY,
        actor=SYSTEM,
    )


@pytest.fixture(autouse=True)
def _rates(settings):
    settings.BASE_CURRENCY = "USD"
    ExchangeRate.objects.create(currency="EUR", day=DAY, rate=D("1.10"))
    ExchangeRate.objects.create(currency="EUR", day=DAY + timedelta(days=10), rate=D("1.12"))


def test_the_invoice_prints_seller_buyer_dates_terms_lines_and_totals(channel):
    invoice = issue(channel)
    text = pdf_text(invoice_pdf(invoice))
    assert "Northwind Wholesale" in text and "ar@northwind.example" in text  # the seller
    assert "Acme GmbH" in text and "Hauptstrasse 5" in text and "ap@acme.example" in text  # bill to
    assert f"Invoice {invoice.number}" in text
    assert "Issue date 2026-11-02" in text
    assert "Due date 2026-12-02" in text
    assert "Terms Net 30" in text
    assert "Order 00000042" in text
    assert "Currency EUR" in text
    assert "Stoneware mug" in text and "1,000.00 EUR" in text and "190.00 EUR" in text
    assert "Serving tray" in text and "37.50 EUR" in text and "7.13 EUR" in text
    # 1,037.50 net + 15.00 shipping + 199.98 tax = 1,252.48
    assert "Net total 1,037.50 EUR" in text
    assert "Shipping 15.00 EUR" in text
    assert "Tax 199.98 EUR" in text
    assert "Total 1,252.48 EUR" in text
    assert "Amount paid 0.00 EUR" in text
    assert "Balance due 1,252.48 EUR" in text
    assert "by 2026-12-02 (Net 30)" in text


def test_a_partly_paid_invoice_shows_the_balance_and_a_paid_one_says_so(channel):
    invoice = issue(channel)
    later = DAY + timedelta(days=10)
    invoice_payment_record(
        invoice_id=invoice.pk, amount=D("1000.00"), day=later, reference="BANK-1", actor=SYSTEM
    )
    invoice.refresh_from_db()
    text = pdf_text(invoice_pdf(invoice))
    assert "Amount paid 1,000.00 EUR" in text
    assert "Balance due 252.48 EUR" in text

    invoice_payment_record(
        invoice_id=invoice.pk, amount=D("252.48"), day=later, reference="BANK-2", actor=SYSTEM
    )
    invoice.refresh_from_db()
    text = pdf_text(invoice_pdf(invoice))
    assert "INVOICE (PAID)" in text
    assert "Balance due 0.00 EUR" in text
    assert "Paid in full on 2026-11-12" in text


def test_the_seller_block_comes_from_settings_when_they_name_the_legal_seller(channel, settings):
    settings.MERCHANT_NAME = "Northwind Trading GmbH"
    settings.MERCHANT_ADDRESS = {"line1": "Kaiserstrasse 1", "city": "Frankfurt", "country": "DE"}
    settings.MERCHANT_TAX_ID = "DE123456789"
    text = pdf_text(invoice_pdf(issue(channel)))
    assert "Northwind Trading GmbH" in text
    assert "Kaiserstrasse 1" in text and "Tax ID DE123456789" in text


def test_a_long_invoice_breaks_pages_and_keeps_every_line(channel):
    lines = [
        InvoiceLineInput(
            sku=f"SKU-{i:03d}",
            description=f"Item {i}",
            quantity=1,
            unit_price=D("1.00"),
            net_amount=D("1.00"),
        )
        for i in range(120)
    ]
    invoice = issue(channel, lines=lines, ref="shipment:long")
    data = invoice_pdf(invoice)
    assert len(PdfReader(io.BytesIO(data)).pages) > 1
    text = pdf_text(data)
    assert all(f"SKU-{i:03d}" in text for i in range(120))
    assert "Total 137.85 EUR" in text  # 120.00 + 15.00 shipping + 2.85 tax


def test_a_japanese_yen_invoice_prints_no_decimals(channel, settings):
    settings.BASE_CURRENCY = "JPY"
    invoice = issue(
        channel,
        currency="JPY",
        ref="shipment:jpy",
        shipping=("500", "300"),
        lines=[
            InvoiceLineInput(sku="A", description="A", quantity=2, unit_price=D("1500"), net_amount=D("3000"))
        ],
    )
    text = pdf_text(invoice_pdf(invoice))
    assert "Net total 3,000 JPY" in text
    assert "Total 3,800 JPY" in text and "Balance due 3,800 JPY" in text


# --- Quotes ------------------------------------------------------------------------------------


def test_the_quote_prints_its_lines_totals_validity_and_terms(warehouse):
    channel = ChannelFactory(name="Northwind B2B", currency="USD", support_email="sales@northwind.example")
    tax_rate("US", "0.08", "NY")
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=50, price="10.00", name="Stoneware mug")
    customer = Customer.objects.create(
        channel=channel, email="buyer@acme.example", company="Acme Inc", payment_terms_days=45
    )
    valid_until = timezone.localdate() + timedelta(days=21)
    quote = quote_create(
        data=QuoteInput(
            channel=channel,
            customer_id=customer.pk,
            valid_until=valid_until,
            lines=[QuoteLineInput(sku=sku.code, quantity=120, discount=D("60.00"))],
            shipping_address={
                "name": "Acme Receiving",
                "line1": "350 5th Ave",
                "city": "New York",
                "region": "NY",
                "postal_code": "10118",
                "country": "US",
            },
            notes="Prices held for the spring range.",
        ),
        actor=SYSTEM,
    )
    text = pdf_text(quote_pdf(quote))
    assert "QUOTE" in text and f"Quote {quote.number}" in text
    assert f"Valid until {valid_until:%Y-%m-%d}" in text
    assert f"This quote is valid until {valid_until:%Y-%m-%d}." in text
    assert "Payment terms Net 45" in text and "Net 45 days" in text
    assert "Stoneware mug" in text and "-60.00 USD" in text
    # 120 x 10.00 = 1,200.00 - 60.00; shipping 5.00; tax 8% of 1,140.00 + 5.00 = 91.20 + 0.40
    assert "Subtotal 1,200.00 USD" in text
    assert "Discounts -60.00 USD" in text
    assert "Shipping 5.00 USD" in text
    assert "Tax 91.60 USD" in text
    assert "Total 1,236.60 USD" in text
    assert "Prices held for the spring range." in text
    assert "sales@northwind.example" in text
