from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from oms.roles import MANAGER
from tests.factories import WarehouseFactory, channel_with_key, sku_in_stock, staff_user


@pytest.fixture(autouse=True)
def _no_broker(settings):
    # The outbox only wakes the dispatcher through the broker outside tests;
    # tests that need a real worker start one themselves.
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture(autouse=True)
def _chart_of_accounts(request):
    """Transactional tests run on a database an earlier one may have flushed,
    which empties the chart of accounts the migration seeded: put it back."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        from accounting.chart import default_chart_create

        default_chart_create()


@pytest.fixture
def channel_and_key(db):
    return channel_with_key()


@pytest.fixture
def channel(channel_and_key):
    return channel_and_key[0]


@pytest.fixture
def api(channel_and_key) -> APIClient:
    """An API client authenticated as the channel."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {channel_and_key[1]}")
    return client


@pytest.fixture
def staff_api(db) -> APIClient:
    """An API client authenticated as a staff user in the manager role (every area)."""
    user = staff_user("staff", MANAGER)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="DC-NJ")


@pytest.fixture
def sku(channel, warehouse):
    return sku_in_stock(channel=channel, warehouse=warehouse, quantity=100, price="10.00")


class SMTPServer:
    """A real SMTP server (aiosmtpd) on a fixed loopback port. `messages` holds
    what it received: (envelope sender, recipients, parsed message). stop()
    and start() take it down and bring it back on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list = []
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        import email
        from email import policy

        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        # A controller's event loop cannot be restarted: a new one each time.
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server(settings):
    """A running SMTPServer with Django's SMTP backend pointed at it."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = SMTPServer(port)
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.stop()
