"""Customer e-mails after the parcel: delivered, the post-sale follow-up,
return status (authorized, rejected, received, completed) and refund issued.

Every customer e-mail goes through `oms.mail.send_order_email`: in the customer's
language (Customer.language, else LANGUAGE_CODE), from the channel's sender,
with the channel's branding (name, support address, return policy link).

Each e-mail goes out once per event. The outbox records a handler's success,
but a crash between sending and that record redelivers the event, so each
handler also records what it sent next to the business object (an order
event, a return event, FollowUp.sent_at) and skips what is recorded; the
Message-ID, derived from the outbox event, lets a mail server recognise the
copy should a crash fall between sending and recording.

The follow-up is claimed like dunning reminders (accounting.dunning): the
beat task inserts the order's FollowUp row (unique per order, INSERT ... ON
CONFLICT DO NOTHING, so a concurrent run waits for ours and then inserts
nothing) and an outbox event in the same transaction; the handler sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import FulfillmentOrder
from oms.mail import send_order_email
from oms.models import OutboxEvent
from oms.outbox import emit, handler
from orders.models import Order, OrderEvent

from .answers import answer_links
from .models import FollowUp, ReturnEvent, ReturnPolicy, ReturnRequest
from .services import REFUNDED_TOPIC, STATUS_TOPIC, delivered_on, return_policy_for

FOLLOW_UP_TOPIC = "returns.follow_up"
DELIVERED_SENT = "delivered_email_sent"
RETURN_EMAILED = "customer_emailed"
# Claims per transaction: a concurrent run waits on our uncommitted claims.
CLAIM_BATCH = 200
# A follow-up this many days past due is not sent at all (e.g. the feature
# switched on with years of delivered orders behind it, or beat stopped for
# weeks): a "how was it?" a month late reads as spam, not as care.
FOLLOW_UP_STALE_DAYS = 30

Status = ReturnRequest.Status
STATUS_TEMPLATES = {
    Status.AUTHORIZED: "emails/return_authorized",
    Status.REJECTED: "emails/return_rejected",
    Status.RECEIVED: "emails/return_received",
    Status.COMPLETED: "emails/return_completed",
}


# --- Shared ------------------------------------------------------------------------


def policy_url(channel) -> str:
    """The absolute link to the channel's public return policy page."""
    path = reverse("returns:policy", kwargs={"channel_code": channel.code})
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _order(order_id: int) -> Order:
    return Order.objects.select_related("channel", "customer").get(pk=order_id)


# --- Delivered -----------------------------------------------------------------------


@handler("order.delivered", name="email.order_delivered")
def order_delivered_email(event) -> None:
    order = _order(event.payload["order_id"])
    if order.events.filter(kind=DELIVERED_SENT).exists():
        return
    policy = return_policy_for(order.channel_id)
    delivered = delivered_on(order)
    methods = set(
        FulfillmentOrder.objects.filter(order=order)
        .exclude(status=FulfillmentOrder.Status.CANCELLED)
        .values_list("method", flat=True)
    )
    send_order_email(
        event=event,
        order=order,
        template="emails/order_delivered",
        context={
            "collected": methods == {FulfillmentOrder.Method.PICKUP},
            "lines": list(order.lines.select_related("sku").filter(quantity_shipped__gt=0)),
            "window_days": policy.window_days,
            "return_by": delivered + timedelta(days=policy.window_days) if delivered else None,
        },
    )
    OrderEvent.objects.create(
        order=order,
        kind=DELIVERED_SENT,
        actor_type=OrderEvent.Actor.SYSTEM,
        message=f"Delivered e-mail to {order.email}"[:500],
        data={"outbox_event": event.pk},
    )


# --- Returns and refunds -------------------------------------------------------------


def _return(return_id: int) -> ReturnRequest:
    return ReturnRequest.objects.select_related("order__channel", "order__customer", "location").get(
        pk=return_id
    )


def _emailed(request: ReturnRequest, event: OutboxEvent) -> bool:
    return request.events.filter(kind=RETURN_EMAILED, data__outbox_event=event.pk).exists()


def _record_emailed(request: ReturnRequest, event: OutboxEvent, template: str) -> None:
    ReturnEvent.objects.create(
        request=request,
        kind=RETURN_EMAILED,
        actor_type="system",
        message=f"{template.rsplit('/', 1)[-1]} to {request.order.email}"[:500],
        data={"outbox_event": event.pk, "template": template},
    )


