"""A return processed through the dashboard in a real browser: customer
service sees the home KPIs, finds it in the queue and authorizes it, a warehouse user at the
return location receives and inspects it, customer service checks the refund
preview and refunds it. A screenshot at each step."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fulfillment.models import FulfillmentOrder
from oms.actors import Actor
from orders.models import Order, Payment
from returns.models import ReturnRequest
from returns.services import ReturnLineInput, return_request
from tests.factories import staff_user
from tests.fulfillment.conftest import boxes, carrier, materials  # noqa: F401
from tests.returns.conftest import shipped_order  # noqa: F401


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


@pytest.mark.django_db(transaction=True)
def test_authorize_receive_and_refund_a_return(page_for, shots, shipped_order, warehouse):  # noqa: F811
    order, fo = shipped_order
    when = timezone.now() - timedelta(days=3)
    FulfillmentOrder.objects.filter(pk=fo.pk).update(delivered_at=when)
    Order.objects.filter(pk=order.pk).update(delivered_at=when)
    shirts = order.lines.order_by("line_number").first()
    # Asked a year after delivery: outside the policy, it waits for review.
    ret = return_request(
        order_id=order.pk,
        lines=[ReturnLineInput(order_line_id=shirts.pk, quantity=2, reason="size_fit", note="Too small")],
        actor=Actor.system(),
        source=ReturnRequest.Source.CUSTOMER,
        allow_review=True,
        today=timezone.localdate() + timedelta(days=365),
    )
    assert ret.status == ReturnRequest.Status.REQUESTED
    service = staff_user("cs-browser", "customer_service")
    keeper = staff_user("wh-browser", "warehouse", locations=[warehouse])

    page = page_for(service)
    page.goto("/dashboard/")
    expect(page.locator("#kpis")).to_contain_text("Orders today")
    expect(page.locator("div.chart[data-drawn]")).to_have_count(1)  # plotly drew the orders per day
    shots.take(page, "home-kpis")
    page.goto("/dashboard/returns/?queue=review")
    row = page.locator("tr", has_text=ret.number)
    expect(row).to_contain_text("Requested (needs review)")
    shots.take(page, "queue-waiting-for-review")
    row.get_by_role("link", name=ret.number).click()
    expect(page.locator("h1")).to_contain_text(ret.number)
    expect(page.get_by_text("Too small")).to_be_visible()
    shots.take(page, "return-to-review")
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator(".messages")).to_contain_text("authorized")
    expect(page.locator("h1 .badge")).to_have_text("Authorized")
    shots.take(page, "authorized")

    floor = page_for(keeper, viewport={"width": 820, "height": 1180})  # a warehouse tablet
    floor.goto("/dashboard/returns/?queue=awaiting")
    floor.get_by_role("link", name=ret.number).click()
    line = ret.lines.get()
    expect(floor.locator(f"#quantity_{line.pk}")).to_have_value("2")
    expect(floor.get_by_role("button", name="Authorize")).to_have_count(0)
    floor.fill(f"#quantity_{line.pk}", "2")
    floor.select_option(f"#condition_{line.pk}", "opened")
    floor.select_option(f"#disposition_{line.pk}", "restock")
    shots.take(floor, "receiving-at-the-location")
    floor.get_by_role("button", name="Receive and inspect").click()
    expect(floor.locator(".messages")).to_contain_text("received and inspected")
    expect(floor.locator("h1 .badge")).to_have_text("Received")
    expect(floor.get_by_role("button", name=re.compile("Refund"))).to_have_count(0)  # not theirs to refund
    shots.take(floor, "received")

    page.reload()
    expect(page.locator("#refund-due")).to_have_text("$50.00")
    expect(page.locator("#refund-amount")).to_have_value("50.00")
    shots.take(page, "refund-preview")
    page.fill("#refund-amount", "500")
    page.get_by_role("button", name="Refund to the original payment").click()
    expect(page.locator(".messages li.error")).to_contain_text("is more than")
    shots.take(page, "refund-refused")
    page.fill("#refund-amount", "50.00")
    page.get_by_role("button", name="Refund to the original payment").click()
    expect(page.locator(".messages")).to_contain_text("refunded to the original payment")
    expect(page.locator("h1 .badge")).to_have_text("Completed")
    shots.take(page, "refunded")

    ret.refresh_from_db()
    assert (ret.status, ret.refund_total) == (ReturnRequest.Status.COMPLETED, Decimal("50.00"))
    assert Payment.objects.get(order=order).amount_refunded == Decimal("50.00")
