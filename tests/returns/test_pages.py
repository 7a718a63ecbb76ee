"""The customer self-service pages: the public return policy, finding an
order by number and e-mail (one answer for every miss, rate limited), its
status with tracking, and starting a return inside the policy, refused
outside it, with nothing written on bad input. Only the looked-up order is
reachable."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fulfillment.carriers import TrackingUpdate
from fulfillment.shipping import shipment_ship
from fulfillment.tracking import tracking_apply
from inventory.models import Warehouse
from oms.actors import Actor
from orders.models import Order
from orders.payments import CardDetails
from orders.services.placement import CustomerInput, LineInput, OrderInput, PaymentInput, order_place
from returns.models import CustomerCase, ReturnLine, ReturnPolicy, ReturnRequest
from returns.services import ReturnLineInput, return_request
from returns.views import SESSION_KEY, SIGNING_SALT
from tests.factories import VISA, ChannelFactory, WarehouseFactory, sku_in_stock
from tests.fulfillment.conftest import boxes, carrier, materials, place_order, release_whole_order  # noqa: F401
from tests.fulfillment.shipping_world import STAFF, pack

pytestmark = pytest.mark.django_db
NO_MATCH = "We could not find an order with that number and e-mail address."


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    # The lookup counter lives in the shared cache (this run's own Redis db).
    cache.clear()


@pytest.fixture
def skus(channel, warehouse):
    book = sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=20,
        price="12.50",
        name="Field guide",
        length_mm=200,
        width_mm=150,
        height_mm=30,
        weight_grams=300,
    )
    mug = sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=20,
        price="7.99",
        name="Enamel mug",
        length_mm=100,
        width_mm=80,
        height_mm=40,
        weight_grams=200,
    )
    return book, mug


def ship(order, carrier):  # noqa: F811
    fo = release_whole_order(order, service_id=carrier.services.get(code="ground").pk)
    pack(fo)
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    fo.refresh_from_db()
    order.refresh_from_db()
    return fo


@pytest.fixture
def shipped(channel, skus, carrier, boxes, materials):  # noqa: F811
    """Ada's order of 2 books and 1 mug, handed to the carrier today."""
    book, mug = skus
    order = place_order(channel, [(book.code, 2), (mug.code, 1)])
    fo = ship(order, carrier)
    return order, fo


def look_up(client, order, email="ada@example.com", **extra):
    return client.post(reverse("returns:lookup"), {"order_number": order.number, "email": email}, **extra)


def line_of(order, sku):
    return order.lines.get(sku=sku)


def errors_of(response) -> list[str]:
    return re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)


# --- The public policy page ---------------------------------------------------------


def test_the_policy_page_shows_the_channels_rules_locations_and_steps(client, channel, warehouse, skus):
    book, _ = skus
    store = WarehouseFactory(
        code="ST-5AV",
        name="Fifth Avenue Store",
        kind=Warehouse.Kind.STORE,
        line1="700 5th Ave",
        city="New York",
        postal_code="10019",
    )
    policy = ReturnPolicy.objects.create(
        channel=channel,
        window_days=14,
        non_returnable_skus=[book.code],
        non_returnable_categories=["gift cards"],
        restocking_fee_pct=Decimal("15.00"),
        return_shipping_paid_by=ReturnPolicy.ShippingPaidBy.MERCHANT,
        refund_original_shipping=True,
        instructions="Keep the original tags on.",
    )
    policy.locations.add(store)

    response = client.get(reverse("returns:policy", args=[channel.code]))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"/returns/policy/{channel.code}/" == reverse("returns:policy", args=[channel.code])
    assert "within 14 days of delivery" in page
    assert f'Field guide <span class="muted">({book.code})</span>' in page
    assert "gift cards" in page
    assert "restocking fee of 15%" in page
    assert "We pay the return shipping." in page
    assert "we also refund the shipping you paid" in page
    assert "Fifth Avenue Store" in page and "700 5th Ave" in page and "10019 New York" in page
    assert warehouse.name not in page  # the policy names its return locations: only those
    assert "Keep the original tags on." in page
    assert "put a note with the return number inside" in page  # the standard steps
    assert f'href="{reverse("returns:lookup")}"' in page


