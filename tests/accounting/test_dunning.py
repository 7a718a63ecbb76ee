"""Dunning: overdue invoices get reminder e-mails at the configured levels,
the highest level due only, exactly once (also when two runs race), with the
amount still outstanding; paid and void invoices get none."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from accounting.dunning import REMINDER_TOPIC, invoices_remind
from accounting.invoicing import (
    INVOICE_ISSUED_TOPIC,
    InvoiceInput,
    InvoiceLineInput,
    invoice_issue,
    invoice_payment_record,
)
from accounting.models import Invoice, InvoiceReminder
from accounting.tasks import send_invoice_reminders
from oms.actors import Actor
from oms.models import OutboxEvent
from oms.outbox import dispatch_pending
from tests.factories import ChannelFactory

SYSTEM = Actor.system()
D = Decimal
ISSUED = date(2026, 3, 2)
DUE = ISSUED + timedelta(days=30)  # 2026-04-01


def overdue(days: int) -> date:
    return DUE + timedelta(days=days)


@pytest.fixture(autouse=True)
def _books(settings):
    settings.BASE_CURRENCY = "USD"
    settings.DUNNING_LEVELS = (1, 14, 30)
    settings.DEFAULT_FROM_EMAIL = "oms@shop.example"


@pytest.fixture
def b2b(db):
    return ChannelFactory(
        code="B2B",
        name="Acme Wholesale",
        kind="b2b",
        sender_email="billing@acme.example",
        support_email="accounts@acme.example",
    )


def issue(ref: str = "shipment:1", *, channel=None, day: date = ISSUED, terms: int = 30):
    invoice = _issue(ref, channel=channel, day=day, terms=terms)
    # The "invoice issued" announcement (for webhooks) is not what these tests count.
    OutboxEvent.objects.filter(topic=INVOICE_ISSUED_TOPIC).update(dispatched_at=timezone.now())
    return invoice


def _issue(ref: str, *, channel, day: date, terms: int):
    return invoice_issue(
        data=InvoiceInput(
            source_ref=ref,
            customer_id=7,
            customer_name="Buyer Ltd",
            customer_email="ap@buyer.example",
            currency="USD",
            terms_days=terms,
            lines=[
                InvoiceLineInput(
                    sku="MUG-1",
                    description="Stoneware mug",
                    quantity=10,
                    unit_price=D("10.00"),
                    net_amount=D("100.00"),
                    tax=D("8.00"),
                )
            ],
            shipping_net=D("2.00"),
            order_ref="B-1001",
            channel_id=channel.pk if channel else None,
        ),
        day=day,
        actor=SYSTEM,
    )


def sent_levels(invoice) -> list[tuple[int, int]]:
    return list(invoice.reminders.order_by("level").values_list("level", "days_overdue"))


# --- Which levels, when ------------------------------------------------------------------


@pytest.mark.django_db
def test_each_level_goes_out_once_when_it_falls_due(b2b, mailoutbox):
    invoice = issue(channel=b2b)
    assert invoice.due_date == DUE and invoice.total == D("110.00")

    assert invoices_remind(today=DUE) == 0  # due today is not overdue
    assert invoices_remind(today=overdue(1)) == 1
    assert invoices_remind(today=overdue(1)) == 0  # the same day again
    assert invoices_remind(today=overdue(13)) == 0
    assert invoices_remind(today=overdue(14)) == 1
    assert invoices_remind(today=overdue(29)) == 0
    assert invoices_remind(today=overdue(30)) == 1
    assert invoices_remind(today=overdue(90)) == 0  # nothing after the final notice

    assert sent_levels(invoice) == [(1, 1), (2, 14), (3, 30)]
    assert OutboxEvent.objects.filter(topic=REMINDER_TOPIC).count() == 3
    assert dispatch_pending() == 3
    assert dispatch_pending() == 0
    assert [m.subject for m in mailoutbox] == [
        f"Payment reminder: invoice {invoice.number}, 110.00 USD 1 day overdue",
        f"Second notice: invoice {invoice.number}, 110.00 USD 14 days overdue",
        f"Final notice: invoice {invoice.number}, 110.00 USD 30 days overdue",
    ]
    assert all(m.to == ["ap@buyer.example"] and m.from_email == "billing@acme.example" for m in mailoutbox)
    assert "friendly reminder" in mailoutbox[0].body
    assert "final notice" in mailoutbox[2].body


@pytest.mark.django_db
def test_only_the_highest_missed_level_is_sent(b2b, mailoutbox):
    invoice = issue(channel=b2b)
    assert invoices_remind(today=overdue(20)) == 1
    assert sent_levels(invoice) == [(2, 20)]  # not level 1 as well
    assert invoices_remind(today=overdue(25)) == 0
    assert invoices_remind(today=overdue(45)) == 1
    assert sent_levels(invoice) == [(2, 20), (3, 45)]

    dispatch_pending()
    assert [m.subject.split(":")[0] for m in mailoutbox] == ["Second notice", "Final notice"]


@pytest.mark.django_db
def test_a_lower_level_never_follows_a_higher_one(b2b, settings):
    invoice = issue(channel=b2b)
    assert invoices_remind(today=overdue(30)) == 1
    settings.DUNNING_LEVELS = (1, 60, 90)  # staff moved the levels later
    assert invoices_remind(today=overdue(40)) == 0
    assert sent_levels(invoice) == [(3, 30)]


@pytest.mark.django_db
def test_levels_come_from_settings(b2b, settings, mailoutbox):
    settings.DUNNING_LEVELS = (7,)
    invoice = issue(channel=b2b)
    assert invoices_remind(today=overdue(6)) == 0
    assert invoices_remind(today=overdue(7)) == 1
    assert invoices_remind(today=overdue(60)) == 0
    assert sent_levels(invoice) == [(1, 7)]
    dispatch_pending()
    (message,) = mailoutbox
    assert message.subject.startswith("Payment reminder:")


@pytest.mark.django_db
@pytest.mark.parametrize("levels", [(), (0, 14), (14, 1), (1, 1, 30)])
def test_bad_levels_are_refused(settings, levels):
    settings.DUNNING_LEVELS = levels
    with pytest.raises(ImproperlyConfigured, match="DUNNING_LEVELS"):
        invoices_remind(today=overdue(1))


# --- Paid, void, partly paid -------------------------------------------------------------


@pytest.mark.django_db
def test_paid_and_void_invoices_get_no_reminder(b2b, mailoutbox):
    paid = issue("shipment:1", channel=b2b)
    invoice_payment_record(
        invoice_id=paid.pk, amount=D("110.00"), day=overdue(3), reference="BANK-1", actor=SYSTEM
    )
    void = issue("shipment:2", channel=b2b)
    Invoice.objects.filter(pk=void.pk).update(status=Invoice.Status.VOID)
    not_yet_due = issue("shipment:3", channel=b2b, day=overdue(1))
    no_terms_due_today = issue("shipment:4", channel=b2b, day=overdue(30), terms=0)

    assert invoices_remind(today=overdue(30)) == 0
    assert not InvoiceReminder.objects.exists()
    assert dispatch_pending() == 0 and mailoutbox == []
    assert not_yet_due.due_date > overdue(30) and no_terms_due_today.due_date == overdue(30)


@pytest.mark.django_db
def test_a_partly_paid_invoice_is_reminded_of_what_is_left(b2b, mailoutbox):
    invoice = issue(channel=b2b)
    invoice_payment_record(
        invoice_id=invoice.pk, amount=D("40.00"), day=overdue(2), reference="BANK-1", actor=SYSTEM
    )
    assert invoices_remind(today=overdue(14)) == 1
    assert dispatch_pending() == 1
    (message,) = mailoutbox
    assert "70.00 USD" in message.subject
    assert "Paid so far:  40.00 USD" in message.body
    assert "Outstanding:  70.00 USD" in message.body


@pytest.mark.django_db
def test_an_invoice_paid_before_the_e_mail_goes_gets_none(b2b, mailoutbox):
    invoice = issue(channel=b2b)
    assert invoices_remind(today=overdue(1)) == 1
    invoice_payment_record(
        invoice_id=invoice.pk, amount=D("110.00"), day=overdue(1), reference="B", actor=SYSTEM
    )

    assert dispatch_pending() == 1
    assert mailoutbox == []
    assert not InvoiceReminder.objects.filter(invoice=invoice).exists()  # the history says what was sent


# --- The e-mail, over a real SMTP server ---------------------------------------------------


@pytest.mark.django_db
def test_the_reminder_arrives_over_smtp_with_what_to_pay_and_how(smtp_server, b2b, settings):
    settings.MERCHANT_BANK_DETAILS = "Acme Wholesale Inc., IBAN US00 1234 5678, BIC ACMEUS33"
    invoice = issue(channel=b2b)
    assert invoices_remind(today=overdue(14)) == 1
    assert dispatch_pending() == 1

    ((sender, recipients, message),) = smtp_server.messages
    assert sender == "billing@acme.example" and recipients == ["ap@buyer.example"]
    assert message["Subject"] == f"Second notice: invoice {invoice.number}, 110.00 USD 14 days overdue"
    event = OutboxEvent.objects.get(topic=REMINDER_TOPIC)
    assert message["Message-ID"].startswith(f"<outbox-{event.pk}-")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for expected in (
        f"Invoice:      {invoice.number} (order B-1001)",
        "Due:          1 April 2026",
        "Days overdue: 14",
        "Outstanding:  110.00 USD",
        f"please transfer 110.00 USD quoting the invoice number {invoice.number}",
        "IBAN US00 1234 5678",
        "accounts@acme.example",
        "still unpaid despite our earlier reminder",
    ):
        assert expected in text, expected
    assert "<td><strong>110.00 USD</strong></td>" in html and "<td>14</td>" in html
    assert 'href="mailto:accounts@acme.example"' in html
    reminder = InvoiceReminder.objects.get(invoice=invoice)
    assert (reminder.level, reminder.sent_to) == (2, "ap@buyer.example")


@pytest.mark.django_db
def test_an_unreachable_smtp_server_keeps_the_reminder_for_a_retry(smtp_server, b2b):
    issue(channel=b2b)
    smtp_server.stop()
    assert invoices_remind(today=overdue(1)) == 1
    assert dispatch_pending() == 0
    event = OutboxEvent.objects.get(topic=REMINDER_TOPIC)
    assert event.dispatched_at is None and event.attempts == 1

    smtp_server.start()
    OutboxEvent.objects.filter(pk=event.pk).update(available_at=event.created_at)
    assert invoices_remind(today=overdue(1)) == 0  # claimed already: the outbox owns it
    assert dispatch_pending() == 1
    assert len(smtp_server.messages) == 1


# --- Beat, cost, startup ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_beat_task_reminds_as_of_today(b2b, mailoutbox):
    long_ago = date.today() - timedelta(days=100)
    invoice = issue(channel=b2b, day=long_ago)
    assert send_invoice_reminders.apply().get() == 1
    assert send_invoice_reminders.apply().get() == 0
    assert sent_levels(invoice) == [(3, 70)]
    entry = [
        e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == send_invoice_reminders.name
    ]
    assert len(entry) == 1 and entry[0]["schedule"] == 24 * 3600


@pytest.mark.django_db
def test_finding_candidates_is_one_query_however_many_invoices(b2b, django_assert_num_queries):
    for i in range(12):
        issue(f"shipment:{i}", channel=b2b)
    assert invoices_remind(today=overdue(1)) == 12
    with django_assert_num_queries(1):  # every invoice checked, nothing due: one query
        assert invoices_remind(today=overdue(5)) == 0
    # due: the search, the claims in one statement, then one outbox row per e-mail
    with django_assert_num_queries(1 + 1 + 12 + 2):  # + savepoint/transaction bookkeeping
        assert invoices_remind(today=overdue(14)) == 12


def test_the_reminder_handler_is_registered_at_startup():
    """A process that never imports accounting.dunning (the web process's
    admin "dispatch outbox" action) must still send reminders, not mark the
    event delivered with no handler run."""
    code = (
        "import django; django.setup();"
        "from oms.outbox import handlers_for;"
        f"print(sorted(handlers_for({REMINDER_TOPIC!r})))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "oms.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "email.invoice_reminder" in out.stdout, out.stdout + out.stderr


# --- Concurrency -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_each_reminder_once(mailoutbox):
    channel = ChannelFactory(code="B2B-RACE", sender_email="billing@acme.example")
    invoices = [issue(f"shipment:{i}", channel=channel) for i in range(250)]  # two claim batches
    n = 6
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = invoices_remind(today=overdue(14))
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a run hung"
    assert not [r for r in results if isinstance(r, Exception)], results

    assert sum(results) == 250
    assert InvoiceReminder.objects.count() == 250
    assert set(InvoiceReminder.objects.values_list("level", flat=True)) == {2}
    assert OutboxEvent.objects.filter(topic=REMINDER_TOPIC).count() == 250
    while dispatch_pending():
        pass
    assert len(mailoutbox) == 250
    assert sorted(m.subject.split(",")[0] for m in mailoutbox) == sorted(
        f"Second notice: invoice {inv.number}" for inv in invoices
    )
