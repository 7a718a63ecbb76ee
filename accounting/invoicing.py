"""Receivables and payables: customer invoices with payment terms and the
payments against them, supplier invoices and what we pay them.

Every function posts its journal entry in the same transaction as the
document it writes, so an invoice and its receivable can never disagree.

Foreign currency: an invoice is booked at the rate of its issue day (the
newest rate on or before it: issuing never waits for the day's rate); a
payment is booked at the rate of its own day (that day's rate must be loaded:
the bank statement is dated). The receivable is cleared at the rate it was
booked at, and the difference between what the money is worth today and what
the invoice was worth when issued is a realised FX gain or loss (7900). The
last payment clears exactly what is left of the invoice's receivable in the
base currency, so a paid invoice leaves nothing behind on 1200 / 2000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, NotFound
from oms.money import MINOR_UNITS, has_valid_precision, parse_amount, round_money
from oms.outbox import emit

from .models import Invoice, InvoiceLine, InvoicePayment, JournalLine, SupplierInvoice, SupplierPayment
from .services import Posting, base_currency, base_value, exchange_rate, journal_post

CASH, RECEIVABLE, PAYABLE, GRNI = "1000", "1200", "2000", "2100"
TAX_PAYABLE, REVENUE, SHIPPING_INCOME, COGS, FX = "2200", "4000", "4100", "5000", "7900"
ZERO = Decimal(0)
INVOICE_ISSUED_TOPIC = "accounting.invoice_issued"  # other systems hear of it (outbound webhooks)


@dataclass(frozen=True)
class InvoiceLineInput:
    sku: str
    description: str
    quantity: int
    unit_price: Decimal  # net of tax
    net_amount: Decimal  # quantity x unit price - discount, net of tax
    tax: Decimal = ZERO


@dataclass(frozen=True)
class InvoiceInput:
    source_ref: str
    customer_id: int
    customer_name: str
    customer_email: str
    currency: str
    terms_days: int
    lines: list[InvoiceLineInput]
    shipping_net: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    order_ref: str = ""
    billing_address: dict = field(default_factory=dict)
    channel_id: int | None = None


def _money(value, currency: str, name: str, *, positive: bool = False) -> Decimal:
    try:
        amount = parse_amount(value)  # never through float; finite
    except (ArithmeticError, TypeError, ValueError):
        raise InvalidInput.field(name, f"{value!r} is not an amount") from None
    if amount < 0 or (positive and amount == 0):
        raise InvalidInput.field(
            name, "must be above zero" if positive else "must not be negative", code="negative_amount"
        )
    if not has_valid_precision(amount, currency):
        raise InvalidInput.field(name, f"{amount} has more decimals than {currency} allows")
    return amount


def _currency(currency: str) -> str:
    if currency not in MINOR_UNITS:
        raise InvalidInput.field("currency", f"unknown currency {currency[:8]!r}", code="unknown_currency")
    return currency


def _number(prefix: str, pk: int) -> str:
    return f"{prefix}{pk:08d}"


@transaction.atomic
def invoice_issue(*, data: InvoiceInput, day: date, actor: Actor) -> Invoice:
    """Issue an invoice due `terms_days` after `day`: receivable vs revenue,
    shipping income and tax. Once per source_ref: a retry gets the same one."""
    existing = Invoice.objects.filter(source_ref=data.source_ref).first()
    if existing is not None:
        return existing
    c = _currency(data.currency)
    if data.terms_days is None or data.terms_days < 0:
        raise InvalidInput.field("terms_days", "must be zero or more days")
    if not data.lines:
        raise InvalidInput.field("lines", "an invoice needs at least one line")
    net = tax = ZERO
    for i, ln in enumerate(data.lines):
        if ln.quantity <= 0:
            raise InvalidInput.field(f"lines[{i}].quantity", "must be a positive whole number")
        net += _money(ln.net_amount, c, f"lines[{i}].net_amount")
        tax += _money(ln.tax, c, f"lines[{i}].tax")
    shipping = _money(data.shipping_net, c, "shipping_net")
    tax += _money(data.shipping_tax, c, "shipping_tax")
    total = net + shipping + tax
    if total <= 0:
        raise InvalidInput.field("lines", "the invoice total must be above zero")
    ch = data.channel_id
    postings = [Posting(RECEIVABLE, debit=total, currency=c, channel_id=ch, memo=data.customer_name)]
    for account, amount in ((REVENUE, net), (SHIPPING_INCOME, shipping), (TAX_PAYABLE, tax)):
        if amount > 0:
            postings.append(Posting(account, credit=amount, currency=c, channel_id=ch))
    entry = journal_post(
        day=day,
        memo=f"Invoice to {data.customer_name}" + (f" for order {data.order_ref}" if data.order_ref else ""),
        source_type="invoice",
        source_ref=data.source_ref,
        postings=postings,
        actor=actor,
        latest_rate=True,
    )
    rate = exchange_rate(currency=c, day=day, latest=True)
    invoice = Invoice.objects.create(
        number=f"pending:{data.source_ref}"[:20],
        source_ref=data.source_ref,
        order_ref=data.order_ref,
        customer_id=data.customer_id,
        customer_name=data.customer_name[:200],
        customer_email=data.customer_email,
        billing_address=data.billing_address or {},
        channel_id=ch,
        currency=c,
        issue_date=day,
        terms_days=data.terms_days,
        due_date=day + timedelta(days=data.terms_days),
        net_total=net,
        shipping_total=shipping,
        tax_total=tax,
        total=total,
        rate=rate,
        entry=entry,
    )
    invoice.number = _number("INV", invoice.pk)
    invoice.save(update_fields=["number"])
    emit(INVOICE_ISSUED_TOPIC, {"invoice_id": invoice.pk}, aggregate=f"invoice:{invoice.pk}")
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            line_number=i + 1,
            sku=ln.sku[:64],
            description=ln.description[:200],
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            tax=ln.tax,
            net_amount=ln.net_amount,
        )
        for i, ln in enumerate(data.lines)
    )
    return invoice


def _booked_base(entry_ids, account: str) -> Decimal:
    """Debits minus credits on `account` over the entries (base currency)."""
    totals = JournalLine.objects.filter(entry_id__in=entry_ids, account__code=account).aggregate(
        d=Sum("debit"), c=Sum("credit")
    )
    return (totals["d"] or ZERO) - (totals["c"] or ZERO)


def _settle(doc, payments, *, amount, day: date, reference: str, account: str, incoming: bool):
    """The postings of a payment of `amount` (the document's currency) on
    `day` against `doc` (an Invoice or SupplierInvoice, locked): the open
    item cleared at its booked rate, cash at the day's rate, FX in between."""
    c = doc.currency
    amount = _money(amount, c, "amount", positive=True)
    if not reference.strip():
        raise InvalidInput.field("reference", "is required (the bank reference)")
    if doc.status != doc.Status.OPEN:
        raise Conflict(f"{doc} is {doc.status}: it takes no payments.", code="not_open")
    if amount > doc.outstanding:
        raise InvalidInput.field(
            "amount", f"{amount} {c} is more than the {doc.outstanding} {c} outstanding on {doc}"
        )
    rate = exchange_rate(currency=c, day=day)  # the day's own rate: a payment is dated
    base = base_currency()
    if amount == doc.outstanding:  # the last payment clears what is left, to the cent
        open_base = abs(_booked_base([doc.entry_id, *[p.entry_id for p in payments]], account))
    else:
        open_base = base_value(amount, doc.rate)
    cash_base = base_value(amount, rate)
    side = "debit" if incoming else "credit"
    other = "credit" if incoming else "debit"
    postings = [
        Posting(CASH, **{side: amount}, currency=c, memo=reference[:200]),
        Posting(account, **{other: amount}, currency=c, rate=doc.rate, base_amount=open_base),
    ]
    gain = (cash_base - open_base) if incoming else (open_base - cash_base)
    if gain:
        postings.append(
            Posting(FX, **{("credit" if gain > 0 else "debit"): abs(gain)}, currency=base, memo="realised FX")
        )
    return amount, rate, postings


def invoice_payment_record(
    *, invoice_id: int, amount, day: date, reference: str, actor: Actor
) -> InvoicePayment:
    """Money received against an invoice (partly or in full). Once per bank
    reference: recording the same reference again returns the first one."""
    return _record_payment(
        Invoice,
        invoice_id,
        amount=amount,
        day=day,
        reference=reference,
        actor=actor,
        account=RECEIVABLE,
        incoming=True,
        memo=lambda doc: f"Payment {reference} on {doc.number} from {doc.customer_name}",
        source=("invoice_payment", lambda doc: f"{doc.number}:{reference}"),
    )


@transaction.atomic
def _record_payment(model, pk, *, amount, day, reference, actor, account, incoming, memo, source):
    """A payment against an open invoice or supplier invoice (locked), its
    entry (see _settle) and the document's paid amount and status."""
    doc = model.objects.select_for_update().filter(pk=pk).first()
    if doc is None:
        raise NotFound(f"{model._meta.verbose_name.capitalize()} {pk} does not exist.")
    existing = doc.payments.filter(reference=reference).first()
    if existing is not None:
        return existing
    previous = list(doc.payments.all())
    amount, rate, postings = _settle(
        doc, previous, amount=amount, day=day, reference=reference, account=account, incoming=incoming
    )
    source_type, source_ref = source
    entry = journal_post(
        day=day,
        memo=memo(doc),
        source_type=source_type,
        source_ref=source_ref(doc)[:100],
        postings=postings,
        actor=actor,
    )
    payment = doc.payments.create(day=day, amount=amount, rate=rate, reference=reference, entry=entry)
    doc.amount_paid += amount
    if doc.amount_paid == doc.total:
        doc.status, doc.paid_at = model.Status.PAID, day
    doc.save(update_fields=["amount_paid", "status", "paid_at"])
    return payment


@transaction.atomic
def supplier_invoice_record(
    *,
    supplier_id: int,
    supplier_name: str,
    number: str,
    currency: str,
    issue_date: date,
    due_date: date,
    net_total,
    tax_total,
    actor: Actor,
    received_value=None,
    po_ref: str = "",
) -> SupplierInvoice:
    """Book a supplier's invoice: it clears goods received not invoiced at
    `received_value` (what the receipts booked; default the net total), the
    input tax reduces tax payable, a price difference goes to cost of goods,
    and the total is owed on accounts payable. Once per (supplier, number)."""
    number = (number or "").strip()
    if not number:
        raise InvalidInput.field("number", "is required (the supplier's invoice number)")
    existing = SupplierInvoice.objects.filter(supplier_id=supplier_id, number=number).first()
    if existing is not None:
        return existing
    c = _currency(currency)
    if due_date < issue_date:
        raise InvalidInput.field("due_date", "must not be before the issue date")
    net = _money(net_total, c, "net_total", positive=True)
    tax = _money(tax_total, c, "tax_total")
    received = net if received_value is None else _money(received_value, c, "received_value")
    total = net + tax
    postings = []
    if received > 0:
        postings.append(Posting(GRNI, debit=received, currency=c))
    if net != received:
        side = "debit" if net > received else "credit"
        postings.append(
            Posting(COGS, **{side: abs(net - received)}, currency=c, memo="purchase price difference")
        )
    if tax > 0:
        postings.append(Posting(TAX_PAYABLE, debit=tax, currency=c, memo="input tax"))
    postings.append(Posting(PAYABLE, credit=total, currency=c, memo=supplier_name[:200]))
    entry = journal_post(
        day=issue_date,
        memo=f"Supplier invoice {number} from {supplier_name}",
        source_type="supplier_invoice",
        source_ref=f"{supplier_id}:{number}"[:100],
        postings=postings,
        actor=actor,
        latest_rate=True,
    )
    try:
        with transaction.atomic():
            return SupplierInvoice.objects.create(
                supplier_id=supplier_id,
                supplier_name=supplier_name[:200],
                number=number[:60],
                po_ref=po_ref[:40],
                currency=c,
                issue_date=issue_date,
                due_date=due_date,
                net_total=net,
                tax_total=tax,
                total=total,
                rate=exchange_rate(currency=c, day=issue_date, latest=True),
                entry=entry,
            )
    except IntegrityError:  # a concurrent booking of the same invoice won
        return SupplierInvoice.objects.get(supplier_id=supplier_id, number=number)


def supplier_payment_record(
    *, supplier_invoice_id: int, amount, day: date, reference: str, actor: Actor
) -> SupplierPayment:
    """Pay a supplier's invoice (partly or in full), once per bank reference."""
    return _record_payment(
        SupplierInvoice,
        supplier_invoice_id,
        amount=amount,
        day=day,
        reference=reference,
        actor=actor,
        account=PAYABLE,
        incoming=False,
        memo=lambda doc: f"Payment {reference} to {doc.supplier_name} for {doc.number}",
        source=("supplier_payment", lambda doc: f"{doc.pk}:{reference}"),
    )


def receivable_open_base(*, customer_id: int) -> Decimal:
    """What a customer owes on open invoices, in the base currency at the
    invoices' rates (for credit limits)."""
    owed = Invoice.objects.filter(customer_id=customer_id, status=Invoice.Status.OPEN).aggregate(
        owed=Sum((F("total") - F("amount_paid")) * F("rate"))
    )["owed"]
    return round_money(owed or ZERO, base_currency())
