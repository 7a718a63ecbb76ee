"""A real Celery worker process on a real Redis broker and the test database:
the outbox is delivered and the expiry task runs outside the test process.

The worker gets its own Redis database (WORKER_REDIS_DB) so that it neither
takes nor leaves messages on the broker other runs use, and the e-mail file
backend writes into the test's tmp_path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from inventory.models import StockLevel
from oms.celery import app as celery_app
from oms.models import OutboxEvent
from oms.tasks import dispatch_outbox
from orders.models import Cart, Order
from orders.tasks import expire_reservations_and_carts
from tests.factories import order_payload

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WORKER_REDIS_DB = 9
STARTUP_SECONDS = 30
WAIT_SECONDS = 30


def dedicated_redis_url(url: str) -> str:
    """The configured Redis server, on database WORKER_REDIS_DB."""
    return urlsplit(url)._replace(path=f"/{WORKER_REDIS_DB}").geturl()


def worker_database_url() -> str:
    """The test database (not the configured one) as a DATABASE_URL."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


def _reset_producers() -> None:
    # The app caches its broker connection pool and result backend on first
    # use; drop them so the next send connects to the broker now configured.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


@pytest.fixture
def broker_url(monkeypatch) -> Iterator[str]:
    """A Redis database for this test's broker, empty before and after, and the
    test process's Celery app pointed at it (restored afterwards)."""
    url = dedicated_redis_url(django_settings.REDIS_URL)
    client = redis.Redis.from_url(url)
    client.flushdb()
    saved = {key: celery_app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    # Celery reads these from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", url)
    celery_app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    _reset_producers()
    yield url
    celery_app.conf.update(saved)
    _reset_producers()
    client.flushdb()
    client.close()


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path
    mail_dir: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def wait_for(self, what: str, check: Callable[[], object], timeout: float = WAIT_SECONDS) -> object:
        """Poll `check` until it returns something truthy (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            if self.process.poll() is not None:
                code = self.process.returncode
                pytest.fail(f"the worker exited ({code}) before {what}:\n{self.log_tail()}")
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout}s waiting for {what}; worker log:\n{self.log_tail()}")

    def mails(self) -> list[str]:
        return [p.read_text(errors="replace") for p in sorted(self.mail_dir.glob("*.log"))]


@pytest.fixture
def worker(transactional_db, broker_url, tmp_path) -> Iterator[Worker]:
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        "DEBUG": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "DJANGO_SETTINGS_MODULE": "oms.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_TEST_NAME", None)
    command = [
        sys.executable, "-m", "celery", "-A", "oms", "worker",
        "--pool", "solo", "--concurrency", "1", "-Q", "celery", "-l", "info",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        "-n", f"oms-test-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=django_settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = Worker(process=process, log=log, mail_dir=mail_dir)
    try:
        running.wait_for("the worker to start", lambda: " ready." in log.read_text(errors="replace"),
                         timeout=STARTUP_SECONDS)  # fmt: skip
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_worker_delivers_the_outbox_and_expires_carts(worker, api, settings, sku, warehouse):
    # The on-commit kick goes to the broker as in production.
    settings.CELERY_TASK_ALWAYS_EAGER = False

    placed = api.post("/api/v1/orders/", order_payload(sku.code, 2), format="json")
    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(pk=placed.json()["id"])
    event = OutboxEvent.objects.get(topic="order.placed", payload__order_id=order.pk)
    dispatch_outbox.delay()

    worker.wait_for(
        "the order.placed event to be dispatched",
        lambda: OutboxEvent.objects.filter(pk=event.pk, dispatched_at__isnull=False).exists(),
    )
    event.refresh_from_db()
    # The worker sends the confirmation and routes the order (no carrier is
    # configured here: it is routed on distance alone).
    assert sorted(event.done_handlers) == [
        "email.order_confirmation",
        "fulfillment.source",
        "webhooks.fan_out",
    ]
    assert order.fulfillment_orders.get().status == "released"
    assert order.sourcing_decisions.get().outcome == "sourced"
    assert event.last_error == ""
    (message,) = worker.wait_for(
        "the confirmation e-mail file", lambda: [m for m in worker.mails() if order.number in m]
    )
    assert "To: ada@example.com" in message
    assert f"order {order.number} confirmed" in message

    lines = [{"sku": sku.code, "quantity": 5}]
    cart = api.post("/api/v1/carts/", {"email": "ada@example.com", "lines": lines}, format="json")
    assert cart.status_code == 201, cart.json()
    assert StockLevel.objects.get(sku=sku, warehouse=warehouse).soft_reserved == 5
    Cart.objects.filter(public_id=cart.json()["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))

    expire_reservations_and_carts.apply_async()

    worker.wait_for(
        "the expired cart to be abandoned",
        lambda: Cart.objects.filter(public_id=cart.json()["id"], status="abandoned").exists(),
    )
    abandoned = Cart.objects.get(public_id=cart.json()["id"])
    assert abandoned.abandoned_value == 50
    stock = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    assert (stock.allocated, stock.soft_reserved) == (2, 0)
    # Done by the worker process, not in this one.
    log = worker.log.read_text(errors="replace")
    for task in ("oms.tasks.dispatch_outbox", "orders.tasks.expire_reservations_and_carts"):
        assert re.search(rf"Task {re.escape(task)}\[[^]]+\] succeeded", log), worker.log_tail()
