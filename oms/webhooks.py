"""Outbound webhooks: other systems (ERP, CRM) subscribe to public event types
and receive HMAC-signed JSON posts.

Flow: a business change emits an outbox topic in its own transaction; the
outbox handler registered here maps the topic to a public event type (ROUTES,
the one table of that mapping), reads the source row and writes one
WebhookDelivery per active subscription (unique per subscription and event,
so a re-run handler adds nothing). The sender (oms.webhook_tasks) posts due
deliveries outside any transaction, oldest event first per subscription: a
subscriber's next event waits until the one before it is delivered or has
failed for good, so a subscriber that is down receives everything in order
once it is back. Failures back off exponentially; after WEBHOOK_MAX_ATTEMPTS
a delivery is failed and `webhook_replay` puts it back in the queue.

The kernel imports no app: the routes read the apps' rows through the app
registry (`apps.get_model`) when an event is fanned out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone

from .errors import InvalidInput, InvalidTransition, NotFound
from .models import OutboxEvent
from .models_webhooks import WebhookDelivery, WebhookSubscription
from .money import UnknownCurrency, round_money
from .outbox import backoff, handler, kick

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
CLAIM_SECONDS = 60  # longer than a post can take (timeout), short enough to recover from a crash
USER_AGENT = "OMS-Webhooks/1"


# --- Source rows -> event data -----------------------------------------------------


def _money(amount: Decimal | None, currency: str) -> str | None:
    if amount is None:
        return None
    try:
        return str(round_money(amount, currency))
    except UnknownCurrency:
        return str(amount)


def _order(order_id: int) -> dict[str, Any] | None:
    Order = apps.get_model("orders", "Order")
    order = Order.objects.select_related("channel").filter(pk=order_id).first()
    if order is None:
        return None
    cur = order.currency
    lines = order.lines.select_related("sku").order_by("line_number")
    return {
        "order_id": order.pk,
        "number": order.number,
        "channel": order.channel.code,
        "external_id": order.external_id,
        "status": order.status,
        "customer_id": order.customer_id,
        "currency": cur,
        "subtotal": _money(order.subtotal, cur),
        "discount_total": _money(order.discount_total, cur),
        "shipping_total": _money(order.shipping_total, cur),
        "tax_total": _money(order.tax_total, cur),
        "grand_total": _money(order.grand_total, cur),
        "placed_at": order.placed_at,
        "delivered_at": order.delivered_at,
        "lines": [
            {
                "line_number": line.line_number,
                "sku": line.sku.code,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price, cur),
                "line_total": _money(line.line_total, cur),
                "quantity_allocated": line.quantity_allocated,
                "quantity_shipped": line.quantity_shipped,
                "quantity_cancelled": line.quantity_cancelled,
            }
            for line in lines
        ],
    }


def _order_data(event: OutboxEvent) -> dict[str, Any]:
    return _order(event.payload["order_id"]) or {"order_id": event.payload["order_id"]}


def _shipment_data(event: OutboxEvent) -> dict[str, Any]:
    FulfillmentOrder = apps.get_model("fulfillment", "FulfillmentOrder")
    p = event.payload
    fo = (
        FulfillmentOrder.objects.select_related("order", "warehouse")
        .filter(pk=p["fulfillment_order_id"])
        .first()
    )
    keys = ("carrier", "service", "tracking_number", "method", "collected", "promised_delivery")
    data: dict[str, Any] = {"shipment_id": p["fulfillment_order_id"], "order_id": p["order_id"]}
    data.update({k: p.get(k) for k in keys})
    for k in ("goods_value", "shipping_charged", "total_charged", "currency"):
        if k in p:
            data[k] = p[k]
    if fo is not None:
        data.update(
            shipment=fo.number,
            order_number=fo.order.number,
            status=fo.status,
            warehouse=fo.warehouse.code,
            shipped_at=fo.shipped_at,
            lines=[
                {"sku": line.sku.code, "quantity": line.quantity}
                for line in fo.lines.select_related("sku").order_by("id")
            ],
        )
    return data


def _return_data(event: OutboxEvent) -> dict[str, Any]:
    ReturnRequest = apps.get_model("returns", "ReturnRequest")
    rr = ReturnRequest.objects.select_related("order").filter(pk=event.payload["return_id"]).first()
    if rr is None:
        return {"return_id": event.payload["return_id"]}
    cur = rr.order.currency
    data: dict[str, Any] = {
        "return_id": rr.pk,
        "number": rr.number,
        "order_id": rr.order_id,
        "order_number": rr.order.number,
        "customer_id": rr.customer_id,
        "status": rr.status,
        "resolution": rr.resolution,
        "currency": cur,
        "refund_total": _money(rr.refund_total, cur),
        "restocking_fee": _money(rr.restocking_fee, cur),
        "received_at": rr.received_at,
        "completed_at": rr.completed_at,
        "lines": [
            {
                "sku": line.sku.code,
                "quantity": line.quantity,
                "quantity_received": line.quantity_received,
                "reason": line.reason,
                "condition": line.condition,
                "disposition": line.disposition,
                "refund_amount": _money(line.refund_amount, cur),
            }
            for line in rr.lines.select_related("sku").order_by("id")
        ],
    }
    if "amount" in event.payload:  # return.refunded: this refund
        data["amount"] = event.payload["amount"]
    return data


def _stock_data(event: OutboxEvent) -> dict[str, Any]:
    """What changed (from the event) and the levels now (from the stock rows)."""
    p = event.payload
    if event.topic == "inventory.po_received":
        changes = {int(sku_id): r["quantity"] for sku_id, r in p.get("receipt", {}).items()}
        data: dict[str, Any] = {"kind": "receipt", "reason": "", "reference": p.get("reference", "")}
        data["purchase_order_id"] = p.get("po_id")
    else:
        changes = {line["sku_id"]: line["quantity"] for line in p.get("lines", [])}
        data = {k: p.get(k, "") for k in ("kind", "reason", "reference")}
    Warehouse = apps.get_model("inventory", "Warehouse")
    StockLevel = apps.get_model("inventory", "StockLevel")
    warehouse = Warehouse.objects.filter(pk=p["warehouse_id"]).first()
    levels = {
        level.sku_id: level
        for level in StockLevel.objects.select_related("sku").filter(
            warehouse_id=p["warehouse_id"], sku_id__in=changes
        )
    }
    lines = []
    for sku_id, change in sorted(changes.items()):
        level = levels.get(sku_id)
        lines.append(
            {
                "sku": level.sku.code if level else None,
                "sku_id": sku_id,
                "change": change,
                "on_hand": level.on_hand if level else 0,
                "allocated": level.allocated if level else 0,
                "available": level.available if level else 0,
            }
        )
    data.update(warehouse_id=p["warehouse_id"], warehouse=warehouse.code if warehouse else None, lines=lines)
    return data


def _invoice_data(event: OutboxEvent) -> dict[str, Any]:
    Invoice = apps.get_model("accounting", "Invoice")
    inv = Invoice.objects.filter(pk=event.payload["invoice_id"]).first()
    if inv is None:
        return {"invoice_id": event.payload["invoice_id"]}
    cur = inv.currency
    return {
        "invoice_id": inv.pk,
        "number": inv.number,
        "status": inv.status,
        "order_ref": inv.order_ref,
        "customer_id": inv.customer_id,
        "currency": cur,
        "issue_date": inv.issue_date,
        "due_date": inv.due_date,
        "net_total": _money(inv.net_total, cur),
        "tax_total": _money(inv.tax_total, cur),
        "total": _money(inv.total, cur),
    }


# --- The mapping: outbox topic -> public event type ----------------------------------


@dataclass(frozen=True)
class Route:
    topic: str
    event_type: str
    data: Callable[[OutboxEvent], dict[str, Any]]
    when: Callable[[dict[str, Any]], bool] = lambda payload: True


ROUTES: tuple[Route, ...] = (
    Route("order.placed", "order.placed", _order_data),
    # Emitted when a backorder is filled; an order allocated at placement is
    # announced by order.placed (its status says "allocated").
    Route("order.allocated", "order.allocated", _order_data),
    Route("shipment.shipped", "order.shipped", _shipment_data),
    Route("order.delivered", "order.delivered", _order_data),
    Route("return.status_changed", "order.returned", _return_data, lambda p: p.get("status") == "received"),
    Route("return.refunded", "order.refunded", _return_data),
    Route("inventory.stock_adjusted", "stock.changed", _stock_data),
    Route("inventory.po_received", "stock.changed", _stock_data),
    Route("accounting.invoice_issued", "invoice.issued", _invoice_data),
)
EVENT_TYPES: tuple[str, ...] = tuple(dict.fromkeys(route.event_type for route in ROUTES))
HANDLER_NAME = "webhooks.fan_out"


def _route_for(event: OutboxEvent) -> Route | None:
    return next((r for r in ROUTES if r.topic == event.topic and r.when(event.payload)), None)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def webhook_fan_out(event: OutboxEvent) -> int:
    """Outbox handler: queue the event for every active subscription to its
    public type. Safe to run twice (unique per subscription and event)."""
    route = _route_for(event)
    if route is None:
        return 0
    subscription_ids = list(
        WebhookSubscription.objects.filter(is_active=True, event_types__contains=[route.event_type])
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not subscription_ids:
        return 0
    body = _jsonable(
        {
            "id": f"evt_{event.pk}",
            "type": route.event_type,
            "created_at": event.created_at,
            "data": route.data(event),
        }
    )
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription_id=sid,
                    event_id=event.pk,
                    event_type=route.event_type,
                    payload=body,
                    next_attempt_at=now,
                )
                for sid in subscription_ids
            ],
            ignore_conflicts=True,
        )
        transaction.on_commit(_kick_sender)
    return len(subscription_ids)


# Only database writes: run in one transaction with the outbox's success mark,
# so a worker killed mid-way neither loses nor repeats a fan-out.
for _topic in dict.fromkeys(route.topic for route in ROUTES):
    handler(_topic, name=HANDLER_NAME, atomic=True)(webhook_fan_out)


def _kick_sender() -> None:
    # Best effort, like the outbox: beat runs the sender anyway.
    from .webhook_tasks import send_webhooks

    kick(send_webhooks)


# --- Subscriptions -------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput.field("name", "must not be blank")
    if len(name) > 120:
        raise InvalidInput.field("name", "at most 120 characters")
    return name


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 500:
        raise InvalidInput.field("url", "at most 500 characters")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidInput.field("url", "must be an absolute http:// or https:// URL") from None
    return url


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(event_types or []))
    if not wanted:
        raise InvalidInput.field("event_types", "give at least one event type")
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput.field(
            "event_types",
            f"unknown event type(s) {', '.join(map(str, unknown))}; known: {', '.join(EVENT_TYPES)}",
        )
    return wanted


def _clean_secret(secret: str | None) -> str:
    if secret is None or secret == "":
        return f"whsec_{secrets.token_urlsafe(32)}"
    if not 16 <= len(secret) <= 128:
        raise InvalidInput.field("secret", "must be 16 to 128 characters")
    return secret


_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": _clean_name,
    "url": _clean_url,
    "event_types": _clean_event_types,
    "is_active": bool,
}


def webhook_subscription_clean(**fields: Any) -> dict[str, Any]:
    """Check and normalize subscription fields (name, url, event_types, is_active)."""
    unknown = sorted(set(fields) - set(_CLEANERS))
    if unknown:
        raise InvalidInput.field(unknown[0], "cannot be set")
    return {field: _CLEANERS[field](value) for field, value in fields.items()}


def webhook_subscription_create(
    *, name: str, url: str, event_types: Iterable[str], secret: str | None = None, is_active: bool = True
) -> WebhookSubscription:
    """A new subscriber. Without a secret one is generated; the caller shows it once."""
    fields = webhook_subscription_clean(name=name, url=url, event_types=event_types, is_active=is_active)
    return WebhookSubscription.objects.create(secret=_clean_secret(secret), **fields)


@transaction.atomic
def webhook_subscription_update(*, subscription_id: int, **changes: Any) -> WebhookSubscription:
    """Change name, url, event_types and/or is_active (only the keys given)."""
    subscription = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound(f"Webhook subscription {subscription_id} does not exist.")
    for field, value in webhook_subscription_clean(**changes).items():
        setattr(subscription, field, value)
    if changes:
        subscription.save(update_fields=list(changes))
    return subscription


def webhook_subscription_delete(*, subscription_id: int) -> None:
    """Remove a subscriber and its delivery log."""
    deleted, _ = WebhookSubscription.objects.filter(pk=subscription_id).delete()
    if not deleted:
        raise NotFound(f"Webhook subscription {subscription_id} does not exist.")


# --- Delivery ------------------------------------------------------------------------


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The X-OMS-Signature header: "sha256=" + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 30 s, 60 s, 120 s, ... up to an hour."""
    return backoff(attempts, base_seconds=BACKOFF_BASE_SECONDS, max_seconds=BACKOFF_MAX_SECONDS)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is a failed delivery: following it would post the signed body
    # somewhere the subscription does not name (or turn the POST into a GET).
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, secret: str, event_type: str, event_id: str, payload: Any) -> tuple[int | None, str]:
    """POST one delivery; (HTTP status or None, error text or "")."""
    if not url.startswith(("http://", "https://")):  # subscriptions are checked; this is a backstop
        return None, "unsupported URL scheme"
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-OMS-Event": event_type,
            "X-OMS-Event-Id": event_id,
            "X-OMS-Signature": webhook_signature(secret=secret, body=body),
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(1024)
            status = response.status
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, f"HTTP {exc.code} {exc.reason}: {detail}".strip()
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, bad URLs
        return None, f"{exc.__class__.__name__}: {exc}"
    if not 200 <= status < 300:
        return status, f"HTTP {status}"
    return status, ""


