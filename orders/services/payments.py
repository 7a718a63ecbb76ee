"""Gateway calls, always outside any transaction that holds row locks.

A void that cannot reach the gateway is queued in the outbox and retried
with backoff, so an authorization is never left hanging silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import floor

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounting.posting import post_card_capture, post_refund
from oms.actors import Actor
from oms.compiled import insert_rows
from oms.errors import Conflict, DomainError, InvalidInput
from oms.money import quantum, round_money
from oms.outbox import emit, handler

from ..models import Order, OrderEvent, Payment, PaymentTransaction
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


# --- Capture ----------------------------------------------------------------------

# Class id of the PostgreSQL advisory lock that serializes the captures of one
# order (the object id is the order id).
CAPTURE_LOCK_CLASS = 0x0CA9


def amount_share(amount: Decimal, share: Fraction, currency: str) -> Decimal:
    """`share` (0..1) of a non-negative amount, rounded half up to the currency
    exactly (no intermediate float or Decimal rounding). Cutting a total at
    cumulative shares, share(total, after) - share(total, before), gives
    slices that always add up to the total to the minor unit."""
    if amount < 0 or not 0 <= share <= 1:
        raise ValueError(f"cannot take a {share} share of {amount}")
    step = quantum(currency)
    units = Fraction(amount) * share / Fraction(step)
    return round_money(Decimal(floor(units + Fraction(1, 2))) * step, currency)


@dataclass(frozen=True)
class CaptureResult:
    captured: Decimal
    declined: str = ""  # the gateway's reason when it refused
    replayed: bool = False  # an earlier call with the same key did the work


@contextmanager
def _capture_lock(order_id: int) -> Iterator[None]:
    """A session-level advisory lock, taken with try: no row lock is held while
    the gateway answers, and a second worker running the same capture backs
    off (the outbox retries it later) instead of capturing twice."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [CAPTURE_LOCK_CLASS, order_id])
        acquired = cursor.fetchone()[0]
    if not acquired:
        raise Conflict(f"A capture for order {order_id} is already running.", code="capture_in_progress")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [CAPTURE_LOCK_CLASS, order_id])


def payment_capture(
    *, order_id: int, key: str, amount: Decimal, remainder: bool = False, actor: Actor | None = None
) -> CaptureResult:
    """Capture `amount` of the order's card authorizations (with `remainder`:
    everything still authorized), once per `key` (e.g. "shipment F00000012").

    Every gateway call is recorded as a PaymentTransaction whose message starts
    with "<key>:"; a call with a key already recorded captures only what that
    key has not captured yet, and never retries a decline. Runs the gateway
    call outside any transaction. A decline is recorded, written to the order's
    history and set as its hold reason; an unreachable gateway raises
    GatewayUnavailable so the caller (the outbox) retries later.
    """
    actor = actor or Actor.system()
    marker = f"{key}:"
    with _capture_lock(order_id):
        previous = list(
            PaymentTransaction.objects.filter(
                order_id=order_id, kind=PaymentTransaction.Kind.CAPTURE, message__startswith=marker
            )
        )
        if any(not t.success for t in previous):
            return CaptureResult(captured=Decimal(0), declined=previous[-1].message, replayed=True)
        done = sum((t.amount for t in previous), Decimal(0))
        left = None if remainder else amount - done
        captured = Decimal(0)
        payments = Payment.objects.filter(order_id=order_id, status=Payment.Status.AUTHORIZED).order_by("id")
        for payment in payments:
            open_amount = payment.amount_authorized - payment.amount_captured
            take = open_amount if left is None else min(left, open_amount)
            if take <= 0:
                continue
            try:
                reference = get_gateway(payment.gateway).capture(
                    reference=payment.reference, amount=take, currency=payment.currency
                )
            except GatewayDeclined as exc:
                _capture_declined(payment, key=key, amount=take, message=exc.message, actor=actor)
                return CaptureResult(captured=captured, declined=exc.message)
            _capture_recorded(payment, key=key, amount=take, reference=reference)
            captured += take
            if left is not None:
                left -= take
                if left <= 0:
                    break
        if left is not None and left > 0:
            logger.warning("capture %s of order %s: %s more than is authorized", key, order_id, left)
        return CaptureResult(captured=captured, replayed=bool(previous) and captured == 0)


