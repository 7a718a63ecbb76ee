"""B2B quotes: priced as an order would be, sent by e-mail with a link to the
PDF, accepted into an order on account at the quoted prices, rejected or
expired; transitions enforced and bad input refused naming the field."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from customers.models import Address, Customer
from inventory.models import StockLevel
from oms.actors import Actor
from oms.errors import InvalidTransition
from oms.outbox import dispatch_pending
from orders.models import Order, PriceListEntry, Quote, QuoteEvent
from orders.services.quotes import (
    QuoteInput,
    QuoteLineInput,
    quote_accept,
    quote_create,
    quote_send,
    quotes_expire,
)
from orders.tasks import expire_quotes
from tests.factories import ChannelFactory, WarehouseFactory, sku_in_stock, tax_rate

pytestmark = pytest.mark.django_db
D = Decimal
SYSTEM = Actor.system()
NY = {
    "name": "Acme Receiving",
    "company": "Acme Inc",
    "line1": "350 5th Ave",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


@pytest.fixture
def b2b(channel, warehouse):
    """A channel with a price list, 8% NY tax, a SKU at 10.00 and a customer on net 30."""
    tax_rate("US", "0.08", "NY")
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=100, price="10.00")
    customer = Customer.objects.create(
        channel=channel,
        email="buyer@acme.example",
        first_name="Bea",
        company="Acme Inc",
        payment_terms_days=30,
    )
    return channel, sku, customer


def payload(channel, sku, customer, /, **overrides) -> dict:
    body = {
        "channel": channel.code,
        "customer_id": customer.pk,
        "valid_until": str(timezone.localdate() + timedelta(days=14)),
        "lines": [{"sku": sku.code, "quantity": 3, "discount": "2.00"}],
        "shipping_address": NY,
        "notes": "Prices held for the spring range.",
    }
    body.update(overrides)
    return body


def create(staff_api, channel, sku, customer, /, **overrides) -> dict:
    response = staff_api.post("/api/v1/quotes/", payload(channel, sku, customer, **overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def post(staff_api, quote_id: int, action: str, body: dict | None = None):
    return staff_api.post(f"/api/v1/quotes/{quote_id}/{action}/", body or {}, format="json")


# --- Create: priced like an order ---------------------------------------------------------


def test_a_quote_is_priced_as_an_order_for_the_same_lines(staff_api, b2b):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    # 3 x 10.00 - 2.00 = 28.00; shipping 5.00 (flat rate); tax 8% on both: 2.24 + 0.40.
    assert quote["status"] == "draft"
    assert quote["number"] == f"Q{quote['id']:08d}"
    assert (quote["subtotal"], quote["discount_total"], quote["shipping_total"]) == ("30.00", "2.00", "5.00")
    assert (quote["tax_total"], quote["grand_total"]) == ("2.64", "35.64")
    assert quote["lines"][0] == {
        "line_number": 1,
        "sku": sku.code,
        "name": sku.name,
        "quantity": 3,
        "unit_price": "10.00",
        "discount": "2.00",
        "tax_rate": "0.08000",
        "tax_amount": "2.24",
        "line_total": "28.00",
    }
    assert [(e["kind"], e["to_status"], e["actor"]) for e in quote["events"]] == [
        ("created", "draft", "staff:staff")
    ]
    # A quote holds no stock.
    assert StockLevel.objects.get(sku=sku).allocated == 0


def test_the_shipping_address_defaults_to_the_customers(staff_api, b2b):
    channel, sku, customer = b2b
    Address.objects.create(customer=customer, is_default_shipping=True, **NY)
    body = payload(channel, sku, customer)
    del body["shipping_address"]
    response = staff_api.post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["shipping_address"]["line1"] == "350 5th Ave"
    assert response.json()["tax_total"] == "2.64"


# --- Lifecycle -----------------------------------------------------------------------------


def test_send_mails_the_customer_a_link_to_the_pdf_and_accept_places_the_order_on_account(
    staff_api, b2b, mailoutbox
):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)

    sent = post(staff_api, quote["id"], "send")
    assert sent.status_code == 200, sent.json()
    assert sent.json()["status"] == "sent" and sent.json()["sent_at"]
    dispatch_pending()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["buyer@acme.example"]
    assert quote["number"] in mail.subject
    assert "35.64" in mail.body and "net 30 days" in mail.body
    link = next(word for word in mail.body.split() if "/quotes/shared/" in word)
    # The customer opens the link without logging in and gets the PDF.
    pdf = APIClient().get(urlsplit(link).path)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "35.64 USD" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    # A forged or altered link is a 404.
    assert APIClient().get("/api/v1/quotes/shared/not-a-token/pdf/").status_code == 404

    accepted = post(staff_api, quote["id"], "accept")
    assert accepted.status_code == 200, accepted.json()
    body = accepted.json()
    assert body["status"] == "accepted" and body["accepted_at"]
    order = Order.objects.get(pk=body["order_id"])
    assert order.status == Order.Status.ALLOCATED
    assert order.payment_terms_days == 30
    assert order.source == Order.Source.STAFF
    assert order.customer_id == customer.pk
    assert not order.payments.exists()  # on account: no card
    assert (
        order.subtotal,
        order.discount_total,
        order.shipping_total,
        order.tax_total,
        order.grand_total,
    ) == (
        D("30.00"),
        D("2.00"),
        D("5.00"),
        D("2.64"),
        D("35.64"),
    )
    line = order.lines.get()
    assert (line.sku_id, line.quantity, line.unit_price, line.discount, line.tax_amount) == (
        sku.pk,
        3,
        D("10.00"),
        D("2.00"),
        D("2.24"),
    )
    assert StockLevel.objects.get(sku=sku).allocated == 3
    assert [e["kind"] for e in body["events"]] == ["created", "sent", "accepted"]
    assert body["events"][-1]["actor"] == "staff:staff"
    assert body["events"][-1]["data"]["order_id"] == order.pk


def test_accept_keeps_negotiated_prices_on_a_channel_that_sets_its_own(staff_api, warehouse):
    channel = ChannelFactory(kind="b2b", price_authority=True)
    sku = sku_in_stock(channel=None, warehouse=warehouse, quantity=20)
    customer = Customer.objects.create(channel=channel, email="buyer@acme.example", payment_terms_days=45)
    quote = create(
        staff_api,
        channel,
        sku,
        customer,
        lines=[{"sku": sku.code, "quantity": 4, "unit_price": "7.35", "tax_amount": "0.00"}],
        shipping_amount="12.00",
        total="41.40",
    )
    assert quote["grand_total"] == "41.40"
    post(staff_api, quote["id"], "send")
    body = post(staff_api, quote["id"], "accept").json()
    order = Order.objects.get(pk=body["order_id"])
    assert order.lines.get().unit_price == D("7.35")
    assert (order.shipping_total, order.grand_total, order.payment_terms_days) == (D("12.00"), D("41.40"), 45)


def test_the_quoted_prices_are_honoured_after_the_price_list_changes(staff_api, b2b):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    post(staff_api, quote["id"], "send")
    PriceListEntry.objects.filter(channel=channel, sku=sku).update(unit_price=D("12.00"))
    channel.shipping_flat_rate = D("99.00")
    channel.save()

    body = post(staff_api, quote["id"], "accept").json()
    order = Order.objects.get(pk=body["order_id"])
    assert order.lines.get().unit_price == D("10.00")
    assert order.grand_total == D(quote["grand_total"])
    assert order.shipping_total == D(quote["shipping_total"]) == D("5.00")


def test_a_tax_change_since_the_quote_is_refused_not_billed(staff_api, b2b):
    from orders.models import TaxRate

    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    post(staff_api, quote["id"], "send")
    TaxRate.objects.filter(country="US", region="NY").update(rate=D("0.09"))

    response = post(staff_api, quote["id"], "accept")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "quote_prices_changed"
    assert "total" in response.json()["error"]["fields"]
    assert Quote.objects.get(pk=quote["id"]).status == Quote.Status.SENT
    assert not Order.objects.exists()
    assert StockLevel.objects.get(sku=sku).allocated == 0


def test_an_order_over_the_credit_limit_goes_on_hold(staff_api, b2b):
    channel, sku, customer = b2b
    customer.credit_limit = D("20.00")
    customer.save()
    quote = create(staff_api, channel, sku, customer)
    post(staff_api, quote["id"], "send")
    body = post(staff_api, quote["id"], "accept").json()
    order = Order.objects.get(pk=body["order_id"])
    assert order.status == Order.Status.ON_HOLD
    assert "Credit limit" in order.hold_reason
    assert "on hold" in body["events"][-1]["message"]


def test_a_customer_who_lost_account_terms_cannot_accept(staff_api, b2b):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    post(staff_api, quote["id"], "send")
    Customer.objects.filter(pk=customer.pk).update(payment_terms_days=None)
    response = post(staff_api, quote["id"], "accept")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_account"
    assert not Order.objects.exists()


def test_reject_records_the_reason(staff_api, b2b):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    post(staff_api, quote["id"], "send")
    body = post(staff_api, quote["id"], "reject", {"reason": "Went with another supplier"}).json()
    assert body["status"] == "rejected" and body["rejection_reason"] == "Went with another supplier"
    assert body["events"][-1]["kind"] == "rejected"
    assert post(staff_api, quote["id"], "accept").status_code == 409


# --- Expiry --------------------------------------------------------------------------------


def test_sent_quotes_past_their_last_day_expire_and_cannot_be_accepted(staff_api, b2b):
    channel, sku, customer = b2b
    today = timezone.localdate()
    old = create(staff_api, channel, sku, customer, valid_until=str(today))
    fresh = create(staff_api, channel, sku, customer, valid_until=str(today + timedelta(days=1)))
    draft = create(staff_api, channel, sku, customer, valid_until=str(today))
    post(staff_api, old["id"], "send")
    post(staff_api, fresh["id"], "send")

    assert quotes_expire(today=today) == 0  # valid through its last day
    # The next day, before the beat has run, accepting is already refused.
    with pytest.raises(InvalidTransition) as refused:
        quote_accept(quote_id=old["id"], actor=SYSTEM, today=today + timedelta(days=1))
    assert refused.value.code == "quote_expired"

    assert quotes_expire(today=today + timedelta(days=1)) == 1
    assert quotes_expire(today=today + timedelta(days=1)) == 0  # safe to run twice
    statuses = dict(Quote.objects.values_list("pk", "status"))
    assert statuses == {old["id"]: "expired", fresh["id"]: "sent", draft["id"]: "draft"}
    event = QuoteEvent.objects.filter(quote_id=old["id"]).last()
    assert (event.kind, event.from_status, event.to_status, event.actor_type) == (
        "expired",
        "sent",
        "expired",
        "system",
    )
    response = post(staff_api, old["id"], "accept")
    assert response.status_code == 409 and response.json()["error"]["code"] == "invalid_transition"
    assert not Order.objects.exists()


def test_the_beat_task_expires_quotes(staff_api, b2b):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    post(staff_api, quote["id"], "send")
    Quote.objects.filter(pk=quote["id"]).update(valid_until=timezone.localdate() - timedelta(days=1))
    assert expire_quotes.delay().get() == 1
    assert Quote.objects.get(pk=quote["id"]).status == Quote.Status.EXPIRED


def test_a_draft_past_its_validity_cannot_be_sent(staff_api, b2b):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer, valid_until=str(timezone.localdate()))
    with pytest.raises(InvalidTransition) as refused:
        quote_send(quote_id=quote["id"], actor=SYSTEM, today=timezone.localdate() + timedelta(days=1))
    assert refused.value.code == "quote_expired"
    assert Quote.objects.get(pk=quote["id"]).status == Quote.Status.DRAFT


# --- Transitions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        ([], "accept"),  # a draft was never sent
        ([], "reject"),
        (["send"], "send"),
        (["send", "accept"], "accept"),
        (["send", "accept"], "reject"),
        (["send", "reject"], "send"),
    ],
)
def test_invalid_transitions_are_refused(staff_api, b2b, steps, action):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    for step in steps:
        assert post(staff_api, quote["id"], step).status_code == 200
    before = Quote.objects.get(pk=quote["id"])
    response = post(staff_api, quote["id"], action)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    after = Quote.objects.get(pk=quote["id"])
    assert (after.status, after.order_id) == (before.status, before.order_id)
    assert Order.objects.count() == (1 if "accept" in steps else 0)


def test_unknown_quote_is_404_and_quotes_are_for_staff(staff_api, api, b2b):
    assert post(staff_api, 999999, "send").status_code == 404
    assert staff_api.get("/api/v1/quotes/999999/").status_code == 404
    assert staff_api.get("/api/v1/quotes/999999/pdf/").status_code == 404
    assert api.get("/api/v1/quotes/").status_code == 403  # a channel key
    assert APIClient().get("/api/v1/quotes/").status_code in (401, 403)


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines[0].sku"),
        ({"lines": [{"sku": "{sku}", "quantity": 0}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "{sku}", "quantity": "two"}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "{sku}", "quantity": 1, "discount": "-1"}]}, "lines[0].discount"),
        ({"lines": [{"sku": "{sku}", "quantity": 1, "discount": "50.00"}]}, "lines[0].discount"),
        ({"lines": [{"sku": "{sku}", "quantity": 1, "unit_price": "9.00"}]}, "lines[0].unit_price"),
        ({"lines": [{"sku": "{sku}", "quantity": 1, "qty": 1}]}, "lines[0].qty"),
        ({"lines": []}, "lines"),
        ({"customer_id": None}, "customer_id"),
        ({"customer_id": 999999}, "customer_id"),
        ({"customer_id": "abc"}, "customer_id"),
        ({"channel": "NOPE"}, "channel"),
        ({"valid_until": "2020-01-01"}, "valid_until"),
        ({"valid_until": "next week"}, "valid_until"),
        ({"shipping_address": {**NY, "country": "XX"}}, "shipping_address.country"),
        ({"currency": "EUR"}, "currency"),
        ({"total": "1.00"}, "total"),
        ({"discount": "5"}, "discount"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(staff_api, b2b, change, field):
    channel, sku, customer = b2b
    if "lines" in change:
        change = {
            "lines": [{k: (sku.code if v == "{sku}" else v) for k, v in ln.items()} for ln in change["lines"]]
        }
    body = payload(channel, sku, customer, **change)
    body = {k: v for k, v in body.items() if v is not None}
    response = staff_api.post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert not Quote.objects.exists()


def test_customers_of_another_channel_or_without_terms_are_refused(staff_api, b2b):
    channel, sku, customer = b2b
    cash = Customer.objects.create(channel=channel, email="cash@example.com")
    other = Customer.objects.create(channel=ChannelFactory(), email="x@example.com", payment_terms_days=30)
    for who, code in ((cash, "no_account"), (other, "invalid")):
        response = staff_api.post(
            "/api/v1/quotes/", payload(channel, sku, customer, customer_id=who.pk), format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == code
        assert "customer_id" in response.json()["error"]["fields"]
    body = payload(channel, sku, customer)
    del body["shipping_address"]
    response = staff_api.post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400 and "shipping_address" in response.json()["error"]["fields"]
    assert not Quote.objects.exists()


def test_reject_reason_too_long_is_a_400(staff_api, b2b):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    post(staff_api, quote["id"], "send")
    response = post(staff_api, quote["id"], "reject", {"reason": "x" * 501})
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    assert Quote.objects.get(pk=quote["id"]).status == Quote.Status.SENT


# --- List, filters, admin ------------------------------------------------------------------


def test_list_filters_by_status_and_customer(staff_api, b2b):
    channel, sku, customer = b2b
    first = create(staff_api, channel, sku, customer)
    second = create(staff_api, channel, sku, customer)
    post(staff_api, second["id"], "send")
    listed = staff_api.get("/api/v1/quotes/", {"status": "sent"}).json()["results"]
    assert [q["id"] for q in listed] == [second["id"]]
    listed = staff_api.get("/api/v1/quotes/", {"customer_id": customer.pk}).json()["results"]
    assert [q["id"] for q in listed] == [second["id"], first["id"]]
    response = staff_api.get("/api/v1/quotes/", {"status": "bogus"})
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]


def test_admin_shows_quotes_and_its_actions_call_the_services(admin_client, staff_api, b2b, mailoutbox):
    channel, sku, customer = b2b
    quote = create(staff_api, channel, sku, customer)
    assert admin_client.get("/admin/orders/quote/").status_code == 200
    page = admin_client.get(f"/admin/orders/quote/{quote['id']}/change/")
    assert page.status_code == 200 and quote["number"].encode() in page.content
    assert admin_client.get("/admin/orders/quoteline/").status_code == 200
    assert admin_client.get("/admin/orders/quoteevent/").status_code == 200
    for action in ("send_quotes", "accept_quotes", "accept_quotes"):
        admin_client.post(
            "/admin/orders/quote/", {"action": action, "_selected_action": [quote["id"]]}, follow=True
        )
    quote_row = Quote.objects.get(pk=quote["id"])
    assert quote_row.status == Quote.Status.ACCEPTED and quote_row.order_id
    assert Order.objects.count() == 1


# --- Races ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_accepts_at_once_make_one_order():
    channel = ChannelFactory()
    warehouse = WarehouseFactory()
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    customer = Customer.objects.create(channel=channel, email="race@acme.example", payment_terms_days=30)
    quote = quote_create(
        data=QuoteInput(
            channel=channel,
            customer_id=customer.pk,
            valid_until=timezone.localdate(),
            lines=[QuoteLineInput(sku=sku.code, quantity=2)],
            shipping_address=NY,
        ),
        actor=SYSTEM,
    )
    quote_send(quote_id=quote.pk, actor=SYSTEM)
    barrier = threading.Barrier(4)
    results: list = [None] * 4

    def accept(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = quote_accept(quote_id=quote.pk, actor=SYSTEM).order_id
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    orders = list(Order.objects.values_list("pk", flat=True))
    assert len(orders) == 1
    # Every caller either saw the one order or was told the quote is no longer sent.
    for result in results:
        assert result == orders[0] or isinstance(result, InvalidTransition), results
    assert StockLevel.objects.get(sku=sku).allocated == 2


def test_list_query_count_does_not_grow_with_quotes(staff_api, b2b):
    channel, sku, customer = b2b
    create(staff_api, channel, sku, customer)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert staff_api.get("/api/v1/quotes/").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for _ in range(5):
        create(staff_api, channel, sku, customer)
    assert count() == few
