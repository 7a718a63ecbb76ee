"""Customer service's view of a customer: the timeline across the apps,
duplicate detection by e-mail or phone, merging (everything moves, the books
and totals stay), consents with history, and B2B contacts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounting.invoicing import InvoiceInput, InvoiceLineInput, invoice_issue
from customers.models import Consent, Customer
from oms.actors import Actor
from orders.models import Order
from returns.customers import customer_merge, customer_timeline
from returns.models import CustomerCase
from tests.factories import ChannelFactory, sku_in_stock
from tests.fulfillment.conftest import place_order

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


def test_the_timeline_tells_the_customers_story_newest_first(channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5, price="10.00")
    order = place_order(channel, [(sku.code, 1)])
    customer = order.customer
    CustomerCase.objects.create(customer=customer, order=order, kind="other", subject="Asked about delivery")
    invoice_issue(
        data=InvoiceInput(
            source_ref="t:1", customer_id=customer.pk, customer_name="Ada", customer_email=customer.email,
            currency="USD", terms_days=30, lines=[InvoiceLineInput("X", "X", 1, D("5"), D("5"))],
        ),
        day=date.today(),
        actor=Actor.system(),
    )  # fmt: skip
    timeline = customer_timeline(customer_id=customer.pk)
    assert [a.kind for a in timeline] == ["invoice", "case", "order"]
    assert timeline[-1].ref == f"order {order.number}" and "Placed" in timeline[-1].text
    assert [a.at for a in timeline] == sorted((a.at for a in timeline), reverse=True)


def test_duplicates_by_email_or_phone_merge_into_one_customer(api, staff_api, channel, warehouse):
    other = ChannelFactory(code="PHONE2")
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5, price="10.00")
    order = place_order(channel, [(sku.code, 1)])
    survivor = order.customer
    survivor.phone = "+44 7700 900123"
    survivor.save()
    by_email = Customer.objects.create(
        channel=other, email=survivor.email.upper(), tags=["phone"], is_vip=True
    )
    by_phone = Customer.objects.create(channel=other, email="someone@else.example", phone="07700 900123")
    stranger = Customer.objects.create(channel=other, email="stranger@example.com", phone="555 0100")
    found = staff_api.get(f"/api/v1/customers/{survivor.pk}/duplicates/").json()
    assert {c["id"] for c in found} == {by_email.pk, by_phone.pk}

    sku2 = sku_in_stock(channel=other, warehouse=warehouse, quantity=5, price="10.00")
    moved = place_order(other, [(sku2.code, 1)], name="Ada")  # the same e-mail on the other channel
    twin = moved.customer
    assert twin.pk == by_email.pk
    total_before = sum(Order.objects.values_list("grand_total", flat=True))
    response = staff_api.post(
        f"/api/v1/customers/{survivor.pk}/merge/", {"duplicate_id": twin.pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert not Customer.objects.filter(pk=twin.pk).exists()
    assert Order.objects.get(pk=moved.pk).customer_id == survivor.pk
    assert sum(Order.objects.values_list("grand_total", flat=True)) == total_before
    survivor.refresh_from_db()
    assert survivor.is_vip and "phone" in survivor.tags and "Merged customer" in survivor.notes
    merged = customer_merge(survivor_id=survivor.pk, duplicate_id=by_phone.pk, actor=Actor.system())
    assert merged.notes.count("Merged customer") == 2

    refused = staff_api.post(
        f"/api/v1/customers/{survivor.pk}/merge/", {"duplicate_id": stranger.pk}, format="json"
    )
    assert refused.status_code == 409 and Customer.objects.filter(pk=stranger.pk).exists()
    assert (
        staff_api.post(
            f"/api/v1/customers/{survivor.pk}/merge/", {"duplicate_id": 0}, format="json"
        ).status_code
        == 400
    )
    assert api.get(f"/api/v1/customers/{survivor.pk}/duplicates/").status_code in (401, 403)  # staff only


def test_consents_keep_their_history_and_contacts_have_one_primary(staff_api, channel):
    customer = Customer.objects.create(channel=channel, email="buyer@acme.example", company="Acme")
    url = f"/api/v1/customers/{customer.pk}/consents/"
    assert staff_api.post(
        url, {"purpose": "email_marketing", "granted": True, "source": "checkout"}, format="json"
    ).json() == {"email_marketing": True}
    assert (
        staff_api.post(
            url, {"purpose": "email_marketing", "granted": False, "source": "unsubscribe link"}, format="json"
        ).status_code
        == 201
    )
    assert staff_api.get(url).json() == {"email_marketing": False}
    assert Consent.objects.filter(customer=customer).count() == 2
    bad = staff_api.post(url, {"purpose": "telepathy", "granted": True, "source": "x"}, format="json")
    assert bad.status_code == 400 and "purpose" in bad.json()["error"]["fields"]

    url = f"/api/v1/customers/{customer.pk}/contacts/"
    staff_api.post(
        url,
        {"name": "Bea", "email": "bea@acme.example", "role": "purchasing", "is_primary": True},
        format="json",
    )
    staff_api.post(url, {"name": "Cy", "role": "accounts_payable", "is_primary": True}, format="json")
    contacts = staff_api.get(url).json()
    assert [(c["name"], c["is_primary"]) for c in contacts] == [("Cy", True), ("Bea", False)]
    assert staff_api.post(url, {"name": "", "role": "purchasing"}, format="json").status_code == 400
