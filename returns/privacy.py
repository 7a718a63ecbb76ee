"""Privacy: everything we hold about a customer as JSON (the right of
access), and anonymizing a customer (the right to erasure) while orders,
their totals and the books stay exactly as they were.

Here, in the top app, because a customer's data is spread over every app.

What anonymizing erases: the customer's names, e-mail (becomes
anonymized-<id>@invalid), phone, company, notes and channel id; its saved
addresses and contacts (deleted); the addresses on its orders, quotes,
shipments and invoice copies (only country and region are kept, for tax
reports); order notes and gift messages; return notes, post-sale comments
and case texts; and any mention of the erased values in order, shipment,
payment and return events, tracking scans, outbox payloads and journal memos
(the invoice posting names the customer). Amounts, accounts, dates, statuses
and the rows themselves are untouched, so the trial balance, the journal
and order totals do not change. Consents (no personal data, and evidence of
what was agreed) are kept.

A customer with orders still to ship, returns in progress or open invoices
is refused (409): the address and e-mail are still needed to finish them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounting.models import Invoice, InvoiceReminder, JournalEntry, JournalLine
from customers.models import Address, Consent, Contact, Customer, CustomerMetrics
from fulfillment.models import FulfillmentEvent, FulfillmentOrder, TrackingEvent
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, NotFound
from oms.models import OutboxEvent, WebhookDelivery
from oms.outbox import emit
from orders.models import Cart, InboundOrder, Order, OrderEvent, PaymentTransaction, Quote

from .models import CustomerCase, PostSaleAnswer, ReturnEvent, ReturnLine, ReturnRequest

ANONYMIZED_TOPIC = "customer.anonymized"
ERASED = "[erased]"
# Address keys that stay on orders, shipments and invoices: tax reports need them.
KEPT_ADDRESS_KEYS = ("country", "region")
# Payment fields that never leave: the gateway's card token and card details.
CARD_FIELDS = {"token", "brand", "last4"}
OPEN_ORDER_STATUSES = {
    Order.Status.ON_HOLD,
    Order.Status.BACKORDERED,
    Order.Status.ALLOCATED,
    Order.Status.FULFILLING,
    Order.Status.PARTIALLY_SHIPPED,
}
OPEN_RETURN_STATUSES = {
    ReturnRequest.Status.REQUESTED,
    ReturnRequest.Status.AUTHORIZED,
    ReturnRequest.Status.RECEIVED,
}


def anonymized_email(customer_id: int) -> str:
    return f"anonymized-{customer_id}@invalid"


def is_anonymized(customer: Customer) -> bool:
    return customer.email == anonymized_email(customer.pk)


# --- Export -------------------------------------------------------------------------


def _row(obj: models.Model, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """A row's columns; amounts as strings, never float."""
    skip = set(exclude)
    return {
        f.attname: _plain(getattr(obj, f.attname))
        for f in obj._meta.concrete_fields
        if f.name not in skip and f.attname not in skip
    }


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _rows(queryset, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
    return [_row(obj, exclude) for obj in queryset]


def customer_export(*, customer_id: int) -> dict[str, Any]:
    """Everything about a customer, as JSON-ready data (amounts as strings,
    datetimes left for the renderer). Card tokens and card details are left out."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    orders = list(
        Order.objects.filter(customer=customer)
        .prefetch_related("lines__sku", "payments", "events", "fulfillment_orders__lines")
        .order_by("pk")
    )
    shipments = [fo for o in orders for fo in o.fulfillment_orders.all()]
    returns = list(ReturnRequest.objects.filter(customer=customer).prefetch_related("lines").order_by("pk"))
    invoices = list(Invoice.objects.filter(customer_id=customer.pk).prefetch_related("lines").order_by("pk"))
    quotes = list(Quote.objects.filter(customer=customer).prefetch_related("lines").order_by("pk"))
    data: dict[str, Any] = {
        "exported_at": timezone.now(),
        "customer": _row(customer),
        "addresses": _rows(customer.addresses.order_by("pk")),
        "orders": [
            {
                **_row(o),
                "number": o.number,
                "lines": [{**_row(ln), "sku": ln.sku.code} for ln in o.lines.all()],
                "payments": _rows(o.payments.all(), exclude=CARD_FIELDS),
                "history": _rows(o.events.all(), exclude=("data",)),
                "shipments": [
                    {
                        **_row(fo),
                        "number": fo.number,
                        "lines": _rows(fo.lines.all()),
                        "tracking": _rows(fo.tracking.all(), exclude=("raw",)),
                    }
                    for fo in o.fulfillment_orders.all()
                ],
            }
            for o in orders
        ],
        "quotes": [{**_row(q), "lines": _rows(q.lines.all())} for q in quotes],
        "returns": [{**_row(r), "number": r.number, "lines": _rows(r.lines.all())} for r in returns],
        "post_sale_answers": _rows(PostSaleAnswer.objects.filter(customer=customer).order_by("pk")),
        "cases": _rows(CustomerCase.objects.filter(customer=customer).order_by("pk")),
        "invoices": [
            {
                **_row(i, exclude=("entry",)),
                "lines": _rows(i.lines.all()),
                "payments": _rows(i.payments.all()),
            }
            for i in invoices
        ],
        "emails_and_notifications": _rows(
            OutboxEvent.objects.filter(
                aggregate__in=_aggregates(orders, shipments, returns, invoices, quotes)
            )
            .order_by("pk")
            .only("id", "topic", "aggregate", "payload", "created_at", "dispatched_at", "failed_at"),
            exclude=("available_at", "claimed_until", "attempts", "done_handlers", "last_error"),
        ),
    }
    data["contacts"] = _rows(Contact.objects.filter(customer=customer).order_by("pk"))
    data["consents"] = _rows(Consent.objects.filter(customer=customer).order_by("pk"))
    metrics = CustomerMetrics.objects.filter(customer=customer).first()
    data["metrics"] = _row(metrics) if metrics is not None else None
    return data


def _aggregates(orders, shipments, returns, invoices, quotes) -> list[str]:
    return (
        [f"order:{o.pk}" for o in orders]
        + [f"shipment:{fo.pk}" for fo in shipments]
        + [f"return:{r.pk}" for r in returns]
        + [f"invoice:{i.pk}" for i in invoices]
        + [f"quote:{q.pk}" for q in quotes]
    )


# --- Anonymize ----------------------------------------------------------------------


class _Scrubber:
    """Replaces every erased value (names, e-mails, phones, street lines)
    inside free text and JSON, case-insensitively, longest first."""

    def __init__(self, values: Iterable[str], email: str) -> None:
        found = {v.strip() for v in values if v and len(v.strip()) >= 3}
        self.email = email
        self.pattern = (
            re.compile("|".join(re.escape(v) for v in sorted(found, key=len, reverse=True)), re.IGNORECASE)
            if found
            else None
        )

    def _sub(self, match: re.Match) -> str:
        return self.email if "@" in match.group(0) else ERASED

    def __call__(self, value: Any) -> Any:
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.pattern.sub(self._sub, value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value

    def rows(self, queryset, fields: Iterable[str]) -> None:
        """Scrub `fields` of every row of `queryset`, saving only rows that change."""
        fields = list(fields)
        for obj in queryset.only("pk", *fields):
            changed = [f for f in fields if self(getattr(obj, f)) != getattr(obj, f)]
            for f in changed:
                setattr(obj, f, self(getattr(obj, f)))
            if changed:
                type(obj).objects.filter(pk=obj.pk).update(**{f: getattr(obj, f) for f in changed})


def _address_strings(address: Any) -> list[str]:
    if not isinstance(address, dict):
        return []
    return [
        str(v) for k, v in address.items() if k not in KEPT_ADDRESS_KEYS and isinstance(v, str | int) and v
    ]


def _redacted(address: Any) -> dict[str, Any]:
    if not isinstance(address, dict):
        return {}
    return {k: address[k] for k in KEPT_ADDRESS_KEYS if address.get(k)}


def _refuse_while_open(customer: Customer) -> None:
    open_orders = Order.objects.filter(customer=customer, status__in=OPEN_ORDER_STATUSES).count()
    if open_orders:
        raise Conflict(
            f"The customer has {open_orders} order(s) still to ship: ship or cancel them first.",
            code="customer_has_open_orders",
        )
    if ReturnRequest.objects.filter(customer=customer, status__in=OPEN_RETURN_STATUSES).exists():
        raise Conflict(
            "The customer has a return in progress: finish it first.", code="customer_has_open_returns"
        )
    if Invoice.objects.filter(customer_id=customer.pk, status=Invoice.Status.OPEN).exists():
        raise Conflict(
            "The customer has open invoices: settle or void them first.", code="customer_has_open_invoices"
        )


@transaction.atomic
def customer_anonymize(*, customer_id: int, confirm: str, actor: Actor) -> Customer:
    """Erase a customer's personal data everywhere, keeping its orders, their
    totals and the books. `confirm` must repeat the customer's e-mail."""
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    if is_anonymized(customer):
        raise Conflict(f"Customer {customer_id} is already anonymized.", code="already_anonymized")
    if (confirm or "").strip().lower() != customer.email.lower():
        raise InvalidInput.field("confirm", "repeat the customer's e-mail address to confirm the erasure")
    _refuse_while_open(customer)

    email = anonymized_email(customer.pk)
    label = f"Anonymized customer {customer.pk}"
    # Lock what is rewritten, orders in pk order like every other writer.
    orders = list(Order.objects.select_for_update().filter(customer=customer).order_by("pk"))
    order_ids = [o.pk for o in orders]
    fos = list(FulfillmentOrder.objects.filter(order_id__in=order_ids).order_by("pk"))
    quotes = list(Quote.objects.filter(customer=customer).order_by("pk"))
    returns = list(
        ReturnRequest.objects.filter(Q(customer=customer) | Q(order_id__in=order_ids)).order_by("pk")
    )
    invoices = list(Invoice.objects.filter(customer_id=customer.pk).order_by("pk"))
    addresses = list(customer.addresses.all())
    contacts = list(Contact.objects.filter(customer=customer))

    values = [
        customer.first_name,
        customer.last_name,
        customer.full_name,
        customer.email,
        customer.phone,
        customer.company,
        customer.external_id,
    ]
    for a in addresses:
        values += [a.name, a.company, a.line1, a.line2, a.phone]
    for c in contacts:
        values += [c.name, c.email, c.phone]
    for o in orders:
        values += [o.email, *_address_strings(o.shipping_address), *_address_strings(o.billing_address)]
    for q in quotes:
        values += [*_address_strings(q.shipping_address), *_address_strings(q.billing_address)]
    for fo in fos:
        values += _address_strings(fo.ship_to)
    for i in invoices:
        values += [i.customer_name, i.customer_email, *_address_strings(i.billing_address)]
    values = [v for v in values if v not in {label, email}]
    scrub = _Scrubber(values, email)

    # The customer record and its own rows.
    customer.first_name, customer.last_name, customer.email = "", "", email
    customer.phone = customer.company = customer.notes = customer.external_id = ""
    customer.save(
        update_fields=[
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "notes",
            "external_id",
            "updated_at",
        ]
    )
    Address.objects.filter(customer=customer).delete()
    Contact.objects.filter(customer=customer).delete()

    # Orders, quotes, shipments: addresses cut to country and region, free text cleared.
    for o in orders:
        Order.objects.filter(pk=o.pk).update(
            email=email,
            shipping_address=_redacted(o.shipping_address),
            billing_address=_redacted(o.billing_address) if o.billing_address is not None else None,
            notes="",
            gift_message="",
            hold_reason=scrub(o.hold_reason),
        )
    Cart.objects.filter(Q(customer=customer) | Q(order_id__in=order_ids)).update(email="")
    for q in quotes:
        Quote.objects.filter(pk=q.pk).update(
            shipping_address=_redacted(q.shipping_address),
            billing_address=_redacted(q.billing_address) if q.billing_address is not None else None,
            notes=scrub(q.notes),
        )
    for fo in fos:
        FulfillmentOrder.objects.filter(pk=fo.pk).update(ship_to=_redacted(fo.ship_to))

    # Post-sale: returns, answers, cases.
    return_ids = [r.pk for r in returns]
    ReturnRequest.objects.filter(pk__in=return_ids).update(customer_note="")
    ReturnLine.objects.filter(request_id__in=return_ids).update(note="")
    PostSaleAnswer.objects.filter(Q(customer=customer) | Q(order_id__in=order_ids)).update(comment="")
    CustomerCase.objects.filter(Q(customer=customer) | Q(order_id__in=order_ids)).update(
        subject=ERASED, description=""
    )

    # Invoice copies: the document stays (number, amounts, lines), the person goes.
    for i in invoices:
        Invoice.objects.filter(pk=i.pk).update(
            customer_name=label, customer_email=email, billing_address=_redacted(i.billing_address)
        )
    InvoiceReminder.objects.filter(invoice__in=invoices).update(sent_to=email)

    # Mentions in histories, payloads and memos: text only, never amounts.
    invoice_ids = [i.pk for i in invoices]
    scrub.rows(OrderEvent.objects.filter(order_id__in=order_ids), ["message", "data"])
    scrub.rows(PaymentTransaction.objects.filter(order_id__in=order_ids), ["message"])
    scrub.rows(FulfillmentEvent.objects.filter(fulfillment_order__in=fos), ["message", "data"])
    scrub.rows(TrackingEvent.objects.filter(fulfillment_order__in=fos), ["description", "location", "raw"])
    scrub.rows(ReturnEvent.objects.filter(request_id__in=return_ids), ["message", "data"])
    aggregates = [*_aggregates(orders, fos, returns, invoices, quotes), f"customer:{customer.pk}"]
    outbox = OutboxEvent.objects.filter(aggregate__in=aggregates)
    scrub.rows(outbox, ["payload", "last_error"])
    entries = JournalEntry.objects.filter(
        Q(invoice__customer_id=customer.pk) | Q(invoice_payment__invoice_id__in=invoice_ids)
    )
    scrub.rows(entries, ["memo"])
    scrub.rows(JournalLine.objects.filter(entry__in=entries), ["memo"])
    scrub.rows(InboundOrder.objects.filter(order_id__in=order_ids), ["payload", "reason", "problems"])
    event_ids = list(outbox.values_list("pk", flat=True))
    scrub.rows(WebhookDelivery.objects.filter(event_id__in=event_ids), ["payload", "last_error"])

    # Other systems (CRM, ERP through webhooks) hear of it and can erase too.
    emit(
        ANONYMIZED_TOPIC, {"customer_id": customer.pk, "by": str(actor)}, aggregate=f"customer:{customer.pk}"
    )
    return customer
