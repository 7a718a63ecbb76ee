"""Privacy: the export holds everything about a customer (and no card data);
anonymizing erases the personal data from every table, leaving the books,
the journal and the order totals exactly as they were. The customer's story
is real: an order placed, shipped and captured, a return refunded, a
post-sale answer that opened a case, and a paid invoice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounting.invoicing import InvoiceInput, InvoiceLineInput, invoice_issue, invoice_payment_record
from accounting.models import Invoice, JournalEntry, JournalLine
from accounting.selectors import trial_balance
from customers.models import Address, Customer
from fulfillment.models import FulfillmentOrder
from oms.models import OutboxEvent
from orders.models import Order, Payment
from returns.answers import post_sale_answer_record
from returns.models import CustomerCase, ReturnLine, ReturnRequest
from returns.privacy import customer_anonymize, customer_export
from returns.services import Inspection, ReturnLineInput, return_receive, return_refund, return_request
from tests.fulfillment.shipping_world import STAFF

pytestmark = pytest.mark.django_db
D = Decimal
PHONE = "+1 212 555 0199"
# What must be gone from every text column of every table afterwards.
NEEDLES = ["Lovelace", "ada@example.com", "555 0199", "350 5th Ave", "Byron Street"]


@pytest.fixture
def story(shipped_order):
    order, fo = shipped_order
    customer = order.customer
    Customer.objects.filter(pk=customer.pk).update(phone=PHONE, notes="Ada Lovelace prefers mornings.")
    Address.objects.create(
        customer=customer,
        name="Ada Lovelace",
        line1="12 Byron Street",
        city="London",
        country="GB",
        phone=PHONE,
    )
    when = timezone.now() - timedelta(days=2)
    Order.objects.filter(pk=order.pk).update(delivered_at=when, notes="Call Ada Lovelace on arrival")
    FulfillmentOrder.objects.filter(pk=fo.pk).update(delivered_at=when)
    line = order.lines.order_by("line_number").first()
    request = return_request(
        order_id=order.pk,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=1, reason=ReturnLine.Reason.SIZE_FIT)],
        actor=STAFF,
        source=ReturnRequest.Source.CUSTOMER,
        note=f"Too small for Ada Lovelace, call {PHONE}",
    )
    return_receive(
        return_id=request.pk,
        inspections=[
            Inspection(request.lines.get().pk, 1, ReturnLine.Condition.NEW, ReturnLine.Disposition.RESTOCK)
        ],
        actor=STAFF,
    )
    return_refund(return_id=request.pk, actor=STAFF)
    post_sale_answer_record(
        order_id=order.pk, kind="arrived", value="missing", comment=f"Ada Lovelace here, call {PHONE}"
    )
    invoice = invoice_issue(
        data=InvoiceInput(
            source_ref=f"test:{order.pk}",
            customer_id=customer.pk,
            customer_name="Ada Lovelace",
            customer_email="ada@example.com",
            currency="USD",
            terms_days=30,
            lines=[InvoiceLineInput("SVC", "Gift wrapping", 1, D("10.00"), D("10.00"))],
            order_ref=order.number,
            billing_address={"name": "Ada Lovelace", "line1": "12 Byron Street", "country": "GB"},
        ),
        day=timezone.localdate(),
        actor=STAFF,
    )
    invoice_payment_record(
        invoice_id=invoice.pk, amount=invoice.total, day=timezone.localdate(), reference="BANK-1", actor=STAFF
    )
    customer.refresh_from_db()
    return customer, order


def books_and_totals() -> dict:
    return {
        "trial_balance": [(r.code, r.debit, r.credit) for r in trial_balance()],
        "entries": list(
            JournalEntry.objects.order_by("pk").values_list("pk", "date", "source_type", "source_ref")
        ),
        "lines": list(
            JournalLine.objects.order_by("pk").values_list(
                "entry_id", "account_id", "debit", "credit", "amount", "currency", "rate"
            )
        ),
        "orders": list(
            Order.objects.order_by("pk").values_list(
                "pk",
                "status",
                "customer_id",
                "subtotal",
                "discount_total",
                "shipping_total",
                "tax_total",
                "grand_total",
            )
        ),
        "payments": list(
            Payment.objects.order_by("pk").values_list(
                "amount_authorized", "amount_captured", "amount_refunded"
            )
        ),
        "invoices": list(
            Invoice.objects.order_by("pk").values_list("number", "total", "amount_paid", "status")
        ),
        "returns": list(ReturnRequest.objects.order_by("pk").values_list("pk", "status", "refund_total")),
    }


def personal_data_left(needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text, JSON or array column of every
    table in the schema holding one of the needles."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema()
              AND table_name IN (SELECT table_name FROM information_schema.tables
                                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')
              AND data_type IN ('character varying', 'text', 'character', 'json', 'jsonb', 'ARRAY')
            """
        )
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            for needle in needles:
                cursor.execute(
                    f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE %s LIMIT 1',  # noqa: S608
                    [f"%{needle}%"],
                )
                if cursor.fetchone():
                    found.append((table, column, needle))
    return found


