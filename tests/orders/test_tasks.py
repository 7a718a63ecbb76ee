"""The periodic cart and reservation tasks, called directly (no broker): they
abandon expired carts, give their stock back, free stray holds, and queue the
reminder and digest e-mails through the outbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from inventory.models import Reservation
from inventory.selectors import ledger_mismatches
from inventory.services import stock_reserve
from oms.models import OutboxEvent
from oms.outbox import dispatch_pending
from orders.models import Cart
from orders.tasks import expire_reservations_and_carts, send_abandoned_cart_digest
from tests.factories import create_cart, sku_in_stock, stock_level

pytestmark = pytest.mark.django_db


def new_cart(api, *lines: tuple[str, int], email: str = "ada@example.com") -> Cart:
    return Cart.objects.get(public_id=create_cart(api, *lines, email=email)["id"])


def expire(cart: Cart, ago: timedelta = timedelta(minutes=1)) -> None:
    Cart.objects.filter(pk=cart.pk).update(expires_at=timezone.now() - ago)


@pytest.fixture
def sku2(channel, warehouse):
    return sku_in_stock(channel=channel, warehouse=warehouse, quantity=10, price="7.50")


@pytest.fixture
def reminders(channel):
    channel.send_cart_reminders = True
    channel.save(update_fields=["send_cart_reminders"])
    return channel


def test_expired_cart_is_abandoned_with_its_value_and_its_stock_released(api, sku, sku2, warehouse):
    cart = new_cart(api, (sku.code, 3), (sku2.code, 2))
    live = new_cart(api, (sku.code, 1))
    expire(cart)
    assert (stock_level(sku, warehouse).soft_reserved, stock_level(sku2, warehouse).soft_reserved) == (4, 2)

    result = expire_reservations_and_carts()

    assert result["carts_abandoned"] == 1
    cart.refresh_from_db()
    assert cart.status == "abandoned"
    assert cart.abandoned_at is not None
    assert cart.abandoned_value == Decimal("45.00")  # 3 x 10.00 + 2 x 7.50
    assert not Reservation.objects.filter(cart_line__cart=cart, status="active").exists()
    assert (stock_level(sku, warehouse).soft_reserved, stock_level(sku2, warehouse).soft_reserved) == (1, 0)
    assert stock_level(sku2, warehouse).available == 10
    # A cart that has not expired keeps its hold.
    live.refresh_from_db()
    assert live.status == "open"
    assert Reservation.objects.get(cart_line__cart=live).status == "active"
    # The channel does not send reminders.
    assert not OutboxEvent.objects.filter(topic="cart.abandoned").exists()
    assert ledger_mismatches() == []


def test_running_the_expiry_twice_changes_nothing_more(api, sku, warehouse):
    cart = new_cart(api, (sku.code, 3))
    expire(cart)
    expire_reservations_and_carts()
    abandoned_at = Cart.objects.get(pk=cart.pk).abandoned_at

    assert expire_reservations_and_carts() == {"carts_abandoned": 0, "reservations_expired": 0}
    assert Cart.objects.get(pk=cart.pk).abandoned_at == abandoned_at
    assert stock_level(sku, warehouse).soft_reserved == 0
    assert ledger_mismatches() == []


def test_abandoned_cart_reminder_is_emailed_once(api, reminders, sku, warehouse):
    cart = new_cart(api, (sku.code, 2), email="Ada@Example.com")
    expire(cart)
    expire_reservations_and_carts()

    (event,) = OutboxEvent.objects.filter(topic="cart.abandoned")
    assert event.payload == {"cart_id": cart.pk}
    assert mail.outbox == []  # nothing is sent before the outbox is delivered

    assert dispatch_pending() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert reminders.name in message.subject
    assert f"2 x {sku.name}" in message.body
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.done_handlers == ["email.cart_reminder"]
    assert Cart.objects.get(pk=cart.pk).reminder_sent_at is not None

    assert dispatch_pending() == 0
    assert len(mail.outbox) == 1


def test_redelivered_reminder_is_not_sent_twice(api, reminders, sku):
    cart = new_cart(api, (sku.code, 2))
    expire(cart)
    expire_reservations_and_carts()
    dispatch_pending()
    # At least once: the same event delivered again (e.g. the worker died before
    # recording success) must not e-mail the customer a second time.
    OutboxEvent.objects.filter(topic="cart.abandoned").update(dispatched_at=None, done_handlers=[])

    assert dispatch_pending() == 1
    assert len(mail.outbox) == 1


def test_no_reminder_without_an_email_address(api, reminders, sku):
    cart = new_cart(api, (sku.code, 2), email="")
    expire(cart)
    expire_reservations_and_carts()
    assert Cart.objects.get(pk=cart.pk).status == "abandoned"
    assert not OutboxEvent.objects.filter(topic="cart.abandoned").exists()


def test_stray_expired_reservation_is_released(sku, warehouse):
    # A placement that died between holding stock and recording the order.
    (dead,) = stock_reserve(
        warehouse_id=warehouse.pk,
        quantities={sku.pk: 4},
        expires_at=timezone.now() - timedelta(seconds=5),
        reference="placing:dead",
    )
    (alive,) = stock_reserve(
        warehouse_id=warehouse.pk,
        quantities={sku.pk: 1},
        expires_at=timezone.now() + timedelta(minutes=2),
        reference="placing:alive",
    )
    assert stock_level(sku, warehouse).soft_reserved == 5

    result = expire_reservations_and_carts()

    assert result == {"carts_abandoned": 0, "reservations_expired": 1}
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, alive.status) == ("expired", "active")
    assert dead.closed_at is not None
    stock = stock_level(sku, warehouse)
    assert (stock.soft_reserved, stock.available) == (1, 99)
    assert ledger_mismatches() == []


def test_abandoned_cart_digest_emails_staff_the_count_and_value(api, settings, channel, sku, sku2):
    settings.STAFF_DIGEST_EMAILS = ["ops@example.com", "cs@example.com"]
    first = new_cart(api, (sku.code, 3))  # 30.00
    second = new_cart(api, (sku2.code, 2), email="")  # 15.00
    old = new_cart(api, (sku.code, 1))
    for cart in (first, second, old):
        expire(cart)
    expire_reservations_and_carts()
    # Abandoned two days ago: outside the 24 h window.
    Cart.objects.filter(pk=old.pk).update(abandoned_at=timezone.now() - timedelta(days=2))

    send_abandoned_cart_digest()

    (event,) = OutboxEvent.objects.filter(topic="staff.abandoned_cart_digest")
    assert set(event.payload) == {"since", "until"}
    assert mail.outbox == []
    assert dispatch_pending() == 1
    (message,) = mail.outbox
    assert message.to == ["ops@example.com", "cs@example.com"]
    assert message.subject.startswith("Abandoned carts: 2 since ")
    assert f"{channel.code}: 2 carts, 45.00" in message.body
    assert "USD" in message.body


def test_digest_without_recipients_sends_nothing(settings, db):
    settings.STAFF_DIGEST_EMAILS = []
    send_abandoned_cart_digest()
    assert dispatch_pending() == 1  # delivered: nothing to do
    assert mail.outbox == []


def test_amounts_in_cart_emails_use_the_currencys_minor_units(api, settings, reminders, sku, sku2):
    settings.STAFF_DIGEST_EMAILS = ["ops@example.com"]
    cart = new_cart(api, (sku.code, 3), (sku2.code, 2))
    expire(cart)
    expire_reservations_and_carts()
    send_abandoned_cart_digest()
    dispatch_pending()

    reminder, digest = sorted(mail.outbox, key=lambda m: m.to != ["ada@example.com"])
    assert f"3 x {sku.name}  10.00 USD\n" in reminder.body
    assert f"2 x {sku2.name}  7.50 USD\n" in reminder.body
    assert ": 1 carts, 45.00 USD\n" in digest.body
