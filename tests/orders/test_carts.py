"""Carts through the API: lines hold stock at once, checkout turns the holds
into an allocation exactly once, and a declined checkout keeps the holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Reservation
from inventory.selectors import ledger_mismatches
from orders.models import Cart, CartLine, Order
from tests.factories import DECLINED, VISA, channel_with_key, create_cart, order_payload, stock_level

pytestmark = pytest.mark.django_db


def new_cart(api, *lines: tuple[str, int], email: str = "ada@example.com") -> dict:
    return create_cart(api, *lines, email=email)


def checkout_payload(card: dict = VISA) -> dict:
    order = order_payload("unused")
    return {
        "customer": order["customer"],
        "shipping_address": order["shipping_address"],
        "payment": {"gateway": "test", "card": dict(card)},
    }


def active_holds(cart: Cart) -> list[Reservation]:
    return list(
        Reservation.objects.filter(cart_line__cart=cart, status=Reservation.Status.ACTIVE).order_by("id")
    )


def test_cart_lines_hold_stock_until_the_cart_expires(api, channel, sku, warehouse):
    before = timezone.now()
    body = new_cart(api, (sku.code, 3))

    assert body["status"] == "open"
    assert body["channel"] == channel.code
    assert body["subtotal"] == "30.00"
    assert [(ln["sku"], ln["quantity"], ln["reserved"], ln["warehouse"]) for ln in body["lines"]] == [
        (sku.code, 3, True, warehouse.code)
    ]
    stock = stock_level(sku, warehouse)
    assert (stock.on_hand, stock.allocated, stock.soft_reserved, stock.available) == (100, 0, 3, 97)

    cart = Cart.objects.get(public_id=body["id"])
    ttl = timedelta(minutes=channel.cart_ttl_minutes)
    assert before + ttl <= cart.expires_at <= timezone.now() + ttl
    (hold,) = Reservation.objects.filter(sku=sku)
    assert (hold.status, hold.quantity, hold.warehouse_id) == ("active", 3, warehouse.pk)
    assert hold.expires_at == cart.expires_at
    assert CartLine.objects.get(cart=cart).reservation_id == hold.pk
    assert ledger_mismatches([sku.pk]) == []


def test_get_cart_shows_its_lines(api, sku):
    body = new_cart(api, (sku.code, 2))
    response = api.get(f"/api/v1/carts/{body['id']}/")
    assert response.status_code == 200
    assert response.json()["lines"][0]["quantity"] == 2
    assert api.get("/api/v1/carts/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_adding_to_an_existing_line_increments_it(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 3))["id"]
    response = api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": sku.code, "quantity": 2}, format="json")

    assert response.status_code == 200, response.json()
    assert [(ln["sku"], ln["quantity"]) for ln in response.json()["lines"]] == [(sku.code, 5)]
    assert stock_level(sku, warehouse).soft_reserved == 5
    cart = Cart.objects.get(public_id=cart_id)
    assert [r.quantity for r in active_holds(cart)] == [5]
    # The old hold was given up in the same step, not left behind.
    assert Reservation.objects.filter(sku=sku, status="released").count() == 1
    assert ledger_mismatches([sku.pk]) == []


def test_adding_a_new_sku_adds_a_line(api, channel, sku, warehouse):
    from tests.factories import sku_in_stock

    other = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5, price="2.50")
    cart_id = new_cart(api, (sku.code, 1))["id"]
    response = api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": other.code, "quantity": 4}, format="json")
    assert response.status_code == 200, response.json()
    assert {ln["sku"]: ln["quantity"] for ln in response.json()["lines"]} == {sku.code: 1, other.code: 4}
    assert response.json()["subtotal"] == "20.00"
    assert stock_level(other, warehouse).available == 1


def test_put_sets_the_quantity(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 3))["id"]
    up = api.put(f"/api/v1/carts/{cart_id}/lines/{sku.code}/", {"quantity": 7}, format="json")
    assert up.status_code == 200, up.json()
    assert up.json()["lines"][0]["quantity"] == 7
    assert stock_level(sku, warehouse).soft_reserved == 7

    down = api.put(f"/api/v1/carts/{cart_id}/lines/{sku.code}/", {"quantity": 2}, format="json")
    assert down.json()["lines"][0]["quantity"] == 2
    assert stock_level(sku, warehouse).soft_reserved == 2
    assert [r.quantity for r in active_holds(Cart.objects.get(public_id=cart_id))] == [2]
    assert ledger_mismatches([sku.pk]) == []


@pytest.mark.parametrize("method", ["put_zero", "delete"])
def test_removing_a_line_releases_its_hold(api, sku, warehouse, method):
    cart_id = new_cart(api, (sku.code, 3))["id"]
    hold = Reservation.objects.get(sku=sku)
    url = f"/api/v1/carts/{cart_id}/lines/{sku.code}/"
    response = api.put(url, {"quantity": 0}, format="json") if method == "put_zero" else api.delete(url)

    assert response.status_code == 200, response.json()
    assert response.json()["lines"] == []
    assert not CartLine.objects.exists()
    hold.refresh_from_db()
    assert hold.status == "released"
    stock = stock_level(sku, warehouse)
    assert (stock.soft_reserved, stock.available) == (0, 100)
    assert ledger_mismatches([sku.pk]) == []
    # Nothing left to remove.
    assert api.delete(url).status_code == 404


def test_unknown_sku_is_a_field_error(api, sku, warehouse):
    on_create = api.post("/api/v1/carts/", {"lines": [{"sku": "NOPE", "quantity": 1}]}, format="json")
    assert on_create.status_code == 400
    assert on_create.json()["error"]["code"] == "unknown_sku"
    assert "lines[0].sku" in on_create.json()["error"]["fields"]
    assert not Cart.objects.exists()

    cart_id = new_cart(api, (sku.code, 1))["id"]
    on_add = api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": "NOPE", "quantity": 1}, format="json")
    assert on_add.status_code == 400
    assert on_add.json()["error"]["code"] == "unknown_sku"
    assert list(on_add.json()["error"]["fields"]) == ["sku"]
    assert stock_level(sku, warehouse).soft_reserved == 1


def test_more_than_the_stock_is_refused_on_create(api, sku, warehouse):
    response = api.post("/api/v1/carts/", {"lines": [{"sku": sku.code, "quantity": 101}]}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert list(error["fields"]) == ["lines[0].quantity"]
    assert not Cart.objects.exists()
    assert not Reservation.objects.exists()
    assert stock_level(sku, warehouse).soft_reserved == 0


def test_more_than_the_stock_is_refused_on_add_and_nothing_changes(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 3))["id"]
    cart = Cart.objects.get(public_id=cart_id)
    hold = Reservation.objects.get(sku=sku)

    add = api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": sku.code, "quantity": 98}, format="json")
    put = api.put(f"/api/v1/carts/{cart_id}/lines/{sku.code}/", {"quantity": 101}, format="json")

    for response in (add, put):
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "insufficient_stock"
        # The cart's own 3 count as available to it: 3 held + 97 free.
        assert error["fields"] == {"quantity": ["only 100 available"]}
    assert CartLine.objects.get(cart=cart).quantity == 3
    assert active_holds(cart) == [hold]
    refreshed = Cart.objects.get(pk=cart.pk)
    assert refreshed.expires_at == cart.expires_at
    stock = stock_level(sku, warehouse)
    assert (stock.soft_reserved, stock.allocated) == (3, 0)
    assert ledger_mismatches([sku.pk]) == []


def test_expired_cart_is_gone_for_add_and_checkout(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 2))["id"]
    Cart.objects.filter(public_id=cart_id).update(expires_at=timezone.now() - timedelta(seconds=1))

    add = api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": sku.code, "quantity": 1}, format="json")
    assert add.status_code == 410
    assert add.json()["error"]["code"] == "cart_expired"
    checkout = api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(), format="json")
    assert checkout.status_code == 410
    assert checkout.json()["error"]["code"] == "cart_expired"

    assert not Order.objects.exists()
    assert CartLine.objects.get().quantity == 2
    assert stock_level(sku, warehouse).allocated == 0


def test_another_channels_cart_is_not_found(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 2))["id"]
    _, other_key = channel_with_key()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    base = f"/api/v1/carts/{cart_id}"

    assert other.get(f"{base}/").status_code == 404
    assert other.post(f"{base}/lines/", {"sku": sku.code, "quantity": 1}, format="json").status_code == 404
    assert other.put(f"{base}/lines/{sku.code}/", {"quantity": 9}, format="json").status_code == 404
    assert other.delete(f"{base}/lines/{sku.code}/").status_code == 404
    assert other.post(f"{base}/checkout/", checkout_payload(), format="json").status_code == 404

    assert CartLine.objects.get().quantity == 2
    assert not Order.objects.exists()
    assert stock_level(sku, warehouse).soft_reserved == 2


def test_staff_cannot_create_a_cart(staff_api, sku):
    response = staff_api.post("/api/v1/carts/", {"lines": [{"sku": sku.code, "quantity": 1}]}, format="json")
    assert response.status_code == 403
    assert not Cart.objects.exists()
    assert not Reservation.objects.exists()


def test_checkout_turns_the_holds_into_an_allocation(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 3))["id"]
    response = api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["source"] == "cart"
    assert body["status"] == "allocated"
    assert [(ln["sku"], ln["quantity"], ln["quantity_allocated"]) for ln in body["lines"]] == [
        (sku.code, 3, 3)
    ]
    assert body["grand_total"] == "35.00"
    stock = stock_level(sku, warehouse)
    assert (stock.on_hand, stock.allocated, stock.soft_reserved) == (100, 3, 0)
    assert not Reservation.objects.filter(status="active").exists()

    cart = Cart.objects.get(public_id=cart_id)
    assert cart.status == "checked_out"
    assert cart.order_id == body["id"]
    shown = api.get(f"/api/v1/carts/{cart_id}/").json()
    assert (shown["status"], shown["order_id"]) == ("checked_out", body["id"])
    assert ledger_mismatches([sku.pk]) == []


def test_checkout_twice_returns_the_same_order(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 3))["id"]
    first = api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(), format="json")
    again = api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(), format="json")

    assert first.status_code == 201, first.json()
    assert again.status_code == 200, again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    assert stock_level(sku, warehouse).allocated == 3


def test_a_checked_out_cart_cannot_change(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 3))["id"]
    api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(), format="json")
    response = api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": sku.code, "quantity": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cart_closed"
    assert stock_level(sku, warehouse).allocated == 3


def test_declined_checkout_keeps_the_cart_and_its_stock(api, sku, warehouse):
    cart_id = new_cart(api, (sku.code, 3))["id"]
    declined = api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(DECLINED), format="json")

    assert declined.status_code == 402
    assert declined.json()["error"]["code"] == "payment_declined"
    assert not Order.objects.exists()
    cart = Cart.objects.get(public_id=cart_id)
    assert cart.status == "open"
    stock = stock_level(sku, warehouse)
    assert (stock.soft_reserved, stock.allocated) == (3, 0)
    (line,) = cart.lines.select_related("reservation")
    assert (line.reservation.status, line.reservation.quantity) == ("active", 3)
    # The hold now lives as long as the cart, not as long as a payment attempt.
    assert line.reservation.expires_at == cart.expires_at
    assert line.reservation.reference == f"cart:{cart_id}"
    assert api.get(f"/api/v1/carts/{cart_id}/").json()["lines"][0]["reserved"] is True
    assert ledger_mismatches([sku.pk]) == []

    good = api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(), format="json")
    assert good.status_code == 201, good.json()
    assert good.json()["source"] == "cart"
    stock = stock_level(sku, warehouse)
    assert (stock.soft_reserved, stock.allocated) == (0, 3)
    assert Cart.objects.get(pk=cart.pk).status == "checked_out"
    assert ledger_mismatches([sku.pk]) == []


def test_empty_cart_cannot_check_out(api, sku):
    cart_id = new_cart(api)["id"]
    response = api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(), format="json")
    assert response.status_code == 400
    assert "lines" in response.json()["error"]["fields"]
    assert not Order.objects.exists()


def test_expired_cart_stays_gone_after_the_expiry_task_ran(api, sku):
    from orders.tasks import expire_reservations_and_carts

    cart_id = new_cart(api, (sku.code, 2))["id"]
    Cart.objects.filter(public_id=cart_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_reservations_and_carts()
    assert Cart.objects.get(public_id=cart_id).status == "abandoned"

    add = api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": sku.code, "quantity": 1}, format="json")
    checkout = api.post(f"/api/v1/carts/{cart_id}/checkout/", checkout_payload(), format="json")
    assert (add.status_code, add.json()["error"]["code"]) == (410, "cart_expired")
    assert (checkout.status_code, checkout.json()["error"]["code"]) == (410, "cart_expired")
