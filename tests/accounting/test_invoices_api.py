"""The receivables and payables API (staff): invoices listed and filtered
(status, customer, overdue), read, printed, paid; supplier invoices recorded,
listed and paid; bad input a 400 naming the field with nothing posted."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from accounting.invoicing import InvoiceInput, InvoiceLineInput, invoice_issue
from accounting.models import ExchangeRate, InvoicePayment, JournalEntry, SupplierInvoice, SupplierPayment
from oms.actors import Actor
from oms.reconcile import registered_checks

pytestmark = pytest.mark.django_db
D = Decimal
SYSTEM = Actor.system()
TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _base(settings):
    settings.BASE_CURRENCY = "USD"


def issue(ref: str, *, customer_id: int = 7, days_ago: int = 0, terms: int = 30, net: str = "100.00"):
    return invoice_issue(
        data=InvoiceInput(
            source_ref=ref,
            customer_id=customer_id,
            customer_name=f"Customer {customer_id}",
            customer_email=f"ap{customer_id}@example.com",
            currency="USD",
            terms_days=terms,
            lines=[
                InvoiceLineInput(
                    sku="MUG",
                    description="Mug",
                    quantity=4,
                    unit_price=D(net) / 4,
                    net_amount=D(net),
                    tax=D("8.00"),
                )
            ],
        ),
        day=TODAY - timedelta(days=days_ago),
        actor=SYSTEM,
    )


def books_balance() -> None:
    checks = registered_checks()
    assert checks["every journal entry balances"]() == []
    assert checks["the trial balance sums to zero"]() == []


def test_list_filters_by_status_customer_and_overdue(staff_api):
    late = issue("s:1", customer_id=7, days_ago=45)  # due 15 days ago
    current = issue("s:2", customer_id=7, days_ago=5)
    other = issue("s:3", customer_id=8, days_ago=60)
    staff_api.post(
        f"/api/v1/accounting/invoices/{other.pk}/payments/",
        {"amount": "108.00", "day": str(TODAY), "reference": "B1"},
        format="json",
    )

    def ids(**params) -> list[int]:
        response = staff_api.get("/api/v1/accounting/invoices/", params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert set(ids()) == {late.pk, current.pk, other.pk}
    assert ids(overdue="true") == [late.pk]
    assert set(ids(overdue="false")) == {current.pk, other.pk}
    assert set(ids(customer_id=7)) == {late.pk, current.pk}
    assert ids(status="paid") == [other.pk]
    assert ids(status="open", customer_id=8) == []
    row = staff_api.get("/api/v1/accounting/invoices/", {"overdue": "true"}).json()["results"][0]
    assert row["days_overdue"] == 15 and row["outstanding"] == "108.00" and row["number"] == late.number


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"overdue": "maybe"}, "overdue"),
        ({"status": "lost"}, "status"),
        ({"customer_id": "x"}, "customer_id"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(staff_api, params, field):
    response = staff_api.get("/api/v1/accounting/invoices/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_list_query_count_does_not_grow_with_invoices(staff_api):
    issue("s:1")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert staff_api.get("/api/v1/accounting/invoices/").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(2, 12):
        issue(f"s:{i}")
    assert count() == few


def test_detail_shows_lines_and_payments_and_the_pdf_prints(staff_api):
    invoice = issue("s:1", days_ago=3)
    paid = staff_api.post(
        f"/api/v1/accounting/invoices/{invoice.pk}/payments/",
        {"amount": "50.00", "day": str(TODAY), "reference": "BANK-1"},
        format="json",
    )
    assert paid.status_code == 201, paid.json()
    assert paid.json()["amount"] == "50.00" and paid.json()["currency"] == "USD"

    detail = staff_api.get(f"/api/v1/accounting/invoices/{invoice.pk}/").json()
    assert detail["lines"][0] | {"sku": "MUG"} == {
        "line_number": 1,
        "sku": "MUG",
        "description": "Mug",
        "quantity": 4,
        "unit_price": "25.00",
        "net_amount": "100.00",
        "tax": "8.00",
    }
    assert [p["reference"] for p in detail["payments"]] == ["BANK-1"]
    assert (detail["total"], detail["amount_paid"], detail["outstanding"]) == ("108.00", "50.00", "58.00")

    pdf = staff_api.get(f"/api/v1/accounting/invoices/{invoice.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = " ".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())
    assert f"Invoice {invoice.number}" in text and "Balance due 58.00 USD" in text
    assert "Terms Net 30" in text and f"Due date {invoice.due_date:%Y-%m-%d}" in text
    assert staff_api.get("/api/v1/accounting/invoices/999999/pdf/").status_code == 404
    assert staff_api.get("/api/v1/accounting/invoices/999999/").status_code == 404


def test_a_payment_recorded_twice_is_recorded_once(staff_api):
    invoice = issue("s:1")
    body = {"amount": "108.00", "day": str(TODAY), "reference": "BANK-9"}
    first = staff_api.post(f"/api/v1/accounting/invoices/{invoice.pk}/payments/", body, format="json")
    again = staff_api.post(f"/api/v1/accounting/invoices/{invoice.pk}/payments/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert InvoicePayment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    books_balance()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-5.00", "day": str(TODAY), "reference": "R"}, "amount"),
        ({"amount": "0", "day": str(TODAY), "reference": "R"}, "amount"),
        ({"amount": "500.00", "day": str(TODAY), "reference": "R"}, "amount"),  # over the outstanding
        ({"amount": "1.005", "day": str(TODAY), "reference": "R"}, "amount"),
        ({"amount": "ten", "day": str(TODAY), "reference": "R"}, "amount"),
        ({"amount": "5.00", "day": "yesterday", "reference": "R"}, "day"),
        ({"amount": "5.00", "day": str(TODAY), "reference": ""}, "reference"),
        ({"amount": "5.00", "day": str(TODAY)}, "reference"),
        ({"amount": "5.00", "day": str(TODAY), "reference": "R", "memo": "x"}, "memo"),
    ],
)
def test_bad_payments_are_a_400_naming_the_field_and_post_nothing(staff_api, body, field):
    invoice = issue("s:1")
    entries = JournalEntry.objects.count()
    response = staff_api.post(f"/api/v1/accounting/invoices/{invoice.pk}/payments/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert JournalEntry.objects.count() == entries
    assert not InvoicePayment.objects.exists()


def test_a_foreign_currency_payment_needs_the_days_rate(staff_api):
    ExchangeRate.objects.create(currency="EUR", day=TODAY - timedelta(days=1), rate=D("1.10"))
    invoice = invoice_issue(
        data=InvoiceInput(
            source_ref="s:eur",
            customer_id=7,
            customer_name="Acme",
            customer_email="ap@acme.example",
            currency="EUR",
            terms_days=30,
            lines=[
                InvoiceLineInput(sku="A", description="A", quantity=1, unit_price=D(10), net_amount=D(10))
            ],
        ),
        day=TODAY - timedelta(days=1),
        actor=SYSTEM,
    )
    response = staff_api.post(
        f"/api/v1/accounting/invoices/{invoice.pk}/payments/",
        {"amount": "10.00", "day": str(TODAY), "reference": "R"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_exchange_rate"


def test_a_paid_invoice_takes_no_more_payments(staff_api):
    invoice = issue("s:1")
    url = f"/api/v1/accounting/invoices/{invoice.pk}/payments/"
    staff_api.post(url, {"amount": "108.00", "day": str(TODAY), "reference": "A"}, format="json")
    response = staff_api.post(url, {"amount": "1.00", "day": str(TODAY), "reference": "B"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_open"


# --- Supplier invoices -------------------------------------------------------------------------


def supplier_body(**overrides) -> dict:
    body = {
        "supplier_id": 3,
        "supplier_name": "Pottery Ltd",
        "number": "PL-1001",
        "po_ref": "po:12",
        "currency": "USD",
        "issue_date": str(TODAY - timedelta(days=40)),
        "due_date": str(TODAY - timedelta(days=10)),
        "net_total": "400.00",
        "tax_total": "32.00",
    }
    body.update(overrides)
    return body


def test_supplier_invoices_are_recorded_once_listed_and_paid(staff_api):
    created = staff_api.post("/api/v1/accounting/supplier-invoices/", supplier_body(), format="json")
    assert created.status_code == 201, created.json()
    again = staff_api.post("/api/v1/accounting/supplier-invoices/", supplier_body(), format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    staff_api.post(
        "/api/v1/accounting/supplier-invoices/",
        supplier_body(number="PL-1002", due_date=str(TODAY + timedelta(days=20))),
        format="json",
    )
    body = created.json()
    assert (body["total"], body["outstanding"], body["status"]) == ("432.00", "432.00", "open")

    listed = staff_api.get("/api/v1/accounting/supplier-invoices/", {"overdue": "true"}).json()["results"]
    assert [row["number"] for row in listed] == ["PL-1001"]
    listed = staff_api.get("/api/v1/accounting/supplier-invoices/", {"supplier_id": 3}).json()["results"]
    assert {row["number"] for row in listed} == {"PL-1001", "PL-1002"}

    url = f"/api/v1/accounting/supplier-invoices/{body['id']}/payments/"
    paid = staff_api.post(url, {"amount": "432.00", "day": str(TODAY), "reference": "OUT-1"}, format="json")
    assert paid.status_code == 201, paid.json()
    assert paid.json()["amount"] == "432.00"
    assert SupplierInvoice.objects.get(pk=body["id"]).status == "paid"
    listed = staff_api.get("/api/v1/accounting/supplier-invoices/", {"status": "paid"}).json()["results"]
    assert [row["number"] for row in listed] == ["PL-1001"]
    books_balance()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"due_date": str(TODAY - timedelta(days=50))}, "due_date"),  # before the issue date
        ({"net_total": "0"}, "net_total"),
        ({"net_total": "-1"}, "net_total"),
        ({"tax_total": "-1"}, "tax_total"),
        ({"currency": "XXX"}, "currency"),
        ({"supplier_id": 0}, "supplier_id"),
        ({"number": ""}, "number"),
        ({"supplier_name": None}, "supplier_name"),
        ({"issue_date": "soon"}, "issue_date"),
        ({"received_value": "abc"}, "received_value"),
        ({"discount": "1"}, "discount"),
    ],
)
def test_bad_supplier_invoices_are_a_400_naming_the_field(staff_api, overrides, field):
    body = {k: v for k, v in supplier_body(**overrides).items() if v is not None}
    response = staff_api.post("/api/v1/accounting/supplier-invoices/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not SupplierInvoice.objects.exists() and not JournalEntry.objects.exists()


def test_a_supplier_payment_over_the_outstanding_is_refused(staff_api):
    body = staff_api.post("/api/v1/accounting/supplier-invoices/", supplier_body(), format="json").json()
    url = f"/api/v1/accounting/supplier-invoices/{body['id']}/payments/"
    response = staff_api.post(url, {"amount": "999.00", "day": str(TODAY), "reference": "X"}, format="json")
    assert response.status_code == 400 and "amount" in response.json()["error"]["fields"]
    assert not SupplierPayment.objects.exists()
    missing = staff_api.post(
        "/api/v1/accounting/supplier-invoices/999999/payments/",
        {"amount": "1.00", "day": str(TODAY), "reference": "X"},
        format="json",
    )
    assert missing.status_code == 404


def test_only_staff(api):
    assert api.get("/api/v1/accounting/invoices/").status_code == 403  # a channel key
    assert APIClient().get("/api/v1/accounting/supplier-invoices/").status_code in (401, 403)
    assert (
        api.post("/api/v1/accounting/supplier-invoices/", supplier_body(), format="json").status_code == 403
    )
