"""The dashboard's orders pages: the list (filters, search, live refresh), the
order detail (every section), the actions through the services (cancel,
hold, release, re-route) refused to roles that may not change orders, the
phone order form, and a constant number of queries however much data."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment.edits import order_edit
from fulfillment.holds import order_hold, order_release
from fulfillment.models import FulfillmentOrder, SourcingDecision
from fulfillment.shipping import shipment_ship
from fulfillment.sourcing.services import order_source
from oms.errors import InvalidTransition
from orders.models import Order, OrderEvent
from returns.models import ReturnLine, ReturnRequest
from returns.services import ReturnLineInput, return_request
from tests.dashboard.conftest import assert_constant_queries
from tests.factories import ChannelFactory, sku_in_stock
from tests.fulfillment.conftest import boxes, carrier, materials, place_order  # noqa: F401
from tests.fulfillment.shipping_world import STAFF, pack

pytestmark = pytest.mark.django_db
LIST = "/dashboard/orders/"
NEW = "/dashboard/orders/new/"


def detail(order: Order) -> str:
    return f"/dashboard/orders/{order.number}/"


@pytest.fixture
def skus(channel, warehouse):
    return [
        sku_in_stock(
            channel=channel, warehouse=warehouse, quantity=200, price=price, name=name, weight_grams=300
        )
        for name, price in (("Field guide", "12.50"), ("Enamel mug", "7.99"), ("Tote bag", "15.00"))
    ]


@pytest.fixture
def world(skus, carrier, boxes, materials):  # noqa: F811
    return skus


def routed(channel, lines, **address) -> Order:
    """An order placed through the placement service and routed by the sourcing engine."""
    order = place_order(channel, lines, **address)
    order_source(order_id=order.pk, actor=STAFF)
    order.refresh_from_db()
    return order


def ship(order: Order) -> FulfillmentOrder:
    fo = FulfillmentOrder.objects.filter(order=order).exclude(status="cancelled").order_by("id").first()
    pack(fo)
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    order.refresh_from_db()
    fo.refresh_from_db()
    return fo


# --- The list ----------------------------------------------------------------------------


def test_the_list_shows_orders_newest_first_with_their_columns(role_client, channel, world):
    book, mug, _ = world
    first = routed(channel, [(book.code, 1)])
    second = routed(channel, [(book.code, 2), (mug.code, 1)], name="Grace Hopper")
    page = role_client("customer_service").get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(second.number) < html.index(first.number)
    assert channel.code in html and "ada@example.com" in html
    assert f"${second.grand_total:,.2f}" in html  # the total in the currency, formatted in the locale
    assert 'hx-trigger="every 15s"' in html and "New phone or store order" in html


def test_filters_and_search(role_client, channel, world):
    book, mug, _ = world
    other = ChannelFactory(code="SHOP")
    vip = routed(channel, [(book.code, 1)], name="Grace Hopper")
    Order.objects.filter(pk=vip.pk).update(is_vip=True, external_id="SHOP-1001")
    plain = routed(channel, [(mug.code, 1)], name="Alan Turing")
    held = routed(channel, [(mug.code, 2)])
    order_hold(order_id=held.pk, actor=STAFF, reason="Address check")
    client = role_client("customer_service")

    def numbers(**params) -> set[str]:
        html = client.get(LIST, params).content.decode()
        return {o.number for o in (vip, plain, held) if f">{o.number}<" in html}

    assert numbers() == {vip.number, plain.number, held.number}
    assert numbers(status="on_hold") == {held.number}
    assert numbers(flag="vip") == {vip.number}
    assert numbers(flag="on_hold") == {held.number}
    assert numbers(channel=other.code) == set()
    assert numbers(channel=channel.code) == {vip.number, plain.number, held.number}
    assert numbers(shipment="pending") | numbers(shipment="released") == {vip.number, plain.number}
    today = timezone.localdate()
    assert len(numbers(placed_from=today.isoformat(), placed_to=today.isoformat())) == 3
    assert numbers(placed_from=(today + timedelta(days=1)).isoformat()) == set()
    # Search: number (full, without zeros, as a prefix), reference, e-mail, ship-to name.
    assert numbers(q=plain.number) == {plain.number}
    assert numbers(q=f"#{plain.pk}") == {plain.number}
    assert numbers(q=plain.number[:-1]) >= {plain.number}
    assert numbers(q="SHOP-1001") == {vip.number}
    assert numbers(q="ADA@example.com") == {vip.number, plain.number, held.number}
    assert numbers(q="nobody@example.com") == set()
    assert numbers(q="grace") == {vip.number}
    assert numbers(q="Alan T") == {plain.number}
    assert numbers(q="turing") == set()  # a prefix of the name, not any part of it


def test_bad_filters_are_shown_not_a_500(role_client, channel, world):
    routed(channel, [(world[0].code, 1)])
    client = role_client("customer_service")
    for params in (
        {"status": "nonsense"},
        {"placed_from": "not-a-date"},
        {"channel": "NO-SUCH-CHANNEL"},
        {"placed_from": "2026-12-10", "placed_to": "2026-12-01"},
        {"page": "abc"},
        {"q": "9" * 40},
    ):
        response = client.get(LIST, params)
        assert response.status_code == 200, params
    html = client.get(LIST, {"placed_from": "2026-12-10", "placed_to": "2026-12-01"}).content.decode()
    assert "The end is before the start." in html


def test_the_list_refreshes_as_a_fragment_keeping_the_filters(role_client, channel, world):
    order = routed(channel, [(world[0].code, 1)])
    client = role_client("warehouse")  # every role may see orders
    fragment = client.get(LIST, {"status": "allocated"}, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="orders-table"')
    assert "status=allocated" in fragment and order.number in fragment and "<html" not in fragment
    assert "New phone or store order" not in client.get(LIST).content.decode()  # no orders.change


def test_the_list_answers_in_constant_queries(role_client, channel, world):
    book, mug, tote = world
    routed(channel, [(book.code, 1)])
    client = role_client("customer_service")

    def grow():
        for n in range(4):
            routed(channel, [(book.code, 1), (mug.code, 1), (tote.code, n + 1)])

    # session, user, roles, the page of orders, the channels of the filter
    assert assert_constant_queries(client, LIST, grow) == 5
    assert_constant_queries(client, f"{LIST}?q=ada@example.com&status=allocated&flag=vip", grow)


# --- The detail ----------------------------------------------------------------------------


def test_the_detail_shows_every_section(role_client, channel, world):
    book, mug, _ = world
    order = routed(channel, [(book.code, 2), (mug.code, 1)])
    fo = ship(order)
    return_request(
        order_id=order.pk,
        lines=[
            ReturnLineInput(
                order_line_id=order.lines.get(sku=book).pk, quantity=1, reason=ReturnLine.Reason.DEFECTIVE
            )
        ],
        actor=STAFF,
        source=ReturnRequest.Source.STAFF,
    )
    rma = ReturnRequest.objects.get(order=order)
    html = role_client("customer_service").get(detail(order)).content.decode()
    for heading in (
        "Summary",
        "Addresses",
        "Lines",
        "Payments",
        "Documents to print",
        "Shipments",
        "Routing decision",
        "Returns",
        "Timeline",
    ):
        assert f">{heading}</h2>" in html, heading
    assert book.code in html and "Field guide" in html and "350 5th Ave" in html
    assert fo.tracking_number in html and f"https://track.example.com/acme/{fo.tracking_number}" in html
    assert "Capture" in html and "Authorization" in html  # payment operations
    decision = SourcingDecision.objects.filter(order=order).latest("id")
    assert decision.summary in html and "Candidates considered" in html
    assert rma.number in html
    assert reverse("fulfillment-receipt", args=[order.pk]) in html
    assert reverse("fulfillment-packing-slip", args=[fo.pk]) in html
    assert reverse("fulfillment-label-pdf", args=[fo.pk]) in html
    assert reverse("return-label", args=[rma.pk]) in html
    assert "shipped" in html and "Cancel order" not in html  # shipped: nothing to cancel or hold
    # Accounting sees the order, not the warehouse's documents nor the actions.
    seen = role_client("accounting").get(detail(order)).content.decode()
    assert reverse("fulfillment-receipt", args=[order.pk]) not in seen and "Re-route" not in seen


def test_the_staff_session_opens_the_documents(role_client, channel, world):
    order = routed(channel, [(world[0].code, 1)])
    client = role_client("customer_service")
    pdf = client.get(reverse("fulfillment-receipt", args=[order.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_unknown_order_is_404(role_client):
    client = role_client("customer_service")
    assert client.get("/dashboard/orders/99999999/").status_code == 404
    assert client.get("/dashboard/orders/" + "9" * 30 + "/").status_code == 404
    assert client.post("/dashboard/orders/99999999/cancel/", {"reason": "x"}).status_code == 404
    assert client.get("/dashboard/orders/ABC/").status_code == 404


def test_the_detail_answers_in_constant_queries(role_client, channel, world):
    book, mug, tote = world
    order = routed(channel, [(book.code, 1)])
    client = role_client("manager")

    def grow():
        # More lines, payments and events (an edit authorizes the extra amount and re-routes),
        # a hold and a release (events, routing runs), a shipment shipped (tracking, capture),
        # a return.
        order_edit(
            order_id=order.pk,
            actor=STAFF,
            reason="Customer called to add items",
            add_lines=[(mug.code, 2), (tote.code, 1)],
        )
        order_hold(order_id=order.pk, actor=STAFF, reason="Check the address")
        order_release(order_id=order.pk, actor=STAFF)
        ship(order)
        return_request(
            order_id=order.pk,
            lines=[
                ReturnLineInput(
                    order_line_id=order.lines.get(sku=book).pk, quantity=1, reason=ReturnLine.Reason.DEFECTIVE
                )
            ],
            actor=STAFF,
            source=ReturnRequest.Source.STAFF,
        )
        assert order.lines.count() == 3 and order.payments.count() == 2

    count = assert_constant_queries(client, detail(order), grow)
    # session, user, roles, the order; its lines, events, payments and their operations,
    # shipments, their lines and scans, routing runs, returns (and invoices when on account),
    # and for a manager the order's audit entries
    assert count == 14


# --- Actions -------------------------------------------------------------------------------


def test_cancel_through_the_page(role_client, channel, world):
    order = routed(channel, [(world[0].code, 1)])
    client = role_client("customer_service")
    assert "Cancel order" in client.get(detail(order)).content.decode()
    response = client.post(f"{detail(order)}cancel/", {"reason": "Customer changed their mind"}, follow=True)
    assert response.redirect_chain[-1][0] == detail(order)
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert OrderEvent.objects.filter(order=order, kind="cancelled", actor_user=client.user).exists()
    html = response.content.decode()
    assert "cancelled" in html and "Cancel order" not in html


def test_cancel_needs_a_reason(role_client, channel, world):
    order = routed(channel, [(world[0].code, 1)])
    client = role_client("customer_service")
    html = client.post(f"{detail(order)}cancel/", {"reason": "  "}, follow=True).content.decode()
    assert "Give a reason to cancel the order." in html
    order.refresh_from_db()
    assert order.status == "allocated"


def test_cancel_of_a_shipped_order_is_a_message_not_a_500(role_client, channel, world):
    order = routed(channel, [(world[0].code, 1)])
    ship(order)
    client = role_client("customer_service")
    response = client.post(f"{detail(order)}cancel/", {"reason": "Too late"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Order {order.number}: " in html and "only orders on hold, backordered or allocated" in html
    order.refresh_from_db()
    assert order.status == "shipped"


def test_hold_and_release_through_the_page(role_client, channel, world):
    order = routed(channel, [(world[0].code, 1)])
    fo = FulfillmentOrder.objects.get(order=order)
    client = role_client("customer_service")
    html = client.post(f"{detail(order)}hold/", {"reason": "Fraud check"}, follow=True).content.decode()
    order.refresh_from_db()
    fo.refresh_from_db()
    assert order.status == "on_hold" and order.hold_reason == "Fraud check"
    assert fo.status == "cancelled"  # the warehouse does not start on a held order
    assert order.lines.get().quantity_allocated == 1  # its stock stays set aside
    assert "Fraud check" in html and "Release hold and route" in html and "Re-route" not in html
    html = client.post(f"{detail(order)}release/", follow=True).content.decode()
    order.refresh_from_db()
    assert order.status == "allocated" and order.hold_reason == ""
    assert FulfillmentOrder.objects.filter(order=order, status__in=["pending", "released"]).count() == 1
    assert "released" in html
    # Releasing again: the order is not on hold; a message, not an error page.
    html = client.post(f"{detail(order)}release/", follow=True).content.decode()
    assert "is not on hold" in html


def test_hold_refused_once_fulfilling(channel, world):
    order = routed(channel, [(world[0].code, 1)])
    ship(order)
    with pytest.raises(InvalidTransition):
        order_hold(order_id=order.pk, actor=STAFF, reason="late")


def test_reroute_through_the_page(role_client, channel, world):
    order = routed(channel, [(world[0].code, 1)])
    before = SourcingDecision.objects.filter(order=order).count()
    client = role_client("manager")
    html = client.post(f"{detail(order)}reroute/", follow=True).content.decode()
    assert SourcingDecision.objects.filter(order=order).count() == before + 1
    assert "routed again" in html
    assert FulfillmentOrder.objects.filter(order=order).exclude(status="cancelled").count() == 1


def test_roles_that_may_not_change_orders_are_refused(role_client, channel, world, warehouse):
    order = routed(channel, [(world[0].code, 1)])
    accounting = role_client("accounting")
    assert accounting.get(detail(order)).status_code == 200
    assert accounting.get(NEW).status_code == 403
    for action in ("cancel", "hold", "release", "reroute"):
        assert accounting.post(f"{detail(order)}{action}/", {"reason": "x"}).status_code == 403
    floor = role_client("warehouse", locations=[warehouse])
    assert floor.post(f"{detail(order)}cancel/", {"reason": "x"}).status_code == 403
    assert "Cancel order" not in floor.get(detail(order)).content.decode()
    assert role_client().get(LIST).status_code == 403  # staff in no role
    order.refresh_from_db()
    assert order.status == "allocated"
    assert role_client("customer_service").get(f"{detail(order)}cancel/").status_code == 405


def test_anonymous_users_are_sent_to_the_login(client, channel, world):
    order = routed(channel, [(world[0].code, 1)])
    for url in (LIST, detail(order), NEW):
        response = client.get(url)
        assert response.status_code == 302 and "/dashboard/login/" in response["Location"]


# --- Phone / store order -------------------------------------------------------------------


def phone_form(channel, sku, **extra) -> dict:
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


def test_a_phone_order_is_placed_once_and_opens_its_page(role_client, channel, world):
    book = world[0]
    client = role_client("customer_service")
    assert 'name="token"' in client.get(NEW).content.decode()
    data = phone_form(channel, book)
    response = client.post(NEW, data)
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(order)
    assert (order.source, order.created_by, order.lines.get().quantity) == ("staff", client.user, 2)
    html = client.get(response["Location"]).content.decode()
    assert f"Order {order.number} placed" in html
    client.post(NEW, data)  # pressed twice
    assert Order.objects.count() == 1


def test_the_phone_order_check_and_errors(role_client, channel, world):
    book = world[0]
    client = role_client("customer_service")
    html = client.post(
        NEW, phone_form(channel, book, action="check", lines=f"{book.code} 500\nNOPE 1")
    ).content.decode()
    assert "Availability" in html and "short" in html and "unknown SKU" in html
    html = client.post(NEW, phone_form(channel, book, card_number="4242 4242 4242 4241")).content.decode()
    assert "card number is not valid" in html
    html = client.post(NEW, phone_form(channel, book, lines="two of them")).content.decode()
    assert "give a SKU code and a quantity" in html
    html = client.post(NEW, phone_form(channel, book, cvc="")).content.decode()
    assert "Required to pay by card." in html
    assert not Order.objects.exists()
    assert client.get(NEW, {"customer": "abc"}).status_code == 200


def test_the_new_order_page_runs_constant_queries(role_client, channel):
    client = role_client("customer_service")
    made = iter(range(100))

    def grow():
        for _ in range(3):
            ChannelFactory(code=f"GROW-{next(made)}")

    assert_constant_queries(client, NEW, grow)
