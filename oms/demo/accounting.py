"""The demo's books after the history: B2B customers paid most invoices on
or a little before their due date (a few paid half, a few are overdue, for
the receivables aging and the dunning reminders), and the supplier billed
the goods that came in today."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounting.invoicing import invoice_payment_record, supplier_invoice_record
from accounting.models import Invoice
from inventory.models import PurchaseOrder
from oms.actors import Actor
from oms.errors import DomainError
from oms.money import round_money


def settle(*, rng: random.Random, log: Callable[[str], None]) -> None:
    system = Actor.system()
    today = timezone.localdate()
    paid = partly = 0
    for invoice in Invoice.objects.filter(status=Invoice.Status.OPEN).order_by("issue_date", "id"):
        day = invoice.due_date - timedelta(days=rng.randint(0, 8))
        roll = rng.random()
        if day > today or roll > 0.85:
            continue  # not yet paid, or overdue
        amount = invoice.total if roll < 0.75 else round_money(invoice.total / 2, invoice.currency)
        invoice_payment_record(
            invoice_id=invoice.pk, amount=amount, day=day, reference=f"BANK-{invoice.number}", actor=system
        )
        paid, partly = paid + (amount == invoice.total), partly + (amount != invoice.total)
    billed = 0
    for po in (
        PurchaseOrder.objects.filter(lines__quantity_received__gt=0).distinct().select_related("supplier")
    ):
        value = sum((ln.unit_cost * ln.quantity_received for ln in po.lines.all()), Decimal(0))
        try:
            supplier_invoice_record(
                supplier_id=po.supplier_id,
                supplier_name=po.supplier.name,
                number=f"{po.supplier.code}-{po.pk:05d}",
                po_ref=f"po:{po.pk}",
                currency=po.currency,
                issue_date=today,
                due_date=today + timedelta(days=30),
                net_total=round_money(value, po.currency),
                tax_total=Decimal(0),
                actor=system,
            )
            billed += 1
        except DomainError as exc:
            log(f"  books: supplier invoice for {po} not booked: {exc.message}")
    open_count = Invoice.objects.filter(status=Invoice.Status.OPEN).count()
    log(f"  books: invoices paid {paid}, half paid {partly}, open {open_count}; supplier invoices {billed}")
