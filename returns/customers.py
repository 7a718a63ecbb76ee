"""A customer's whole story across the apps (orders, shipments, returns,
invoices, answers, cases) and merging duplicate customer records. Here, in
the app that sees every other, because customers is a leaf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import ForeignKey, OneToOneField

from accounting.models import Invoice
from customers.models import Customer
from customers.services import customer_duplicates
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, NotFound
from orders.models import OrderEvent

from .models import CustomerCase, PostSaleAnswer, ReturnEvent

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class Activity:
    at: datetime
    kind: str  # order, return, invoice, answer, case
    ref: str  # what it is about, e.g. order 00000042
    text: str


def customer_timeline(*, customer_id: int, limit: int = TIMELINE_LIMIT) -> list[Activity]:
    """Everything that happened with a customer, newest first: order events
    (placed, shipped, delivered, cancelled, refunded, e-mails sent), return
    events, invoices, post-sale answers and cases. A fixed number of queries,
    each capped at `limit`."""
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"Customer {customer_id} does not exist.")
    items: list[Activity] = []
    for event in (
        OrderEvent.objects.filter(order__customer_id=customer_id)
        .select_related("order")
        .order_by("-created_at", "-id")[:limit]
    ):
        text = event.message or event.kind.replace("_", " ")
        items.append(Activity(event.created_at, "order", f"order {event.order.number}", text))
    for event in (
        ReturnEvent.objects.filter(request__customer_id=customer_id)
        .select_related("request")
        .order_by("-created_at", "-id")[:limit]
    ):
        text = event.message or f"{event.kind} {event.to_status}".strip()
        items.append(Activity(event.created_at, "return", f"return {event.request.number}", text))
    for invoice in Invoice.objects.filter(customer_id=customer_id).order_by("-created_at")[:limit]:
        text = f"{invoice.total} {invoice.currency} due {invoice.due_date}, {invoice.status}"
        items.append(Activity(invoice.created_at, "invoice", f"invoice {invoice.number}", text))
    for answer in PostSaleAnswer.objects.filter(customer_id=customer_id).order_by("-answered_at")[:limit]:
        parts = [f"rated {answer.rating}/5" if answer.rating else ""]
        if answer.everything_arrived is not None:
            parts.append("everything arrived" if answer.everything_arrived else "something is missing")
        parts.append(answer.comment[:200])
        text = "; ".join(p for p in parts if p)
        items.append(Activity(answer.answered_at, "answer", f"order {answer.order_id:08d}", text))
    for case in CustomerCase.objects.filter(customer_id=customer_id).order_by("-created_at")[:limit]:
        items.append(Activity(case.created_at, "case", f"case {case.pk}", f"{case.subject} ({case.status})"))
    items.sort(key=lambda a: a.at, reverse=True)
    return items[:limit]


@transaction.atomic
def customer_merge(*, survivor_id: int, duplicate_id: int, actor: Actor) -> Customer:
    """Fold a duplicate record into the survivor: every row that points at
    the duplicate (orders, addresses, contacts, consents, returns, cases,
    answers, quotes, ... whatever app it lives in) and its invoices move to
    the survivor, blanks in the survivor's profile are filled from it, tags
    are joined, and the duplicate is deleted. Only records of the same person
    (same e-mail or phone) merge."""
    if survivor_id == duplicate_id:
        raise InvalidInput.field("duplicate_id", "is the customer itself")
    rows = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor_id, duplicate_id])}
    if survivor_id not in rows:
        raise NotFound(f"Customer {survivor_id} does not exist.")
    if duplicate_id not in rows:
        raise NotFound(f"Customer {duplicate_id} does not exist.")
    survivor, duplicate = rows[survivor_id], rows[duplicate_id]
    if duplicate.pk not in {c.pk for c in customer_duplicates(survivor)}:
        raise Conflict(
            f"{duplicate} and {survivor} share neither an e-mail nor a phone number; they are not merged.",
            code="not_duplicates",
        )
    for relation in Customer._meta.related_objects:
        field = relation.field
        if not isinstance(field, ForeignKey):
            continue
        model = relation.related_model
        moving = model._default_manager.filter(**{field.name: duplicate})
        if (
            isinstance(field, OneToOneField)
            and model._default_manager.filter(**{field.name: survivor}).exists()
        ):
            moving.delete()  # one per customer (e.g. derived metrics): the survivor's stays
            continue
        moving.update(**{field.name: survivor})
    Invoice.objects.filter(customer_id=duplicate.pk).update(customer_id=survivor.pk)
    changed = []
    for name in ("first_name", "last_name", "phone", "company", "external_id", "language"):
        if not getattr(survivor, name) and getattr(duplicate, name):
            setattr(survivor, name, getattr(duplicate, name))
            changed.append(name)
    if duplicate.payment_terms_days is not None and survivor.payment_terms_days is None:
        survivor.payment_terms_days, survivor.credit_limit = (
            duplicate.payment_terms_days,
            duplicate.credit_limit,
        )
        changed += ["payment_terms_days", "credit_limit"]
    survivor.is_vip = survivor.is_vip or duplicate.is_vip
    survivor.tags = list(dict.fromkeys([*survivor.tags, *duplicate.tags]))
    note = f"Merged customer {duplicate.pk} <{duplicate.email}> by {actor}."
    survivor.notes = "\n".join(p for p in [survivor.notes, duplicate.notes, note] if p)
    survivor.save(update_fields=[*changed, "is_vip", "tags", "notes", "updated_at"])
    duplicate.delete()
    return survivor