@handler(STATUS_TOPIC, name="email.return_status")
def return_status_email(event) -> None:
    # The status the event announces, not the current one: a return authorized
    # and received before the outbox runs still gets both e-mails, in order.
    status = event.payload["status"]
    template = STATUS_TEMPLATES.get(status)
    if template is None:
        return  # requested (staff review) and cancelled: nothing to tell by e-mail
    request = _return(event.payload["return_id"])
    if status == Status.COMPLETED and request.resolution == ReturnRequest.Resolution.REFUND:
        return  # a refund completes the return: the refund e-mail says both
    if _emailed(request, event):
        return
    policy: ReturnPolicy = return_policy_for(request.channel_id)
    send_order_email(
        event=event,
        order=request.order,
        template=template,
        context={
            "request": request,
            "status": status,
            "lines": list(request.lines.select_related("sku")),
            "location": request.location,
            "instructions": policy.instructions,
            "merchant_pays_shipping": request.return_shipping_paid_by == ReturnPolicy.ShippingPaidBy.MERCHANT,
            "is_exchange": request.resolution == ReturnRequest.Resolution.EXCHANGE,
            "replacement": request.replacement_order,
        },
    )
    _record_emailed(request, event, template)


@handler(REFUNDED_TOPIC, name="email.return_refunded")
def return_refunded_email(event) -> None:
    request = _return(event.payload["return_id"])
    if _emailed(request, event):
        return
    send_order_email(
        event=event,
        order=request.order,
        template="emails/return_refunded",
        context={
            "request": request,
            "amount": Decimal(event.payload["amount"]),
            "currency": event.payload["currency"],
            "fee": request.restocking_fee,
            "shipping_refund": request.shipping_refund,
        },
    )
    _record_emailed(request, event, "emails/return_refunded")


# --- Post-sale follow-up ----------------------------------------------------------------


def _due_orders(now: datetime) -> list[int]:
    due = now - timedelta(days=settings.FOLLOW_UP_DAYS)
    return list(
        Order.objects.filter(
            delivered_at__lte=due,
            delivered_at__gt=due - timedelta(days=FOLLOW_UP_STALE_DAYS),
            follow_up__isnull=True,
        )
        .exclude(status=Order.Status.CANCELLED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _claim(order_ids: list[int], now: datetime) -> list[tuple[int, int]]:
    """Insert the FollowUp rows nobody has yet; returns (follow-up id, order id) of ours."""
    table = FollowUp._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (order_id, claimed_at)
            SELECT order_id, %s FROM unnest(%s::bigint[]) AS c(order_id)
            ON CONFLICT (order_id) DO NOTHING
            RETURNING id, order_id
            """,  # noqa: S608 - the table name is ours, the values are parameters
            [now, order_ids],
        )
        return sorted(cursor.fetchall(), key=lambda row: row[1])


def follow_ups_queue(*, now: datetime | None = None) -> int:
    """Queue the follow-up e-mail of every order delivered FOLLOW_UP_DAYS ago
    or more that has none; returns how many this call queued. Safe to run
    twice or concurrently: each order is claimed once, ever."""
    now = now or timezone.now()
    order_ids = _due_orders(now)
    queued = 0
    for start in range(0, len(order_ids), CLAIM_BATCH):
        # Claims in order id order: two concurrent runs wait on each other, never deadlock.
        with transaction.atomic():
            for follow_up_id, order_id in _claim(order_ids[start : start + CLAIM_BATCH], now):
                emit(
                    FOLLOW_UP_TOPIC,
                    {"follow_up_id": follow_up_id, "order_id": order_id},
                    aggregate=f"order:{order_id}",
                )
                queued += 1
    return queued


@handler(FOLLOW_UP_TOPIC, name="email.follow_up")
def follow_up_email(event) -> None:
    follow_up = FollowUp.objects.filter(pk=event.payload["follow_up_id"]).first()
    if follow_up is None or follow_up.sent_at is not None:
        return
    order = _order(follow_up.order_id)
    send_order_email(
        event=event,
        order=order,
        template="emails/follow_up",
        context={"links": answer_links(order)},
    )
    FollowUp.objects.filter(pk=follow_up.pk, sent_at=None).update(sent_at=timezone.now())
