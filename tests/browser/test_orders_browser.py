"""A customer-service agent in a real browser: places a phone order through the
dashboard's form, finds it in the orders list, opens it, puts it on hold,
releases it and finally cancels it, with a screenshot at each step."""

from __future__ import annotations

import re

import pytest

from orders.models import Order, OrderEvent
from tests.factories import WarehouseFactory, channel_with_key, sku_in_stock, staff_user
from tests.fulfillment.conftest import make_carrier

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    channel, _ = channel_with_key(code="PHONE", name="Phone orders")
    warehouse = WarehouseFactory(code="DC-NJ")
    make_carrier()
    guide = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10, price="12.50", name="Field guide")
    return channel, guide


def test_customer_service_places_finds_holds_and_cancels_a_phone_order(page_for, shots, shop):
    channel, guide = shop
    agent = staff_user("cs-anna", "customer_service")
    page = page_for(agent)

    # Place a phone order: check the stock first, then place it.
    page.goto("/dashboard/orders/")
    page.click("text=New phone or store order")
    page.select_option("#id_channel", str(channel.pk))
    page.fill("#id_email", "caller@example.com")
    page.fill("#id_first_name", "Cal")
    page.fill("#id_last_name", "Ler")
    page.fill("#id_lines", f"{guide.code} 2")
    page.fill("#id_name", "Cal Ler")
    page.fill("#id_line1", "350 5th Ave")
    page.fill("#id_city", "New York")
    page.fill("#id_region", "NY")
    page.fill("#id_postal_code", "10118")
    page.fill("#id_country", "US")
    page.click("button[value=check]")
    page.wait_for_selector("text=Availability")
    assert page.locator("table", has_text=guide.code).is_visible()
    page.fill("#id_card_number", "4242 4242 4242 4242")
    page.fill("#id_exp_month", "12")
    page.fill("#id_exp_year", "2035")
    page.fill("#id_cvc", "123")
    shots.take(page, "phone-order-form")
    page.click("button[value=place]")
    page.wait_for_url(re.compile(r"/dashboard/orders/\d+/$"))
    order = Order.objects.get()
    assert order.source == "staff" and order.created_by == agent
    assert page.locator(".messages", has_text=f"Order {order.number} placed").is_visible()
    shots.take(page, "order-detail")

    # It is in the list; its row opens it.
    page.goto("/dashboard/orders/")
    row = page.locator("tbody tr", has_text=order.number)
    assert row.is_visible() and "caller@example.com" in row.inner_text()
    shots.take(page, "orders-list")
    page.fill("#id_q", "caller@example.com")
    page.click("form.filters button[type=submit]")
    page.click(f"text={order.number}")
    page.wait_for_url(f"**/dashboard/orders/{order.number}/")

    # Hold it, then release it.
    page.fill("#hold-reason-input", "Customer asked to wait for a second item")
    page.click("form[action$='/hold/'] button")
    page.wait_for_selector("#hold-reason")
    assert page.locator("#order-status").inner_text() == "On hold"
    shots.take(page, "on-hold")
    page.click("form[action$='/release/'] button")
    page.wait_for_selector(".messages >> text=released")
    assert page.locator("#order-status").inner_text() == "Allocated"

    # Cancel it with a reason.
    page.fill("#cancel-reason-input", "Customer changed their mind")
    page.click("form[action$='/cancel/'] button")
    page.wait_for_selector(".messages >> text=cancelled")
    assert page.locator("#order-status").inner_text() == "Cancelled"
    assert page.locator("form[action$='/cancel/']").count() == 0
    shots.take(page, "cancelled")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert OrderEvent.objects.filter(order=order, kind="cancelled", actor_user=agent).exists()
