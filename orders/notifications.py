"""Customer and staff e-mails about orders and carts, sent by the outbox."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Sum
from django.utils import timezone

from oms.mail import send_order_email, send_templated
from oms.outbox import handler

from .models import Cart, Order


def _sender(channel) -> str:
    return channel.sender_email or settings.DEFAULT_FROM_EMAIL


@handler("order.placed", name="email.order_confirmation")
def order_confirmation(event) -> None:
    order = (
        Order.objects.select_related("channel", "customer")
        .prefetch_related("lines__sku")
        .get(pk=event.payload["order_id"])
    )
    send_order_email(event=event, order=order, template="emails/order_confirmation")


@handler("order.cancelled", name="email.order_cancelled")
def order_cancelled(event) -> None:
    order = Order.objects.select_related("channel", "customer").get(pk=event.payload["order_id"])
    send_order_email(
        event=event,
        order=order,
        template="emails/order_cancelled",
        context={"reason": event.payload.get("reason", "")},
    )


@handler("cart.abandoned", name="email.cart_reminder")
def cart_reminder(event) -> None:
    cart = (
        Cart.objects.select_related("channel").prefetch_related("lines__sku").get(pk=event.payload["cart_id"])
    )
    if cart.reminder_sent_at or not cart.email:
        return
    send_templated(
        event=event,
        to=[cart.email],
        template="emails/cart_reminder",
        context={"cart": cart, "channel": cart.channel},
        from_email=_sender(cart.channel),
    )
    Cart.objects.filter(pk=cart.pk).update(reminder_sent_at=timezone.now())


def digest_recipients() -> list[str]:
    if settings.STAFF_DIGEST_EMAILS:
        return list(settings.STAFF_DIGEST_EMAILS)
    users = get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


@handler("staff.abandoned_cart_digest", name="email.abandoned_cart_digest")
def abandoned_cart_digest(event) -> None:
    recipients = digest_recipients()
    if not recipients:
        return
    carts = Cart.objects.filter(
        status=Cart.Status.ABANDONED,
        abandoned_at__gte=event.payload["since"],
        abandoned_at__lt=event.payload["until"],
    )
    by_channel = (
        carts.values("channel__code", "currency")
        .annotate(count=Count("id"), value=Sum("abandoned_value"))
        .order_by("channel__code", "currency")
    )
    top = carts.select_related("channel").order_by("-abandoned_value")[:20]
    send_templated(
        event=event,
        to=recipients,
        template="emails/abandoned_cart_digest",
        context={
            "by_channel": list(by_channel),
            "top": list(top),
            "since": event.payload["since"],
            "until": event.payload["until"],
            "total": carts.count(),
        },
    )


@handler("orders.late_digest", name="email.late_orders_digest")
def late_orders_digest(event) -> None:
    recipients = list(settings.WAREHOUSE_MANAGER_EMAILS or settings.STAFF_DIGEST_EMAILS)
    if not recipients:
        return
    rows = {row["order_id"]: row for row in event.payload["orders"]}
    orders = Order.objects.filter(pk__in=rows).select_related("channel").prefetch_related("lines__sku")
    late = [
        {"order": o, "old": rows[o.pk]["old"], "new": rows[o.pk]["new"]}
        for o in orders.order_by("-priority", "placed_at")
    ]
    send_templated(event=event, to=recipients, template="emails/late_orders_digest", context={"late": late})
