"""A locking read that joins tables must name the table it locks.

`select_for_update()` with `select_related(...)` locks every joined row: a
cart write also locked its channel's row, so it waited on every order being
committed in that channel (the commit's foreign-key check takes a share lock
on the channel) while holding the cart, and the order's commit waited on the
cart write's stock rows: the 10-minute soak (bench/soak.py) hit that
deadlock twice. Every locking statement of these flows must say FOR UPDATE OF.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Cart
from orders.tasks import expire_reservations_and_carts
from tests.factories import create_cart, order_payload, sku_in_stock
from tests.orders.test_carts import checkout_payload
from tests.returns.test_services import R, ask, delivered  # noqa: F401

pytestmark = pytest.mark.django_db

LOCKING = re.compile(r"\bFOR (NO KEY )?UPDATE\b")


def locks_joined_rows(sql: str) -> bool:
    return bool(LOCKING.search(sql)) and " JOIN " in sql and not re.search(r"\bUPDATE OF\b", sql)


def assert_locks_only_their_table(ctx: CaptureQueriesContext) -> None:
    offenders = [q["sql"] for q in ctx.captured_queries if locks_joined_rows(q["sql"])]
    assert not offenders, offenders
    assert any(LOCKING.search(q["sql"]) for q in ctx.captured_queries), "the flow takes row locks"


def test_cart_writes_lock_only_the_cart(api, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    with CaptureQueriesContext(connection) as ctx:
        cart = create_cart(api, (sku.code, 1))
        url = f"/api/v1/carts/{cart['id']}/"
        assert api.post(f"{url}lines/", {"sku": sku.code, "quantity": 1}, format="json").status_code == 200
        response = api.post(f"{url}checkout/", checkout_payload(), format="json")
        assert response.status_code == 201, response.json()
    assert_locks_only_their_table(ctx)


def test_cart_expiry_locks_only_the_cart(api, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    create_cart(api, (sku.code, 1))
    Cart.objects.update(expires_at=timezone.now())
    with CaptureQueriesContext(connection) as ctx:
        expire_reservations_and_carts()
    assert Cart.objects.get().status == Cart.Status.ABANDONED
    assert_locks_only_their_table(ctx)


def test_a_return_request_locks_only_the_order(delivered):  # noqa: F811
    order, mug, _lamp = delivered
    with CaptureQueriesContext(connection) as ctx:
        ask(order, (mug, 1, R.NO_LONGER_NEEDED))
    assert_locks_only_their_table(ctx)


ORDER_LOCK = re.compile(r'FROM "orders_order".*\bFOR (NO KEY )?UPDATE\b', re.S)


def test_order_writes_lock_the_order_without_its_key(api, channel, warehouse):
    """FOR NO KEY UPDATE on orders: FOR UPDATE would also block every insert of
    a row referencing the order (its foreign-key check takes KEY SHARE)
    from other transactions, events and shipments included."""
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    with CaptureQueriesContext(connection) as ctx:
        response = api.post("/api/v1/orders/", order_payload(sku.code, 2), format="json")
        assert response.status_code == 201, response.json()
        url = f"/api/v1/orders/{response.json()['id']}/cancel/"
        cancel = api.post(url, {"reason": "test"}, format="json")
        assert cancel.status_code == 200, cancel.json()
    locks = [m.group(0) for q in ctx.captured_queries if (m := ORDER_LOCK.search(q["sql"]))]
    assert locks, "cancelling locks the order"
    assert all("FOR NO KEY UPDATE" in lock for lock in locks), locks