def test_a_channel_without_its_own_policy_shows_the_defaults_and_an_unknown_one_is_404(
    client, channel, warehouse
):
    response = client.get(reverse("returns:policy", args=[channel.code]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "within 30 days of delivery" in page
    assert "Every item can be returned." in page
    assert "There is no restocking fee." in page
    assert "You pay the return shipping, unless" in page
    assert "any of our locations" in page and warehouse.name in page

    assert client.get("/returns/policy/NO-SUCH-CHANNEL/").status_code == 404
    ChannelFactory(code="OLD", is_active=False)
    assert client.get("/returns/policy/OLD/").status_code == 404


# --- Finding an order ---------------------------------------------------------------


def test_the_order_number_and_e_mail_open_the_order_page(client, shipped):
    order, _ = shipped
    assert client.get(reverse("returns:order")).url == reverse("returns:lookup")  # nothing looked up yet

    response = look_up(client, order, email="  ADA@Example.COM ")

    assert response.status_code == 302 and response.url == reverse("returns:order")
    page = client.get(response.url)
    assert page.status_code == 200
    assert f"Order {order.number}" in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0") and page["X-Robots-Tag"] == "noindex"


def test_a_wrong_e_mail_and_an_unknown_order_get_the_same_answer(client, shipped):
    order, _ = shipped
    wrong_email = look_up(client, order, email="eve@example.com")
    unknown = client.post(
        reverse("returns:lookup"), {"order_number": f"{order.pk + 1000:08d}", "email": "ada@example.com"}
    )

    for response in (wrong_email, unknown):
        assert response.status_code == 400
        assert NO_MATCH in response.content.decode()
        assert SESSION_KEY not in client.session
    assert errors_of(wrong_email) == errors_of(unknown)
    # Malformed input names its field instead.
    bad = client.post(reverse("returns:lookup"), {"order_number": "12ab", "email": "not-an-e-mail"})
    assert bad.status_code == 400
    page = bad.content.decode()
    assert "Enter the order number in digits only" in page and "Enter a valid email address." in page
    assert NO_MATCH not in page


def test_lookups_are_rate_limited_per_client_address(client, shipped):
    order, _ = shipped
    for _ in range(10):
        assert look_up(client, order, email="guess@example.com").status_code == 400

    blocked = look_up(client, order)  # even the right e-mail, once the tries are used up

    assert blocked.status_code == 429
    assert "Too many tries" in blocked.content.decode()
    assert SESSION_KEY not in client.session
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert look_up(other, order).status_code == 302


def test_every_form_needs_its_csrf_token(shipped):
    order, _ = shipped
    strict = Client(enforce_csrf_checks=True)
    assert look_up(strict, order).status_code == 403
    strict.get(reverse("returns:lookup"))
    token = strict.cookies["csrftoken"].value
    assert look_up(strict, order, HTTP_X_CSRFTOKEN=token).status_code == 302

    line = order.lines.first()
    refused = strict.post(
        reverse("returns:new"),
        {f"quantity_{line.pk}": 1, f"reason_{line.pk}": "size_fit", "resolution": "refund", "location": ""},
    )
    assert refused.status_code == 403
    assert not ReturnRequest.objects.exists()


# --- The order's status -------------------------------------------------------------


def test_the_status_page_shows_the_parcel_its_tracking_and_delivery(client, shipped, carrier):  # noqa: F811
    order, fo = shipped
    look_up(client, order)
    page = client.get(reverse("returns:order")).content.decode()
    assert "Shipped" in page and fo.number in page
    assert fo.tracking_number in page and "Acme" in page
    assert f"https://track.example.com/acme/{fo.tracking_number}" in page
    assert 'href="http://' in page and "/track/" in page  # our signed tracking page

    when = timezone.now() - timedelta(hours=2)
    tracking_apply(
        carrier=carrier,
        updates=[
            TrackingUpdate(
                event_id="evt-1",
                tracking_number=fo.tracking_number,
                status="delivered",
                description="Delivered",
                location="New York, NY",
                occurred_at=when,
                raw={},
            )
        ],
    )
    page = client.get(reverse("returns:order")).content.decode()
    assert "Delivered" in page
    order.refresh_from_db()
    assert f'datetime="{timezone.localdate(order.delivered_at).isoformat()}"' in page  # delivered on
    assert "Start a return" in page


def test_the_order_pages_speak_the_customers_language(client, shipped):
    order, _ = shipped
    order.customer.language = "el"
    order.customer.save(update_fields=["language"])
    look_up(client, order)
    assert '<html lang="el">' in client.get(reverse("returns:order")).content.decode()


# --- Starting a return --------------------------------------------------------------


def test_a_return_inside_the_policy_is_authorized_with_its_rma_and_instructions(
    client, shipped, skus, warehouse
):
    order, _ = shipped
    book, mug = skus
    look_up(client, order)
    form = client.get(reverse("returns:new"))
    assert form.status_code == 200
    book_line = line_of(order, book)
    assert f'name="quantity_{book_line.pk}"' in form.content.decode()

    response = client.post(
        reverse("returns:new"),
        {
            f"quantity_{book_line.pk}": "1",
            f"reason_{book_line.pk}": ReturnLine.Reason.SIZE_FIT,
            f"quantity_{line_of(order, mug).pk}": "0",
            "resolution": "refund",
            "location": "",
            "note": "Too small for my shelf.",
        },
    )

    rma = ReturnRequest.objects.get()
    assert response.status_code == 302 and response.url == reverse("returns:return", args=[rma.pk])
    assert (rma.status, rma.source, rma.resolution) == ("authorized", "customer", "refund")
    assert (rma.order_id, rma.location_id, rma.customer_note) == (
        order.pk,
        warehouse.pk,
        "Too small for my shelf.",
    )
    assert [(ln.sku_id, ln.quantity, ln.reason) for ln in rma.lines.all()] == [(book.pk, 1, "size_fit")]

    page = client.get(response.url).content.decode()
    assert rma.number in page and "Your return is authorized." in page
    assert warehouse.name in page and warehouse.city in page  # where to bring or send it
    assert "You pay the return shipping." in page
    assert "put a note with the return number inside" in page
    status_page = client.get(reverse("returns:order")).content.decode()
    assert rma.number in status_page and "Authorized: please send it back" in status_page


def test_a_return_for_a_damaged_item_goes_to_a_named_location_at_our_cost(client, shipped, skus, channel):
    order, _ = shipped
    _, mug = skus
    store = WarehouseFactory(code="ST-5AV", name="Fifth Avenue Store", kind=Warehouse.Kind.STORE)
    policy = ReturnPolicy.objects.create(channel=channel, instructions="Bring the receipt.")
    policy.locations.add(store)
    look_up(client, order)
    mug_line = line_of(order, mug)

    response = client.post(
        reverse("returns:new"),
        {
            f"quantity_{mug_line.pk}": "1",
            f"reason_{mug_line.pk}": ReturnLine.Reason.DAMAGED,
            "resolution": "exchange",
            "location": store.code,
        },
    )

    rma = ReturnRequest.objects.get()
    assert response.status_code == 302
    assert (rma.location_id, rma.resolution, rma.return_shipping_paid_by) == (
        store.pk,
        "exchange",
        "merchant",
    )
    page = client.get(response.url).content.decode()
    assert "Fifth Avenue Store" in page and "We pay the return shipping." in page
    assert "Bring the receipt." in page


def test_after_the_window_the_return_is_refused_with_the_reason_and_nothing_is_written(client, shipped, skus):
    order, _ = shipped
    book, _ = skus
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=40))
    look_up(client, order)
    book_line = line_of(order, book)

    response = client.post(
        reverse("returns:new"),
        {
            f"quantity_{book_line.pk}": "2",
            f"reason_{book_line.pk}": ReturnLine.Reason.NO_LONGER_NEEDED,
            "resolution": "refund",
            "location": "",
        },
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "We cannot accept this return." in page
    assert "outside the return policy" in page and "30-day return window ended on" in page
    assert f'name="quantity_{book_line.pk}"' in page and 'value="2"' in page  # the form again, as sent
    assert not ReturnRequest.objects.exists() and not CustomerCase.objects.exists()


def test_more_than_shipped_or_no_reason_is_a_field_error_and_nothing_is_written(client, shipped, skus):
    order, _ = shipped
    book, mug = skus
    look_up(client, order)
    book_line, mug_line = line_of(order, book), line_of(order, mug)

    response = client.post(
        reverse("returns:new"),
        {
            f"quantity_{book_line.pk}": "3",
            f"reason_{book_line.pk}": ReturnLine.Reason.DEFECTIVE,
            f"quantity_{mug_line.pk}": "1",
            f"reason_{mug_line.pk}": "",
            "resolution": "refund",
            "location": "",
        },
    )

    assert response.status_code == 400
    errors = errors_of(response)
    assert any("less than or equal to 2" in e for e in errors)
    assert any("Tell us why you return it." in e for e in errors)
    assert not ReturnRequest.objects.exists()

    nothing = client.post(reverse("returns:new"), {"resolution": "refund", "location": "NOWHERE"})
    assert nothing.status_code == 400
    assert "Choose at least one item to return." in nothing.content.decode()
    assert not ReturnRequest.objects.exists()


def test_units_already_in_a_return_cannot_be_returned_again(client, shipped, skus):
    order, _ = shipped
    book, _ = skus
    book_line = line_of(order, book)
    return_request(
        order_id=order.pk,
        lines=[ReturnLineInput(order_line_id=book_line.pk, quantity=2, reason=ReturnLine.Reason.DEFECTIVE)],
        actor=STAFF,
        source=ReturnRequest.Source.STAFF,
    )
    look_up(client, order)
    form = client.get(reverse("returns:new")).content.decode()
    assert f'name="quantity_{book_line.pk}"' not in form  # both books are in a return already

    response = client.post(
        reverse("returns:new"),
        {f"quantity_{book_line.pk}": "1", f"reason_{book_line.pk}": "defective", "resolution": "refund"},
    )
    assert response.status_code == 400
    assert ReturnRequest.objects.count() == 1


# --- Only the looked-up order ---------------------------------------------------------


def test_another_customers_order_is_out_of_reach(client, channel, shipped, skus, carrier):  # noqa: F811
    order, _ = shipped
    book, _ = skus
    theirs = order_place(
        data=OrderInput(
            channel=channel,
            actor=Actor.for_channel(channel),
            currency=channel.currency,
            customer=CustomerInput(email="bob@example.com", first_name="Bob"),
            shipping_address={"name": "Bob", "line1": "1 Main St", "city": "Boston", "country": "US"},
            lines=[LineInput(sku=book.code, quantity=1)],
            payment=PaymentInput(gateway="test", card=CardDetails(**VISA)),
        )
    ).order
    ship(theirs, carrier)
    their_line = theirs.lines.get()
    their_return = return_request(
        order_id=theirs.pk,
        lines=[ReturnLineInput(order_line_id=their_line.pk, quantity=1, reason=ReturnLine.Reason.DEFECTIVE)],
        actor=STAFF,
        source=ReturnRequest.Source.STAFF,
    )
    assert look_up(client, theirs).status_code == 400  # Ada's e-mail does not open Bob's order

    look_up(client, order)
    page = client.get(reverse("returns:order")).content.decode()
    assert f"Order {order.number}" in page and theirs.number not in page
    assert client.get(reverse("returns:return", args=[their_return.pk])).status_code == 404
    response = client.post(
        reverse("returns:new"),
        {f"quantity_{their_line.pk}": "1", f"reason_{their_line.pk}": "defective", "resolution": "refund"},
    )
    assert response.status_code == 400  # Bob's line is not on Ada's form: nothing chosen
    assert ReturnRequest.objects.filter(order=theirs).count() == 1
    assert not ReturnRequest.objects.filter(order=order).exists()

    # The session holds a signed id: a plain or re-signed id of another order opens nothing.
    for forged in (theirs.pk, str(theirs.pk), signing.dumps(theirs.pk, salt="another-salt")):
        session = client.session
        session[SESSION_KEY] = forged
        session.save()
        assert client.get(reverse("returns:order")).url == reverse("returns:lookup")
    session = client.session
    session[SESSION_KEY] = signing.dumps(theirs.pk, salt=SIGNING_SALT)  # only the server can make this
    session.save()
    assert theirs.number in client.get(reverse("returns:order")).content.decode()