@transaction.atomic
def _capture_recorded(payment: Payment, *, key: str, amount: Decimal, reference: str) -> None:
    Payment.objects.filter(pk=payment.pk).update(amount_captured=F("amount_captured") + amount)
    Payment.objects.filter(pk=payment.pk, amount_captured__gte=F("amount_authorized")).update(
        status=Payment.Status.CAPTURED
    )
    record = PaymentTransaction.objects.create(
        payment=payment,
        order_id=payment.order_id,
        kind=PaymentTransaction.Kind.CAPTURE,
        amount=amount,
        currency=payment.currency,
        success=True,
        gateway_reference=reference,
        message=f"{key}: captured",
    )
    # The money is taken already: the capture is recorded whatever the books
    # say. Posting can only fail without a rate for the currency, which the
    # shipment behind this capture needed already; if it does, it is logged.
    channel_id = Order.objects.filter(pk=payment.order_id).values_list("channel_id", flat=True).first()
    try:
        with transaction.atomic():
            post_card_capture(
                ref=f"capture:{record.pk}",
                day=timezone.localdate(),
                amount=amount,
                currency=payment.currency,
                channel_id=channel_id,
                actor=Actor.system(),
            )
    except DomainError as exc:
        logger.error("capture %s of order %s not posted to the books: %s", key, payment.order_id, exc.message)


@transaction.atomic
def _capture_declined(payment: Payment, *, key: str, amount: Decimal, message: str, actor: Actor) -> None:
    order = Order.objects.select_for_update(no_key=True).get(pk=payment.order_id)
    PaymentTransaction.objects.create(
        payment=payment,
        order=order,
        kind=PaymentTransaction.Kind.CAPTURE,
        amount=amount,
        currency=payment.currency,
        success=False,
        message=f"{key}: declined: {message}"[:255],
    )
    OrderEvent.objects.create(
        order=order,
        kind="payment_capture_declined",
        actor_type=actor.type,
        actor_user=actor.user if actor.type == "staff" else None,
        actor_channel=actor.channel if actor.type == "channel" else None,
        message=f"Capture of {amount} {payment.currency} for {key} declined: {message}"[:500],
        data={"payment_id": payment.pk, "key": key, "amount": str(amount)},
    )
    if not order.hold_reason:
        order.hold_reason = f"Payment capture declined ({key}): {message}"[:255]
        order.save(update_fields=["hold_reason", "updated_at"])


@dataclass(frozen=True)
class RefundSplit:
    """What a refund gives back, net of tax, in the order's currency (for the books)."""

    goods_net: Decimal
    shipping_net: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.goods_net + self.shipping_net + self.tax


@dataclass
class RefundResult:
    refunded: Decimal
    declined: str = ""
    replayed: bool = False


def payment_refund(
    *, order_id: int, key: str, split: RefundSplit, actor: Actor | None = None
) -> RefundResult:
    """Give `split.total` back to the order's captured card payments (oldest
    first), once per `key` (e.g. "return RMA00000012"): a call with a key
    already recorded refunds only what that key has not refunded yet. More
    than was captured and not yet refunded is refused, naming the amount.
    Each gateway refund is a PaymentTransaction and a card-refund entry in
    the books (sales returns, shipping income and tax vs card clearing), in
    the transaction that records it. Runs the gateway call outside any
    transaction; an unreachable gateway raises GatewayUnavailable."""
    actor = actor or Actor.system()
    amount = split.total
    if amount <= 0:
        raise InvalidInput.field("amount", "must be above zero", code="negative_amount")
    marker = f"{key}:"
    with _capture_lock(order_id):
        done = sum(
            PaymentTransaction.objects.filter(
                order_id=order_id,
                kind=PaymentTransaction.Kind.REFUND,
                success=True,
                message__startswith=marker,
            ).values_list("amount", flat=True),
            Decimal(0),
        )
        left = amount - done
        if left <= 0:
            return RefundResult(refunded=Decimal(0), replayed=True)
        payments = list(
            Payment.objects.filter(order_id=order_id, amount_captured__gt=F("amount_refunded")).order_by("id")
        )
        refundable = sum((p.amount_captured - p.amount_refunded for p in payments), Decimal(0))
        if left > refundable:
            currency = payments[0].currency if payments else ""
            raise InvalidInput.field(
                "amount",
                f"{left} is more than the {refundable} {currency} paid and not yet refunded",
                code="refund_exceeds_payment",
            )
        refunded = Decimal(0)
        for payment in payments:
            take = min(left, payment.amount_captured - payment.amount_refunded)
            try:
                reference = get_gateway(payment.gateway).refund(
                    reference=payment.reference, amount=take, currency=payment.currency
                )
            except GatewayDeclined as exc:
                PaymentTransaction.objects.create(
                    payment=payment,
                    order_id=order_id,
                    kind=PaymentTransaction.Kind.REFUND,
                    amount=take,
                    currency=payment.currency,
                    success=False,
                    message=f"{key}: declined: {exc.message}"[:255],
                )
                return RefundResult(refunded=refunded, declined=exc.message)
            part = _share_of(split, take, left, done=refunded, currency=payment.currency)
            _refund_recorded(payment, key=key, amount=take, reference=reference, split=part, actor=actor)
            refunded += take
            left -= take
            if left <= 0:
                break
        return RefundResult(refunded=refunded)


