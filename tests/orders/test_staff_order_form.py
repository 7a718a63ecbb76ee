"""The staff order form in the admin: find the customer, see availability
per location, place a card or on-account order once however often it is
submitted, and show the service's errors on the fields."""

from __future__ import annotations

import uuid

import pytest

from customers.models import Address, Customer
from orders.models import Order
from tests.factories import sku_in_stock

pytestmark = pytest.mark.django_db
URL = "/admin/orders/order/new-staff-order/"


def form(channel, sku, **extra) -> dict:
    return {
        "token": uuid.uuid4().hex,
        "channel": channel.pk,
        "email": "caller@example.com",
        "first_name": "Cal",
        "last_name": "Ler",
        "phone": "555 0100",
        "name": "Cal Ler",
        "line1": "350 5th Ave",
        "city": "New York",
        "region": "NY",
        "postal_code": "10118",
        "country": "us",
        "lines": f"{sku.code} 2",
        "shipping_speed": "standard",
        "payment": "card",
        "card_number": "4242 4242 4242 4242",
        "exp_month": "12",
        "exp_year": "2035",
        "cvc": "123",
        "action": "place",
        **extra,
    }


def test_a_phone_order_is_placed_once_by_card(admin_client, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5, price="10.00")
    page = admin_client.get("/admin/orders/order/")
    assert URL in page.content.decode()
    data = form(channel, sku)
    response = admin_client.post(URL, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert (order.source, order.email, order.created_by.username) == ("staff", "caller@example.com", "admin")
    assert order.payments.get().status == "authorized" and order.lines.get().quantity == 2
    admin_client.post(URL, data)  # pressed twice
    assert Order.objects.count() == 1


def test_check_finds_the_customer_and_shows_availability_per_location(admin_client, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=3, price="10.00")
    customer = Customer.objects.create(
        channel=channel, email="caller@example.com", last_name="Ler", payment_terms_days=30
    )
    Address.objects.create(
        customer=customer, name="Cal Ler", line1="1 Main", city="Reno", country="US", is_default_shipping=True
    )
    page = admin_client.post(
        URL, form(channel, sku, action="check", lines=f"{sku.code} 5\nNOPE 1")
    ).content.decode()
    assert f"?customer={customer.pk}" in page
    assert f"{warehouse.code}: 3" in page and "(short)" in page and "unknown SKU" in page
    assert not Order.objects.exists()
    prefilled = admin_client.get(URL, {"customer": customer.pk}).content.decode()
    assert (
        'value="1 Main"' in prefilled and 'value="account" selected' in prefilled.replace("\n", " ")
    ) or "account" in prefilled


def test_errors_land_on_their_fields_and_nothing_is_placed(admin_client, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=1, price="10.00")
    page = admin_client.post(URL, form(channel, sku, lines=f"{sku.code} 5")).content.decode()
    assert "lines" in page and "errorlist" in page
    page = admin_client.post(URL, form(channel, sku, lines="NOPE 1")).content.decode()
    assert "unknown SKU" in page
    page = admin_client.post(URL, form(channel, sku, card_number="4242 4242 4242 4241")).content.decode()
    assert "card number is not valid" in page
    page = admin_client.post(
        URL, form(channel, sku, payment="account", lines=f"{sku.code} 1")
    ).content.decode()
    assert "no account terms" in page
    page = admin_client.post(URL, form(channel, sku, lines="two of them")).content.decode()
    assert "give a SKU code and a quantity" in page
    assert not Order.objects.exists()


def test_staff_without_the_permission_cannot_use_it(client, django_user_model, channel):
    user = django_user_model.objects.create_user("clerk", "c@example.com", "pw-clerk-123", is_staff=True)
    client.force_login(user)
    assert client.get(URL).status_code == 403
