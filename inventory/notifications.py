"""E-mails to the warehouse managers, sent by the outbox."""

from __future__ import annotations

from django.conf import settings

from oms.mail import send_templated
from oms.outbox import handler

from .models import PurchaseOrder


def manager_recipients() -> list[str]:
    return list(settings.WAREHOUSE_MANAGER_EMAILS or settings.STAFF_DIGEST_EMAILS)


@handler("inventory.reorder_digest", name="email.reorder_digest")
def reorder_digest(event) -> None:
    recipients = manager_recipients()
    if not recipients:
        return
    pos = (
        PurchaseOrder.objects.filter(pk__in=event.payload["purchase_orders"])
        .select_related("supplier", "warehouse")
        .prefetch_related("lines__sku")
    )
    send_templated(
        event=event,
        to=recipients,
        template="emails/reorder_digest",
        context={**event.payload, "purchase_orders": list(pos)},
    )


@handler("inventory.stock_alerts_digest", name="email.stock_alerts_digest")
def stock_alerts_digest_email(event) -> None:
    # The payload is the digest as it was when the alerts were marked notified,
    # so a redelivery renders the same e-mail.
    recipients = manager_recipients()
    if not recipients:
        return
    send_templated(event=event, to=recipients, template="emails/stock_alerts_digest", context=event.payload)