def test_the_search_finds_the_personal_data_before(story):
    # Proves the search below can fail: before, the data is all over.
    left = {(table, column) for table, column, _ in personal_data_left(NEEDLES)}
    assert {
        ("customers_customer", "email"),
        ("customers_address", "line1"),
        ("orders_order", "shipping_address"),
        ("returns_returnrequest", "customer_note"),
        ("returns_customercase", "description"),
        ("accounting_invoice", "customer_name"),
        ("accounting_journalentry", "memo"),
    } <= left


def test_anonymize_erases_personal_data_and_keeps_the_books(story, staff_api):
    customer, order = story
    before = books_and_totals()

    response = staff_api.post(
        f"/api/v1/customers/{customer.pk}/anonymize/", {"confirm": "ADA@example.com"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {"customer_id": customer.pk, "email": f"anonymized-{customer.pk}@invalid"}
    assert books_and_totals() == before
    assert personal_data_left(NEEDLES) == []
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.phone, customer.notes) == ("", "", "", "")
    order.refresh_from_db()
    assert order.shipping_address == {"country": "US", "region": "NY"}
    assert order.email == customer.email
    assert Invoice.objects.get(customer_id=customer.pk).customer_name == f"Anonymized customer {customer.pk}"
    assert CustomerCase.objects.get(customer=customer).description == ""
    assert OutboxEvent.objects.filter(
        topic="customer.anonymized", aggregate=f"customer:{customer.pk}"
    ).exists()

    again = staff_api.post(
        f"/api/v1/customers/{customer.pk}/anonymize/", {"confirm": customer.email}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_anonymized"


def test_anonymize_needs_the_confirmation(story, staff_api):
    customer, _ = story
    before = books_and_totals()
    for body in ({}, {"confirm": "someone@example.com"}, {"confirm": "ada@example.com", "extra": 1}):
        response = staff_api.post(f"/api/v1/customers/{customer.pk}/anonymize/", body, format="json")
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) & {"confirm", "extra"}
    customer.refresh_from_db()
    assert customer.email == "ada@example.com"
    assert books_and_totals() == before
    assert (
        staff_api.post("/api/v1/customers/999999/anonymize/", {"confirm": "x"}, format="json").status_code
        == 404
    )


def test_anonymize_refuses_a_customer_with_an_order_to_ship(story):
    customer, order = story
    Order.objects.filter(pk=order.pk).update(status=Order.Status.ALLOCATED)
    with pytest.raises(Exception) as err:
        customer_anonymize(customer_id=customer.pk, confirm="ada@example.com", actor=STAFF)
    assert getattr(err.value, "code", "") == "customer_has_open_orders"
    customer.refresh_from_db()
    assert customer.last_name == "Lovelace"


def test_export_holds_the_whole_story_without_card_data(story, staff_api):
    customer, order = story
    response = staff_api.get(f"/api/v1/customers/{customer.pk}/export/")

    assert response.status_code == 200
    data = response.json()
    assert data["customer"]["email"] == "ada@example.com"
    assert data["customer"]["phone"] == PHONE
    assert [a["line1"] for a in data["addresses"]] == ["12 Byron Street"]
    [exported] = data["orders"]
    assert exported["id"] == order.pk and exported["grand_total"] == str(order.grand_total)
    assert len(exported["lines"]) == 2 and exported["shipments"][0]["lines"]
    assert exported["payments"] and not {"token", "last4", "brand"} & set(exported["payments"][0])
    assert data["returns"][0]["customer_note"].startswith("Too small")
    assert data["cases"][0]["kind"] == "missing_item"
    assert data["post_sale_answers"][0]["everything_arrived"] is False
    assert data["invoices"][0]["customer_name"] == "Ada Lovelace"
    assert data["invoices"][0]["payments"][0]["reference"] == "BANK-1"
    topics = {e["topic"] for e in data["emails_and_notifications"]}
    assert {"order.placed", "shipment.shipped"} <= topics
    card = Payment.objects.get(order=order)
    assert card.token and card.token not in response.content.decode()

    assert staff_api.get("/api/v1/customers/999999/export/").status_code == 404
    assert customer_export(customer_id=customer.pk)["customer"]["id"] == customer.pk


def test_privacy_endpoints_are_staff_only(story, api):
    customer, _ = story
    assert api.get(f"/api/v1/customers/{customer.pk}/export/").status_code == 403
    assert (
        api.post(f"/api/v1/customers/{customer.pk}/anonymize/", {"confirm": "ada@example.com"}).status_code
        == 403
    )
