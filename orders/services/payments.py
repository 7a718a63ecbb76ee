"""Gateway calls, always outside any transaction that holds row locks.

A void that cannot reach the gateway is queued in the outbox and retried
with backoff, so an authorization is never left hanging silently.
"""

from __future__ import annotations

import logging

from django.db import transaction

from oms.actors import Actor
from oms.outbox import emit, handler

from ..models import Payment, PaymentTransaction
from ..payments import GatewayDeclined, GatewayUnavailable, get_gateway

logger = logging.getLogger(__name__)


def payment_void(*, payment_id: int) -> bool:
    """Void one authorized payment. True when voided (or nothing left to void)."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != Payment.Status.AUTHORIZED:
        return True
    try:
        reference = get_gateway(payment.gateway).void(reference=payment.reference)
    except GatewayUnavailable:
        logger.warning("void of payment %s failed: gateway unavailable", payment_id)
        return False
    except GatewayDeclined as exc:
        PaymentTransaction.objects.create(
            payment=payment,
            order_id=payment.order_id,
            kind=PaymentTransaction.Kind.VOID,
            amount=payment.amount_authorized,
            currency=payment.currency,
            success=False,
            message=exc.message,
        )
        return True
    with transaction.atomic():
        updated = Payment.objects.filter(pk=payment.pk, status=Payment.Status.AUTHORIZED).update(
            status=Payment.Status.VOIDED
        )
        if updated:
            PaymentTransaction.objects.create(
                payment=payment,
                order_id=payment.order_id,
                kind=PaymentTransaction.Kind.VOID,
                amount=payment.amount_authorized,
                currency=payment.currency,
                success=True,
                gateway_reference=reference,
            )
    return True


def payments_void(*, payment_ids: list[int], actor: Actor | None = None) -> None:
    for payment_id in payment_ids:
        if not payment_void(payment_id=payment_id):
            with transaction.atomic():
                emit("payment.void", {"payment_id": payment_id}, aggregate=f"payment:{payment_id}")


def authorization_void(*, gateway: str, reference: str) -> None:
    """Void an authorization that never became a Payment row (placement failed
    after the gateway said yes); retried through the outbox if the gateway is down."""
    try:
        get_gateway(gateway).void(reference=reference)
    except GatewayUnavailable:
        with transaction.atomic():
            emit("payment.void", {"gateway": gateway, "reference": reference}, aggregate=f"auth:{reference}")
    except GatewayDeclined:
        logger.warning("void of orphan authorization %s refused by %s", reference, gateway)


@handler("payment.void", name="payments.void")
def _retry_void(event) -> None:
    payload = event.payload
    if "payment_id" in payload:
        if not payment_void(payment_id=payload["payment_id"]):
            raise GatewayUnavailable("gateway still unavailable")
    else:
        get_gateway(payload["gateway"]).void(reference=payload["reference"])
