"""E-mail goes out through Django's SMTP backend to a real SMTP server on
loopback: the warehouse digests arrive whole (text and HTML, the outbox's
Message-ID), and an unreachable server loses nothing: the outbox retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.alerts import stock_alerts_digest, stock_alerts_refresh
from inventory.models import ReorderRule, Supplier, SupplierSKU
from inventory.replenishment import reorder_check
from inventory.services import stock_receive
from oms.models import OutboxEvent
from oms.outbox import dispatch_pending
from tests.factories import SKUFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_position(settings):
    """One SKU at or below its reorder point, with a preferred supplier."""
    settings.WAREHOUSE_MANAGER_EMAILS = ["wm@example.com", "ops@example.com"]
    settings.DEFAULT_FROM_EMAIL = "oms@shop.example"
    warehouse = WarehouseFactory(code="DC-1")
    sku = SKUFactory(code="MUG-1", name="Stoneware mug")
    stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=3, reference="opening")
    ReorderRule.objects.create(sku=sku, warehouse=warehouse, reorder_point=10, order_up_to=40)
    supplier = Supplier.objects.create(code="SUP", name="Potters", currency="USD")
    SupplierSKU.objects.create(
        supplier=supplier, sku=sku, unit_cost="2.50", min_order_qty=12, pack_size=6, is_preferred=True
    )
    return warehouse, sku


def test_stock_alert_digest_arrives_over_smtp(smtp_server, short_position):
    smtp = smtp_server
    stock_alerts_refresh()
    assert stock_alerts_digest() == 1
    assert dispatch_pending() == 1

    ((sender, recipients, message),) = smtp.messages
    assert sender == "oms@shop.example"
    assert sorted(recipients) == ["ops@example.com", "wm@example.com"]
    assert message["Subject"] == "Stock alerts: 1 low stock"
    event = OutboxEvent.objects.get(topic="inventory.stock_alerts_digest")
    assert message["Message-ID"].startswith(f"<outbox-{event.pk}-")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "MUG-1 @ DC-1" in text and "at or below the reorder point of 10" in text
    assert "<td>MUG-1</td>" in html


def test_reorder_digest_arrives_over_smtp(smtp_server, short_position):
    smtp = smtp_server
    result = reorder_check()
    assert len(result.purchase_orders) == 1
    assert dispatch_pending() == 1
    ((_, recipients, message),) = smtp.messages
    assert "wm@example.com" in recipients
    text = message.get_body(preferencelist=("plain",)).get_content()
    # 40 - 3 = 37, raised to whole packs of 6: 42.
    assert "MUG-1" in text and "42" in text


def test_an_unreachable_smtp_server_loses_nothing(smtp_server, short_position):
    smtp = smtp_server
    smtp.stop()
    stock_alerts_refresh()
    stock_alerts_digest()

    assert dispatch_pending() == 0
    event = OutboxEvent.objects.get(topic="inventory.stock_alerts_digest")
    assert event.dispatched_at is None and event.failed_at is None
    assert event.attempts == 1
    assert "ConnectionRefusedError" in event.last_error or "Connection refused" in event.last_error
    assert event.available_at > timezone.now()  # backing off

    # The server is back and the backoff has passed: delivered once.
    smtp.start()
    OutboxEvent.objects.filter(pk=event.pk).update(available_at=timezone.now() - timedelta(seconds=1))
    assert dispatch_pending() == 1
    assert len(smtp.messages) == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None and event.last_error == ""
