"""Dunning: reminder e-mails for overdue customer invoices.

settings.DUNNING_LEVELS lists the days past due at which reminder 1, 2, 3...
fall due (by default a friendly reminder, a second notice and a final notice).
A daily beat task calls `invoices_remind`; an invoice gets the highest level
it has reached and not yet had, never every missed level at once, and never
a lower level after a higher one.

Exactly once, whoever runs it and however often: the run *claims* a level by
inserting its InvoiceReminder row (unique per invoice and level, INSERT ...
ON CONFLICT DO NOTHING, so a concurrent run waits for ours and then inserts
nothing) and writes an outbox event in the same transaction. The e-mail is
sent by the outbox handler below: a crash before the commit leaves neither
claim nor e-mail, a crash after it leaves an event the outbox delivers.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from oms.mail import send_templated
from oms.outbox import emit, handler

from .models import Invoice, InvoiceReminder

REMINDER_TOPIC = "accounting.invoice_reminder"
# Claims per transaction: a concurrent run waits on our uncommitted claims
# (up to the database lock timeout), so each transaction stays short.
CLAIM_BATCH = 200
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")


def dunning_levels() -> tuple[int, ...]:
    """Days past due of each level (level n is index n - 1), checked."""
    levels = tuple(settings.DUNNING_LEVELS)
    if not levels or any(d < 1 for d in levels) or list(levels) != sorted(set(levels)):
        raise ImproperlyConfigured(
            f"DUNNING_LEVELS must be increasing whole numbers of days past due, at least 1: {levels!r}"
        )
    return levels


def level_name(level: int, count: int) -> str:
    if level == 1:
        return "Payment reminder"
    if level == count:
        return "Final notice"
    return f"{ORDINALS[level - 1].capitalize()} notice" if level <= len(ORDINALS) else f"Notice {level}"


def _due_candidates(today: date, levels: tuple[int, ...]) -> list[tuple[int, int, date, str]]:
    """(invoice id, level due, due date, e-mail) of open, unpaid invoices whose
    highest level due today is above the highest level they have had: one query."""
    level_due = Case(
        *[
            When(due_date__lte=today - timedelta(days=days), then=Value(level))
            for level, days in reversed(list(enumerate(levels, start=1)))
        ],
        default=Value(0),
        output_field=IntegerField(),
    )
    highest_sent = Subquery(
        InvoiceReminder.objects.filter(invoice=OuterRef("pk")).order_by("-level").values("level")[:1]
    )
    return list(
        Invoice.objects.filter(
            status=Invoice.Status.OPEN,
            total__gt=F("amount_paid"),
            due_date__lte=today - timedelta(days=levels[0]),
        )
        .exclude(customer_email="")
        .annotate(
            level_due=level_due, highest_sent=Coalesce(highest_sent, Value(0), output_field=IntegerField())
        )
        .filter(level_due__gt=F("highest_sent"))
        .order_by("pk")
        .values_list("pk", "level_due", "due_date", "customer_email")
    )


def _claim(rows: list[tuple[int, int, date, str]], today: date) -> list[tuple[int, int, int]]:
    """Insert the reminder rows nobody has yet; returns (reminder id, invoice id, level) of ours."""
    if not rows:
        return []
    table = InvoiceReminder._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (invoice_id, level, days_overdue, sent_to, sent_at)
            SELECT c.invoice_id, c.level, c.days_overdue, c.sent_to, %s
            FROM unnest(%s::bigint[], %s::smallint[], %s::integer[], %s::text[])
                AS c(invoice_id, level, days_overdue, sent_to)
            ON CONFLICT (invoice_id, level) DO NOTHING
            RETURNING id, invoice_id, level
            """,  # noqa: S608 - the table name is ours, the values are parameters
            [
                timezone.now(),
                [pk for pk, _, _, _ in rows],
                [level for _, level, _, _ in rows],
                [(today - due).days for _, _, due, _ in rows],
                [email for _, _, _, email in rows],
            ],
        )
        return sorted(cursor.fetchall(), key=lambda row: row[1])


def invoices_remind(*, today: date | None = None) -> int:
    """Queue the reminders due `today` (default: the local date); returns how
    many this call queued. Safe to run twice or concurrently."""
    today = today or timezone.localdate()
    levels = dunning_levels()
    candidates = _due_candidates(today, levels)
    queued = 0
    for start in range(0, len(candidates), CLAIM_BATCH):
        # Claims in invoice order: two concurrent runs wait on each other, never deadlock.
        with transaction.atomic():
            for reminder_id, invoice_id, level in _claim(candidates[start : start + CLAIM_BATCH], today):
                emit(
                    REMINDER_TOPIC,
                    {"reminder_id": reminder_id, "invoice_id": invoice_id, "level": level},
                    aggregate=f"invoice:{invoice_id}",
                )
                queued += 1
    return queued


@handler(REMINDER_TOPIC, name="email.invoice_reminder")
def invoice_reminder_email(event) -> None:
    reminder = (
        InvoiceReminder.objects.select_related("invoice__channel")
        .filter(pk=event.payload["reminder_id"])
        .first()
    )
    if reminder is None:  # withdrawn on an earlier delivery: the invoice was settled
        return
    invoice = reminder.invoice
    if invoice.status != Invoice.Status.OPEN or invoice.outstanding <= 0:
        # Paid or voided between the claim and now: no e-mail, and no record
        # of one, so the reminder history says what the customer received.
        reminder.delete()
        return
    channel = invoice.channel
    count = len(dunning_levels())
    send_templated(
        event=event,
        to=[reminder.sent_to],
        template="emails/invoice_reminder",
        context={
            "invoice": invoice,
            "channel": channel,
            "merchant_name": channel.name if channel else "",
            "level": reminder.level,
            "level_name": level_name(reminder.level, count),
            "is_first": reminder.level == 1,
            "is_final": reminder.level >= count and count > 1,
            "days_overdue": reminder.days_overdue,
            "outstanding": invoice.outstanding,
            "bank_details": getattr(settings, "MERCHANT_BANK_DETAILS", ""),
            "support_email": channel.support_email if channel else "",
        },
        from_email=(channel.sender_email if channel else "") or None,
    )
    InvoiceReminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
