"""The database connection dropped while an order's transaction is open.

A real HTTP server (one thread, keeping its database connection between
requests as production does) places the order. The test pauses the order's
final transaction at a known point, after the order, lines and payment rows
are written: it holds a lock on the order-event table that the next insert
needs, waits until the server's session is seen blocked on it, and then
terminates that session from outside (pg_terminate_backend: what a database
restart, a failover or a cut network does to it)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import DatabaseError, connection, connections

from customers.models import Customer
from inventory.models import Reservation, StockLevel, StockMovement
from oms.errors import Conflict
from oms.models import OutboxEvent
from orders.models import IdempotencyKey, Order, OrderEvent, OrderLine, Payment
from orders.services.idempotency import idempotency_claim, idempotency_release
from tests.factories import order_payload

from .conftest import backends_waiting_on_a_lock, manage_reconcile, terminate_backend, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

KEY = "fault-db-drop-1"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class OneThreadServer:
    """Django behind a single-threaded WSGI server: every request runs on the
    same thread, with the same (persistent) database connection."""

    def __init__(self) -> None:
        self.httpd: WSGIServer = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_Quiet)
        self.httpd.timeout = 1
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.httpd.serve_forever(poll_interval=0.1)
        finally:
            connections.close_all()  # this thread's connection, before the test database is flushed

    def request(self, method: str, path: str, token: str, body: dict | None = None, key: str | None = None):
        """(status, headers, JSON body); never raises on an HTTP error status."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        port = self.httpd.server_address[1]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                return response.status, response.headers, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, json.loads(exc.read())

    def close(self) -> None:
        self.httpd.shutdown()
        self.thread.join(timeout=10)
        self.httpd.server_close()


@pytest.fixture
def server(transactional_db) -> Iterator[OneThreadServer]:
    running = OneThreadServer()
    try:
        yield running
    finally:
        running.close()


def snapshot() -> dict:
    return {
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "payments": Payment.objects.count(),
        "order events": OrderEvent.objects.count(),
        "outbox events": OutboxEvent.objects.count(),
        "customers": Customer.objects.count(),
        "stock": list(
            StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "allocated", "soft_reserved")
        ),
        "live holds": Reservation.objects.filter(status=Reservation.Status.ACTIVE).count(),
        "idempotency claims": IdempotencyKey.objects.count(),
    }


def drop_while_blocked(server, side, lock: str, token: str, payload: dict, key: str = KEY):
    """POST the order while `side` holds `lock`; once the server's session
    waits on it, terminate that session. Returns the client's answer."""
    side.execute(lock)
    with ThreadPoolExecutor(max_workers=1) as client:
        placing = client.submit(server.request, "POST", "/api/v1/orders/", token, payload, key)
        (pid,) = wait_until("the placement to block on the test's lock", backends_waiting_on_a_lock)
        terminate_backend(pid)
        side.rollback()
        return placing.result(timeout=30)


def assert_retryable(status: int, headers, body: dict) -> None:
    assert status == 503, body
    assert body["error"]["code"] == "database_unavailable"
    assert "retry" in body["error"]["message"].lower()
    assert int(headers["Retry-After"]) > 0


