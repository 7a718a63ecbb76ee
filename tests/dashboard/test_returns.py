"""The returns queue, one return's page and its actions through the
services, the case queue; who may do what (customer service authorizes and
refunds, a warehouse user receives at their own locations only and may not
refund, accounting only looks); bad input shown as a message, never a 500;
a constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from django.utils.html import escape

from fulfillment.models import FulfillmentOrder
from oms.actors import Actor
from orders.models import Order
from returns.models import CustomerCase, ReturnLine, ReturnRequest
from returns.services import ReturnLineInput, return_request
from tests.dashboard.conftest import assert_constant_queries, page_queries
from tests.factories import WarehouseFactory
from tests.fulfillment.conftest import boxes, carrier, materials  # noqa: F401
from tests.returns.conftest import shipped_order  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal
R = ReturnLine.Reason
STAFF = Actor.system()


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


@pytest.fixture
def delivered(shipped_order):  # noqa: F811
    """The shipped order of tests.returns (2 x 25.00 + 1 x 40.00 + 5.00
    shipping, from DC-NJ), delivered three days ago."""
    order, fo = shipped_order
    when = timezone.now() - timedelta(days=3)
    FulfillmentOrder.objects.filter(pk=fo.pk).update(delivered_at=when)
    Order.objects.filter(pk=order.pk).update(delivered_at=when)
    order.refresh_from_db()
    return order


def ask(order, *, review: bool = False, quantity: int = 1, **kwargs) -> ReturnRequest:
    """A return of `quantity` of the order's first line (unwanted), authorized
    at once; `review=True`: outside the policy, waiting for review."""
    line = order.lines.order_by("line_number").first()
    today = timezone.localdate() + timedelta(days=400) if review else None
    return return_request(
        order_id=order.pk,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=quantity, reason=R.SIZE_FIT)],
        actor=STAFF,
        source=ReturnRequest.Source.STAFF,
        allow_review=review,
        today=today,
        **kwargs,
    )


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def receive_form(ret, quantity=None, condition="new", disposition="restock") -> dict:
    data = {}
    for line in ret.lines.all():
        data[f"quantity_{line.pk}"] = str(line.quantity if quantity is None else quantity)
        data[f"condition_{line.pk}"] = condition
        data[f"disposition_{line.pk}"] = disposition
    return data


def test_queue_by_where_returns_stand_with_search(role_client, delivered):
    waiting = ask(delivered, review=True)
    authorized = ask(delivered)
    client = role_client("customer_service")
    _, response = page_queries(client, "/dashboard/returns/")
    html = response.content.decode()
    assert waiting.number in html and authorized.number in html
    assert "Waiting for review" in html and "Authorized, awaiting the parcel" in html
    _, response = page_queries(client, "/dashboard/returns/?queue=review")
    html = response.content.decode()
    assert waiting.number in html and authorized.number not in html
    assert escape(waiting.review_reason[:40]) in html  # the reason it needs review
    for query in (authorized.number, str(authorized.pk), authorized.number.lower()):
        html = page_queries(client, f"/dashboard/returns/?q={query}")[1].content.decode()
        assert authorized.number in html and waiting.number not in html
    html = page_queries(client, f"/dashboard/returns/?q={delivered.number}")[1].content.decode()
    assert authorized.number in html and waiting.number in html  # by order number
    html = page_queries(client, "/dashboard/returns/?q=ada@example.com")[1].content.decode()
    assert authorized.number in html
    html = page_queries(client, "/dashboard/returns/?q=nonsense&location=NOPE&page=x")[1].content.decode()
    assert "No return here." in html
    _, response = page_queries(client, "/dashboard/returns/", HTTP_HX_REQUEST="true")
    assert response.content.decode().startswith('<div id="returns-queue"')


def test_customer_service_authorizes_or_rejects_with_a_reason(role_client, delivered):
    first, second = ask(delivered, review=True), ask(delivered, review=True)
    client = role_client("customer_service")
    html = page_queries(client, f"/dashboard/returns/{first.pk}/")[1].content.decode()
    assert "Authorize" in html and "Reject" in html and "Receive and inspect" not in html
    response = client.post(f"/dashboard/returns/{first.pk}/authorize/", follow=True)
    assert response.redirect_chain[-1][0] == f"/dashboard/returns/{first.pk}/"
    assert any("authorized" in t for t in texts(response))
    first.refresh_from_db()
    assert first.status == ReturnRequest.Status.AUTHORIZED
    response = client.post(f"/dashboard/returns/{second.pk}/reject/", {"reason": "  "}, follow=True)
    assert any("say why the return is rejected" in t for t in texts(response))
    second.refresh_from_db()
    assert second.status == ReturnRequest.Status.REQUESTED
    client.post(f"/dashboard/returns/{second.pk}/reject/", {"reason": "Worn: not in a resellable state"})
    second.refresh_from_db()
    assert (second.status, second.review_reason) == ("rejected", "Worn: not in a resellable state")
    # A move the state no longer allows is a message, not an error page.
    response = client.post(f"/dashboard/returns/{second.pk}/authorize/", follow=True)
    assert response.status_code == 200 and any("cannot become authorized" in t for t in texts(response))


def test_warehouse_receives_at_its_location_and_may_not_refund(role_client, delivered, warehouse):
    ret = ask(delivered)
    elsewhere = role_client("warehouse", locations=[WarehouseFactory(code="STORE-9")])
    assert elsewhere.get("/dashboard/returns/").status_code == 200
    assert ret.number not in elsewhere.get("/dashboard/returns/").content.decode()
    assert elsewhere.get(f"/dashboard/returns/{ret.pk}/").status_code == 404
    assert elsewhere.post(f"/dashboard/returns/{ret.pk}/receive/", receive_form(ret)).status_code == 404

    client = role_client("warehouse", locations=[warehouse])
    html = page_queries(client, f"/dashboard/returns/{ret.pk}/")[1].content.decode()
    assert "Receive and inspect" in html and "Refund to" not in html
    assert f"/dashboard/returns/{ret.pk}/authorize/" not in html
    # Damaged goods cannot be restocked: the service refuses, the page says why.
    response = client.post(
        f"/dashboard/returns/{ret.pk}/receive/", receive_form(ret, condition="damaged"), follow=True
    )
    assert any("cannot be restocked" in t for t in texts(response))
    response = client.post(f"/dashboard/returns/{ret.pk}/receive/", {"quantity_1": "x"}, follow=True)
    assert response.status_code == 200 and texts(response)
    response = client.post(f"/dashboard/returns/{ret.pk}/receive/", receive_form(ret), follow=True)
    assert any("received and inspected" in t for t in texts(response))
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.RECEIVED
    assert [(ln.quantity_received, ln.condition, ln.disposition) for ln in ret.lines.all()] == [
        (1, "new", "restock")
    ]
    assert client.post(f"/dashboard/returns/{ret.pk}/refund/").status_code == 403
    assert client.post(f"/dashboard/returns/{ret.pk}/cancel/").status_code == 403


def test_refund_with_preview_partial_and_bad_amounts(role_client, delivered, warehouse):
    ret = ask(delivered, quantity=2)
    role_client("warehouse", locations=[warehouse]).post(
        f"/dashboard/returns/{ret.pk}/receive/", receive_form(ret)
    )
    client = role_client("customer_service")
    html = page_queries(client, f"/dashboard/returns/{ret.pk}/")[1].content.decode()
    assert "Due to the customer" in html and "$50.00" in html  # 2 x 25.00, no fee, no tax
    for bad, problem in (("abc", "is not an amount"), ("60.00", "is more than"), ("0", "must be above zero")):
        response = client.post(f"/dashboard/returns/{ret.pk}/refund/", {"amount": bad}, follow=True)
        assert response.status_code == 200 and any(problem in t for t in texts(response)), bad
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.RECEIVED
    response = client.post(f"/dashboard/returns/{ret.pk}/refund/", {"amount": "45.00"}, follow=True)
    assert any("refunded" in t for t in texts(response))
    ret.refresh_from_db()
    assert (ret.status, ret.refund_total) == (ReturnRequest.Status.COMPLETED, D("45.00"))
    html = response.content.decode()
    assert "Refund to the original payment" not in html and "$45.00" in html


def test_cancel(role_client, delivered):
    ret = ask(delivered)
    client = role_client("customer_service")
    client.post(f"/dashboard/returns/{ret.pk}/cancel/", {"reason": "Customer kept it"})
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.CANCELLED
    assert ret.events.last().message == "Customer kept it"


def test_accounting_looks_but_cannot_act(role_client, delivered):
    ret = ask(delivered, review=True)
    client = role_client("accounting")
    assert (
        page_queries(client, f"/dashboard/returns/{ret.pk}/")[1].content.decode().count("<form") == 2
    )  # lang, logout
    for action in ("authorize", "reject", "cancel", "receive", "refund", "exchange"):
        assert client.post(f"/dashboard/returns/{ret.pk}/{action}/").status_code == 403, action
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.REQUESTED
    assert client.get(f"/dashboard/returns/{ret.pk}/authorize/").status_code == 405
    assert role_client().get("/dashboard/returns/").status_code == 403


def test_case_queue(role_client, delivered):
    ask(delivered, review=True)  # opens a review case
    case = CustomerCase.objects.get()
    client = role_client("customer_service")
    html = page_queries(client, "/dashboard/returns/cases/")[1].content.decode()
    assert case.subject in html
    response = client.post(
        f"/dashboard/returns/cases/{case.pk}/update/",
        {
            "status": "in_progress",
            "assigned_to": str(client.user.pk),
            "next": "/dashboard/returns/cases/?assigned=me",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/dashboard/returns/cases/?assigned=me"
    case.refresh_from_db()
    assert (case.status, case.assigned_to_id) == ("in_progress", client.user.pk)
    assert case.subject in response.content.decode()
    response = client.post(
        f"/dashboard/returns/cases/{case.pk}/update/", {"assigned_to": "999999"}, follow=True
    )
    assert any("no active staff user" in t for t in texts(response))
    response = client.post(f"/dashboard/returns/cases/{case.pk}/update/", {"status": "bogus"}, follow=True)
    assert any("is not a case status" in t for t in texts(response))
    client.post(f"/dashboard/returns/cases/{case.pk}/update/", {"status": "resolved"})
    assert case.subject not in page_queries(client, "/dashboard/returns/cases/")[1].content.decode()
    accounting = role_client("accounting")
    assert accounting.get("/dashboard/returns/cases/").status_code == 200
    assert (
        accounting.post(f"/dashboard/returns/cases/{case.pk}/update/", {"status": "open"}).status_code == 403
    )


def test_constant_queries(role_client, delivered, warehouse):
    first = ask(delivered, review=True)
    client = role_client("warehouse", locations=[warehouse])
    manager = role_client("manager")

    def grow():
        # More returns of every kind (copies: the order has only so many units to return).
        for status in ("requested", "authorized", "received", "completed"):
            copy = ReturnRequest.objects.create(
                order=first.order,
                channel=first.channel,
                customer=first.customer,
                status=status,
                source=first.source,
                location=first.location,
                return_shipping_paid_by=first.return_shipping_paid_by,
            )
            line = first.lines.first()
            ReturnLine.objects.create(
                request=copy, order_line=line.order_line, sku=line.sku, quantity=1, reason=R.OTHER
            )
            CustomerCase.objects.create(
                customer=first.customer, order=first.order, kind="other", subject="More"
            )

    assert_constant_queries(client, "/dashboard/returns/", grow)
    assert_constant_queries(manager, "/dashboard/returns/?queue=all", grow)
    assert_constant_queries(manager, "/dashboard/returns/cases/", grow)

    def grow_lines():
        line = first.lines.first()
        ReturnLine.objects.create(
            request=first, order_line=line.order_line, sku=line.sku, quantity=1, reason=R.OTHER
        )
        first.events.create(kind="note", actor_type="system", message="more history")

    assert_constant_queries(manager, f"/dashboard/returns/{first.pk}/", grow_lines)