def _claim(limit: int) -> list[WebhookDelivery]:
    """Claim the due head of each active subscription's queue (its oldest
    pending event). SKIP LOCKED lets several senders share the work; a head
    that another sender holds is skipped, never the event behind it."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE oms_webhookdelivery SET claimed_until = %s, attempts = attempts + 1
            WHERE id IN (
                SELECT d.id FROM oms_webhookdelivery d
                WHERE d.id IN (
                    SELECT DISTINCT ON (q.subscription_id) q.id
                    FROM oms_webhookdelivery q
                    JOIN oms_webhooksubscription s ON s.id = q.subscription_id
                    WHERE q.status = 'pending' AND s.is_active
                    ORDER BY q.subscription_id, q.event_id, q.id
                )
                AND d.status = 'pending' AND d.next_attempt_at <= %s
                AND (d.claimed_until IS NULL OR d.claimed_until < %s)
                ORDER BY d.next_attempt_at, d.id
                LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """,
            [now + timedelta(seconds=CLAIM_SECONDS), now, now, limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return list(WebhookDelivery.objects.filter(id__in=ids).select_related("subscription").order_by("id"))


def _record(delivery: WebhookDelivery, status_code: int | None, error: str) -> bool:
    now = timezone.now()
    fields: dict[str, Any] = {
        "claimed_until": None,
        "last_status_code": status_code,
        "last_error": error[:2000],
    }
    if not error:
        fields.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now)
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        fields["status"] = WebhookDelivery.Status.FAILED
    else:
        fields["next_attempt_at"] = now + webhook_backoff(delivery.attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(**fields)
    return not error


def webhook_deliveries_send(*, limit: int = 50, rounds: int = 20) -> int:
    """Post due deliveries; returns how many were delivered. Each round sends
    at most one event per subscription (in parallel: they go to different
    subscribers), so a subscriber's events leave one after the other."""
    delivered = 0
    for _ in range(rounds):
        batch = _claim(limit)
        if not batch:
            break
        # Only the HTTP calls run in threads; the database work stays here.
        # Each outcome is recorded as soon as its post returns, not when the
        # slowest subscriber of the batch answers: a sender killed meanwhile
        # re-sends only the posts that had not come back.
        with ThreadPoolExecutor(max_workers=min(8, len(batch))) as pool:
            posts = {
                pool.submit(
                    _post, d.subscription.url, d.subscription.secret, d.event_type, d.payload["id"], d.payload
                ): d
                for d in batch
            }
            for done in as_completed(posts):
                delivery = posts[done]
                status_code, error = done.result()
                if error:
                    url = delivery.subscription.url
                    logger.info("webhooks: delivery %s to %s failed: %s", delivery.pk, url, error)
                delivered += _record(delivery, status_code, error)
    return delivered


@transaction.atomic
def webhook_replay(*, delivery_id: int) -> WebhookDelivery:
    """Put a delivery that failed for good back in its subscriber's queue,
    with a fresh set of attempts."""
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(f"Webhook delivery {delivery_id} does not exist.")
    if delivery.status != WebhookDelivery.Status.FAILED:
        raise InvalidTransition(f"Only a failed delivery can be replayed; this one is {delivery.status}.")
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.claimed_until = None
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "claimed_until"])
    transaction.on_commit(_kick_sender)
    return delivery
