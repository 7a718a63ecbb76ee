"""Races on real PostgreSQL: many requests at once, each on its own connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from inventory.models import StockLevel
from inventory.selectors import ledger_mismatches
from orders.models import Order
from tests.factories import WarehouseFactory, channel_with_key, order_payload, sku_in_stock

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def run_concurrently(n: int, request) -> list:
    """Call request(i) from n threads released at the same moment."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = request(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    assert not [r for r in results if isinstance(r, Exception)], results
    return results


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_sixty_placements_race_for_ten_units():
    channel, key = channel_with_key()
    warehouse = WarehouseFactory()
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)

    def place(i: int):
        payload = order_payload(sku.code, 1, customer={"email": f"racer{i}@example.com"})
        response = client_for(key).post("/api/v1/orders/", payload, format="json")
        return response.status_code, response.json()

    results = run_concurrently(60, place)
    statuses = Counter(code for code, _ in results)
    assert statuses == {201: 10, 409: 50}, statuses
    assert {body["error"]["code"] for code, body in results if code == 409} == {"insufficient_stock"}
    level = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    assert (level.on_hand, level.allocated, level.soft_reserved, level.available) == (10, 10, 0, 0)
    assert Order.objects.count() == 10
    assert ledger_mismatches() == []


def test_twenty_identical_requests_with_one_key_make_one_order():
    channel, key = channel_with_key()
    warehouse = WarehouseFactory()
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=50)
    payload = order_payload(sku.code, 2)

    def place(i: int):
        response = client_for(key).post(
            "/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
        )
        return response.status_code, response.json()

    results = run_concurrently(20, place)
    assert Counter(code for code, _ in results) == {201: 1, 200: 19}, [b for _, b in results]
    assert len({body["id"] for _, body in results}) == 1
    assert Order.objects.count() == 1
    level = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    assert (level.allocated, level.soft_reserved) == (2, 0)
    assert ledger_mismatches() == []


def test_concurrent_orders_across_two_skus_do_not_deadlock_or_oversell():
    """Opposite line orders (A,B) and (B,A) must not deadlock: levels lock in id order."""
    channel, key = channel_with_key()
    warehouse = WarehouseFactory()
    a = sku_in_stock(channel=channel, warehouse=warehouse, quantity=15)
    b = sku_in_stock(channel=channel, warehouse=warehouse, quantity=15)

    def place(i: int):
        first, second = (a, b) if i % 2 else (b, a)
        payload = order_payload(first.code, 1, customer={"email": f"x{i}@example.com"})
        payload["lines"].append({"sku": second.code, "quantity": 1})
        return client_for(key).post("/api/v1/orders/", payload, format="json").status_code

    statuses = Counter(run_concurrently(40, place))
    assert statuses == {201: 15, 409: 25}, statuses
    for sku in (a, b):
        level = StockLevel.objects.get(sku=sku, warehouse=warehouse)
        assert level.available == 0 and level.allocated == 15
    assert ledger_mismatches() == []