def _share_of(
    split: RefundSplit, take: Decimal, left: Decimal, *, done: Decimal, currency: str
) -> RefundSplit:
    """The part of `split` that `take` (of the `left` still to refund) stands for."""
    if take == left and done == 0:
        return split
    share = Fraction(take) / Fraction(split.total)
    goods = amount_share(split.goods_net, share, currency)
    shipping = amount_share(split.shipping_net, share, currency)
    return RefundSplit(goods_net=goods, shipping_net=shipping, tax=max(take - goods - shipping, Decimal(0)))


@transaction.atomic
def _refund_recorded(
    payment: Payment, *, key: str, amount: Decimal, reference: str, split: RefundSplit, actor: Actor
) -> None:
    Payment.objects.filter(pk=payment.pk).update(amount_refunded=F("amount_refunded") + amount)
    payment.refresh_from_db(fields=["amount_refunded", "amount_captured", "amount_authorized"])
    fully = payment.amount_refunded >= payment.amount_captured
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.REFUNDED if fully else Payment.Status.PARTIALLY_REFUNDED
    )
    record = PaymentTransaction.objects.create(
        payment=payment,
        order_id=payment.order_id,
        kind=PaymentTransaction.Kind.REFUND,
        amount=amount,
        currency=payment.currency,
        success=True,
        gateway_reference=reference,
        message=f"{key}: refunded",
    )
    order = Order.objects.only("channel_id").get(pk=payment.order_id)
    OrderEvent.objects.create(
        order_id=payment.order_id,
        kind="payment_refunded",
        actor_type=actor.type,
        actor_user=actor.user if actor.type == "staff" else None,
        actor_channel=actor.channel if actor.type == "channel" else None,
        message=f"Refunded {amount} {payment.currency} for {key}.",
        data={"payment_id": payment.pk, "key": key, "amount": str(amount)},
    )
    # Unlike a capture, the refund is ours to decide: if the books cannot take
    # it (no rate for the currency), it is not recorded and the call fails.
    post_refund(
        ref=f"refund:{record.pk}",
        day=timezone.localdate(),
        currency=payment.currency,
        goods_net=split.goods_net,
        shipping_net=split.shipping_net,
        tax=split.tax,
        channel_id=order.channel_id,
        actor=actor,
    )


def payment_authorization_record(*, order: Order, gateway: str, auth, message: str = "") -> Payment:
    """Record a gateway authorization on the order: the payment and its
    authorize transaction (inside the caller's transaction)."""
    rows = payment_authorization_rows(order=order, gateway=gateway, auth=auth, message=message)
    insert_rows(rows)
    return rows[0]


def payment_authorization_rows(
    *, order: Order, gateway: str, auth, message: str = ""
) -> list[Payment | PaymentTransaction]:
    """The payment and its authorize transaction, not yet saved, for the
    caller to insert with its other rows (oms.compiled.insert_rows)."""
    payment = Payment(
        order=order,
        gateway=gateway,
        reference=auth.reference,
        token=auth.token,
        brand=auth.brand,
        last4=auth.last4,
        currency=auth.currency,
        amount_authorized=auth.amount,
        status=Payment.Status.AUTHORIZED,
    )
    return [
        payment,
        PaymentTransaction(
            payment=payment,
            order=order,
            kind=PaymentTransaction.Kind.AUTHORIZE,
            amount=auth.amount,
            currency=auth.currency,
            success=True,
            gateway_reference=auth.reference,
            message=message,
        ),
    ]