def test_a_connection_dropped_mid_placement_leaves_nothing_and_the_retry_places_once(
    server, side_connection, channel_and_key, sku
):
    token = channel_and_key[1]
    payload = order_payload(sku.code, 3, customer={"email": "grace@example.com", "first_name": "Grace"})
    # A first order on the thread: its connection is open and warm when the fault hits.
    status, _, body = server.request("POST", "/api/v1/orders/", token, order_payload(sku.code, 1), key="warm")
    assert status == 201, body
    before = snapshot()
    last_movement = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first()

    status, headers, body = drop_while_blocked(
        server, side_connection, "LOCK TABLE orders_orderevent IN SHARE MODE", token, payload
    )
    assert_retryable(status, headers, body)
    # Nothing of that order anywhere; the stock it held is back; its claim is gone.
    assert snapshot() == before
    assert not Order.objects.filter(email="grace@example.com").exists()
    # The ledger shows the hold taken before the fault and given back after it.
    since = StockMovement.objects.filter(pk__gt=last_movement).order_by("pk")
    assert [(m.kind, m.reserved_delta) for m in since] == [("reserve", 3), ("reservation_release", -3)]

    # The same server thread goes on: the client retries with the same key.
    status, _, placed = server.request("POST", "/api/v1/orders/", token, payload, key=KEY)
    assert status == 201, placed
    status, headers, replayed = server.request("POST", "/api/v1/orders/", token, payload, key=KEY)
    assert (status, headers["Idempotent-Replayed"], replayed["id"]) == (200, "true", placed["id"])
    status, _, shown = server.request("GET", f"/api/v1/orders/{placed['id']}/", token)
    assert (status, shown["status"]) == (200, "allocated")
    assert Order.objects.filter(email="grace@example.com").count() == 1
    level = StockLevel.objects.get(sku=sku)
    assert level.allocated == before["stock"][0][2] + 3
    assert level.soft_reserved == 0
    manage_reconcile()


def test_a_connection_dropped_outside_a_transaction_still_frees_the_key(
    server, side_connection, channel_and_key, sku
):
    """Dropped while the order is priced (autocommit reads, after the key was
    claimed): Django notices a dead connection only at the next request, so
    the claim's release must reconnect, or the retry would wait and get a 409."""
    token = channel_and_key[1]
    payload = order_payload(sku.code, 2, customer={"email": "alan@example.com", "first_name": "Alan"})
    status, _, body = server.request("POST", "/api/v1/orders/", token, order_payload(sku.code, 1), key="warm")
    assert status == 201, body
    before = snapshot()

    status, headers, body = drop_while_blocked(
        server, side_connection, "LOCK TABLE orders_pricelistentry IN ACCESS EXCLUSIVE MODE", token, payload
    )

    assert_retryable(status, headers, body)
    assert snapshot() == before  # the claim included
    status, _, placed = server.request("POST", "/api/v1/orders/", token, payload, key=KEY)
    assert status == 201, placed
    assert Order.objects.filter(email="alan@example.com").count() == 1
    manage_reconcile()


def test_a_claim_whose_owner_died_is_taken_over_at_once(channel, settings):
    """A request that could not clean up in time (its process killed, or its
    connection cut): the duplicate must not wait for the claim to go stale,
    and the late cleanup of the dead request must not delete the new claim."""
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.5
    owner: dict[str, int] = {}
    claimed, finish, cleaned_up = threading.Event(), threading.Event(), threading.Event()

    def own_the_key() -> None:
        try:
            assert idempotency_claim(channel=channel, key="k", fingerprint="f") is None
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                owner["pid"] = cursor.fetchone()[0]
            claimed.set()
            finish.wait(timeout=30)  # working on the order...
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # ...which fails: the connection is gone
            idempotency_release(channel=channel, key="k")  # cleaning up, late, on a new one
            cleaned_up.set()
        finally:
            connection.close()

    thread = threading.Thread(target=own_the_key)
    thread.start()
    try:
        assert claimed.wait(timeout=10)
        # While the owner lives, a duplicate waits, then hears "in progress".
        with pytest.raises(Conflict) as in_progress:
            idempotency_claim(channel=channel, key="k", fingerprint="f")
        assert in_progress.value.code == "idempotency_in_progress"

        terminate_backend(owner["pid"])  # the owner's session dies, its claim still there
        assert IdempotencyKey.objects.filter(channel=channel, key="k", order=None).exists()
        started = time.monotonic()
        assert idempotency_claim(channel=channel, key="k", fingerprint="f") is None
        assert time.monotonic() - started < settings.IDEMPOTENCY_WAIT_SECONDS
        claims = IdempotencyKey.objects.filter(channel=channel, key="k")
        (mine,) = claims.values_list("pk", flat=True)

        finish.set()
        assert cleaned_up.wait(timeout=10)
        assert list(claims.values_list("pk", flat=True)) == [mine]
        idempotency_release(channel=channel, key="k")
        assert not claims.exists()
    finally:
        finish.set()
        thread.join(timeout=10)
