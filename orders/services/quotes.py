"""B2B quotes: staff price a set of lines for a customer, send it, and when
the customer accepts it becomes an order billed on account.

    draft --send--> sent --accept--> accepted (with its order)
                         --reject--> rejected
                         --(valid_until passed, beat)--> expired

Pricing is the order placement's own (`_validate_and_price`), so a quote shows
what an order for the same lines would cost today. Accepting places an order
with the quoted unit prices, discounts and total: if prices, shipping or tax
changed since, placement refuses the difference and the quote is not
accepted (staff issue a new one) rather than billing something else.

Accepting runs order placement outside any transaction of ours (placement
holds stock in short transactions of its own and claims an idempotency key
per quote, so two concurrent accepts make one order), then records the
acceptance in a short transaction with the quote locked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from customers.models import Address, Customer
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from oms.mail import send_templated
from oms.models import Channel
from oms.money import ZERO
from oms.outbox import emit, handler

from ..models import QUOTE_TRANSITIONS, Order, Quote, QuoteEvent, QuoteLine
from .lifecycle import order_cancel
from .placement import CustomerInput, LineInput, OrderInput, _validate_and_price, order_place

SHARE_SALT = "orders.quote-pdf"
# Placement refuses these when the total moved since the quote (quoted prices
# and shipping stand; tax is the law's and is computed again).
PRICE_CHANGE_CODES = {"price_mismatch", "totals_mismatch"}


@dataclass(frozen=True)
class QuoteLineInput:
    sku: str
    quantity: int
    discount: Decimal = ZERO
    # Only a channel that sets its own prices takes these; on a price-list
    # channel a given unit price must equal the list price (as for an order).
    unit_price: Decimal | None = None
    tax_amount: Decimal | None = None


@dataclass(frozen=True)
class QuoteInput:
    channel: Channel
    customer_id: int
    valid_until: date
    lines: list[QuoteLineInput]
    currency: str | None = None
    shipping_address: dict | None = None
    billing_address: dict | None = None
    shipping_amount: Decimal | None = None
    expected_total: Decimal | None = None
    notes: str = ""


# --- Create ----------------------------------------------------------------------------


def quote_create(*, data: QuoteInput, actor: Actor, today: date | None = None) -> Quote:
    """A draft quote for a customer with account terms, priced like an order."""
    today = today or timezone.localdate()
    channel = data.channel
    customer = Customer.objects.filter(pk=data.customer_id).first()
    if customer is None:
        raise InvalidInput.field("customer_id", f"unknown customer {data.customer_id}")
    if customer.channel_id != channel.pk:
        # The order it becomes finds its customer by the channel and e-mail.
        raise InvalidInput.field(
            "customer_id", f"customer {customer.email} is not a customer of {channel.code}"
        )
    if customer.payment_terms_days is None:
        raise InvalidInput.field(
            "customer_id",
            f"customer {customer.email} has no account terms: an accepted quote is billed on account",
            code="no_account",
        )
    if data.valid_until < today:
        raise InvalidInput.field("valid_until", f"{data.valid_until} is in the past")
    shipping_address = data.shipping_address or _default_address(customer)
    if shipping_address is None:
        raise InvalidInput.field(
            "shipping_address", "is required: the customer has no default shipping address"
        )
    if not shipping_address.get("country"):
        raise InvalidInput.field("shipping_address.country", "is required")
    order_data = OrderInput(
        channel=channel,
        actor=actor,
        currency=data.currency or channel.currency,
        customer=_customer_input(customer),
        shipping_address=shipping_address,
        billing_address=data.billing_address,
        lines=[
            LineInput(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                discount=ln.discount,
                tax_amount=ln.tax_amount,
            )
            for ln in data.lines
        ],
        shipping_amount=data.shipping_amount,
        expected_total=data.expected_total,
        payment_terms_days=customer.payment_terms_days,
        source=Order.Source.STAFF,
    )
    plan = _validate_and_price(order_data)
    priced = plan.priced
    with transaction.atomic():
        quote = Quote.objects.create(
            number=f"pending:{uuid.uuid4().hex[:12]}",
            channel=channel,
            customer=customer,
            currency=order_data.currency,
            valid_until=data.valid_until,
            **priced.totals(),
            prices_include_tax=channel.prices_include_tax,
            shipping_address=shipping_address,
            billing_address=data.billing_address,
            notes=data.notes,
            created_by=actor.user if actor.type == "staff" else None,
        )
        quote.number = f"Q{quote.pk:08d}"
        quote.save(update_fields=["number"])
        QuoteLine.objects.bulk_create(
            QuoteLine(
                quote=quote,
                line_number=i + 1,
                sku=plan.skus[ln.sku],
                quantity=ln.quantity,
                unit_price=p.unit_price,
                discount=p.discount,
                tax_rate=p.tax_rate,
                tax_amount=p.tax_amount,
                line_total=p.line_total,
            )
            for i, (ln, p) in enumerate(zip(order_data.lines, priced.lines, strict=True))
        )
        _event(
            quote,
            "created",
            actor,
            to_status=quote.status,
            message=f"Quoted {quote.grand_total} {quote.currency}, valid until {quote.valid_until}.",
            data={"grand_total": str(quote.grand_total)},
        ).save()
    return quote


def _default_address(customer: Customer) -> dict[str, Any] | None:
    address = Address.objects.filter(customer=customer).order_by("-is_default_shipping", "id").first()
    if address is None:
        return None
    return {
        "name": address.name,
        "company": address.company,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "region": address.region.upper(),
        "postal_code": address.postal_code,
        "country": address.country,
        "phone": address.phone,
        "latitude": None if address.latitude is None else str(address.latitude),
        "longitude": None if address.longitude is None else str(address.longitude),
    }


def _customer_input(customer: Customer) -> CustomerInput:
    return CustomerInput(
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        phone=customer.phone,
    )


# --- Transitions -----------------------------------------------------------------------


def _event(
    quote: Quote,
    kind: str,
    actor: Actor,
    *,
    from_status: str = "",
    to_status: str = "",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> QuoteEvent:
    return QuoteEvent(
        quote=quote,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_type=actor.type,
        actor_user=actor.user if actor.type == "staff" else None,
        actor_channel=actor.channel if actor.type == "channel" else None,
        message=message[:500],
        data=data or {},
    )


def _transition(quote: Quote, to_status: str, *, actor: Actor, kind: str, message: str = "", data=None):
    """Move a locked quote along an allowed transition; returns the unsaved event."""
    if to_status not in QUOTE_TRANSITIONS[quote.status]:
        raise InvalidTransition(
            f"Quote {quote.number} is {quote.status} and cannot become {to_status}.",
            current_status=quote.status,
        )
    event = _event(
        quote, kind, actor, from_status=quote.status, to_status=to_status, message=message, data=data
    )
    quote.status = to_status
    return event


def _locked(quote_id: int) -> Quote:
    quote = Quote.objects.select_for_update().filter(pk=quote_id).first()
    if quote is None:
        raise NotFound(f"Quote {quote_id} does not exist.")
    return quote


def _still_valid(quote: Quote, today: date) -> None:
    if quote.valid_until < today:
        raise InvalidTransition(
            f"Quote {quote.number} was valid until {quote.valid_until}.",
            code="quote_expired",
            current_status=quote.status,
        )


@transaction.atomic
def quote_send(*, quote_id: int, actor: Actor, today: date | None = None) -> Quote:
    """Send a draft to the customer: the e-mail (with a link to the PDF) goes
    out through the outbox once this commits."""
    quote = _locked(quote_id)
    event = _transition(quote, Quote.Status.SENT, actor=actor, kind="sent")
    _still_valid(quote, today or timezone.localdate())
    quote.sent_at = timezone.now()
    event.message = f"Sent to {quote.customer.email}."
    quote.save(update_fields=["status", "sent_at", "updated_at"])
    event.save()
    emit("quote.sent", {"quote_id": quote.pk}, aggregate=f"quote:{quote.pk}")
    return quote


@transaction.atomic
def quote_reject(*, quote_id: int, actor: Actor, reason: str = "") -> Quote:
    """The customer declined a sent quote."""
    quote = _locked(quote_id)
    event = _transition(quote, Quote.Status.REJECTED, actor=actor, kind="rejected", message=reason)
    quote.rejected_at = timezone.now()
    quote.rejection_reason = reason[:500]
    quote.save(update_fields=["status", "rejected_at", "rejection_reason", "updated_at"])
    event.save()
    return quote


def quote_accept(*, quote_id: int, actor: Actor, today: date | None = None) -> Quote:
    """The customer accepted: place the order on account with the quoted
    prices, then record it on the quote. Accepting the same quote twice at
    once makes one order (placement's idempotency key is the quote)."""
    today = today or timezone.localdate()
    quote = Quote.objects.select_related("channel", "customer").filter(pk=quote_id).first()
    if quote is None:
        raise NotFound(f"Quote {quote_id} does not exist.")
    if quote.status != Quote.Status.SENT:
        raise InvalidTransition(
            f"Quote {quote.number} is {quote.status}: only a sent quote can be accepted.",
            current_status=quote.status,
        )
    _still_valid(quote, today)
    customer = quote.customer
    if customer.payment_terms_days is None:
        raise Conflict(
            f"Customer {customer.email} no longer has account terms; the quote cannot be billed on account.",
            code="no_account",
            fields={"customer_id": ["has no account terms"]},
        )
    try:
        result = order_place(data=_order_input(quote, actor), idempotency_key=f"quote:{quote.pk}")
    except InvalidInput as exc:
        if exc.code not in PRICE_CHANGE_CODES:
            raise
        raise Conflict(
            f"The order would not be billed as quote {quote.number} says ({exc.message}), e.g. tax "
            "changed since; issue a new quote.",
            code="quote_prices_changed",
            fields=exc.fields,
        ) from None
    order = result.order
    with transaction.atomic():
        locked = _locked(quote.pk)
        if locked.status == Quote.Status.ACCEPTED and locked.order_id == order.pk:
            return locked  # a concurrent accept recorded it first
        if locked.status == Quote.Status.SENT:
            event = _transition(
                locked,
                Quote.Status.ACCEPTED,
                actor=actor,
                kind="accepted",
                message=f"Became order {order.number}"
                + (f", on hold: {order.hold_reason}" if order.hold_reason else "."),
                data={"order_id": order.pk, "order_status": order.status},
            )
            locked.order = order
            locked.accepted_at = timezone.now()
            locked.save(update_fields=["status", "order", "accepted_at", "updated_at"])
            event.save()
            return locked
    # Rejected or expired while the order was being placed: the quote's state
    # wins, and the order it no longer stands behind is cancelled.
    if result.created:
        order_cancel(order_id=order.pk, actor=actor, reason=f"Quote {locked.number} was {locked.status}")
    raise InvalidTransition(
        f"Quote {locked.number} became {locked.status} while it was being accepted.",
        current_status=locked.status,
    )


def _order_input(quote: Quote, actor: Actor) -> OrderInput:
    """The order the quote stands for: its lines at the quoted prices and its
    total, so placement refuses anything that would be billed differently."""
    channel = quote.channel
    own_prices = channel.price_authority
    return OrderInput(
        channel=channel,
        actor=actor,
        currency=quote.currency,
        customer=_customer_input(quote.customer),
        shipping_address=quote.shipping_address,
        billing_address=quote.billing_address,
        lines=[
            LineInput(
                sku=line.sku.code,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax_amount=line.tax_amount if own_prices else None,
            )
            for line in quote.lines.select_related("sku").order_by("line_number")
        ],
        payment=None,
        payment_terms_days=quote.customer.payment_terms_days,
        agreed_prices=True,  # the quote is honoured until it expires, whatever the list says now
        shipping_amount=quote.shipping_total,
        expected_total=quote.grand_total,
        notes=f"From quote {quote.number}." + (f"\n{quote.notes}" if quote.notes else ""),
        source=Order.Source.STAFF,
        fingerprint_extra={"quote": quote.pk},
    )


def quotes_expire(*, today: date | None = None, batch: int = 500) -> int:
    """Sent quotes whose last valid day has passed become expired (beat),
    a batch per short transaction; quotes being worked on are skipped and
    picked up by the next run."""
    today = today or timezone.localdate()
    actor = Actor.system()
    done = 0
    while True:
        with transaction.atomic():
            quotes = list(
                Quote.objects.filter(status=Quote.Status.SENT, valid_until__lt=today)
                .select_for_update(skip_locked=True)
                .order_by("id")[:batch]
            )
            if not quotes:
                return done
            now = timezone.now()
            events = [
                _transition(
                    quote,
                    Quote.Status.EXPIRED,
                    actor=actor,
                    kind="expired",
                    message=f"Not accepted by {quote.valid_until}.",
                )
                for quote in quotes
            ]
            Quote.objects.filter(pk__in=[q.pk for q in quotes]).update(
                status=Quote.Status.EXPIRED, expired_at=now, updated_at=now
            )
            QuoteEvent.objects.bulk_create(events)
            done += len(quotes)


# --- The customer's link to the PDF ------------------------------------------------------


def quote_share_token(quote: Quote) -> str:
    """A signed token naming the quote: the customer's link to its PDF, no login needed."""
    return signing.dumps([quote.pk, quote.number], salt=SHARE_SALT, compress=True)


def quote_from_share_token(token: str) -> Quote:
    try:
        pk, number = signing.loads(token, salt=SHARE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound("No such quote.") from None
    quote = Quote.objects.filter(pk=pk, number=number).first()
    if quote is None:
        raise NotFound("No such quote.")
    return quote


def quote_share_url(quote: Quote) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("quote-shared-pdf", args=[quote_share_token(quote)])


@handler("quote.sent", name="email.quote_sent")
def quote_sent_email(event) -> None:
    quote = (
        Quote.objects.select_related("channel", "customer")
        .prefetch_related("lines__sku")
        .get(pk=event.payload["quote_id"])
    )
    send_templated(
        event=event,
        to=[quote.customer.email],
        template="emails/quote_sent",
        context={
            "quote": quote,
            "channel": quote.channel,
            "customer": quote.customer,
            "pdf_url": quote_share_url(quote),
            "terms_days": quote.customer.payment_terms_days,
        },
        from_email=quote.channel.sender_email or settings.DEFAULT_FROM_EMAIL,
    )
