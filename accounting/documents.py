"""The printed invoice: who bills whom, the lines net of tax, the totals, the
terms and due date, and what is still to pay.

Accounting is a leaf: the seller comes from the invoice's channel (the name
the customer bought from, as the packing slip and receipt print it) unless
settings name the legal seller (MERCHANT_NAME, MERCHANT_ADDRESS as an
address dict, MERCHANT_TAX_ID), and the buyer is the copy the invoice keeps
of the customer's name and billing address as issued.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from reportlab.lib.units import mm

from oms.documents import (
    Table,
    address_lines,
    continued_page,
    draw_lines,
    finish,
    fonts,
    format_money,
    new_canvas,
    page_heading,
    paper_for,
)

from .models import Invoice

MARGIN = 18 * mm
ZERO = Decimal(0)


def seller_lines(invoice: Invoice) -> list[str]:
    channel = invoice.channel
    name = getattr(settings, "MERCHANT_NAME", "") or (channel.name if channel else "")
    lines = [name, *address_lines(getattr(settings, "MERCHANT_ADDRESS", None))]
    tax_id = getattr(settings, "MERCHANT_TAX_ID", "")
    if tax_id:
        lines.append(f"Tax ID {tax_id}")
    contact = (channel.support_email if channel else "") or settings.DEFAULT_FROM_EMAIL
    lines.append(contact)
    return [line for line in lines if line]


def invoice_pdf(invoice: Invoice) -> bytes:
    canvas, buffer = new_canvas()
    currency = invoice.currency
    size = paper_for((invoice.billing_address or {}).get("country"))
    width, _height = size
    regular, bold = fonts()

    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    new_page = continued_page(canvas, size, f"Invoice {invoice.number} (cont.)", MARGIN)

    canvas.setPageSize(size)
    canvas.setTitle(f"Invoice {invoice.number}")
    seller = seller_lines(invoice)
    title = {Invoice.Status.VOID: "INVOICE (VOID)", Invoice.Status.PAID: "INVOICE (PAID)"}
    merchant = seller[0] if seller else ""
    y = page_heading(canvas, size, merchant, title.get(invoice.status, "INVOICE"), MARGIN) + 8
    y = draw_lines(canvas, MARGIN, y, seller[1:], size=8) - 8

    meta = [
        f"Invoice {invoice.number}",
        f"Issue date {invoice.issue_date:%Y-%m-%d}",
        f"Due date {invoice.due_date:%Y-%m-%d}",
        f"Terms Net {invoice.terms_days}",
        f"Currency {currency}",
    ]
    if invoice.order_ref:
        meta.append(f"Order {invoice.order_ref}")
    meta_end = draw_lines(canvas, width - MARGIN - 170, y, meta, size=9)
    canvas.setFont(bold, 9)
    canvas.drawString(MARGIN, y, "Bill to")
    address = [line for line in address_lines(invoice.billing_address) if line != invoice.customer_name]
    bill_end = draw_lines(
        canvas, MARGIN, y - 13, [invoice.customer_name, *address, invoice.customer_email], size=9
    )
    y = min(meta_end, bill_end) - 14

    usable = width - 2 * MARGIN
    columns = [
        ("SKU", 90, "l"),
        ("Description", usable - 90 - 36 - 3 * 80, "l"),
        ("Qty", 36, "r"),
        ("Unit (net)", 80, "r"),
        ("Net", 80, "r"),
        ("Tax", 80, "r"),
    ]
    rows = [
        [
            line.sku,
            line.description,
            line.quantity,
            money(line.unit_price),
            money(line.net_amount),
            money(line.tax),
        ]
        for line in invoice.lines.order_by("line_number")
    ]
    y = Table(canvas, columns, x=MARGIN, bottom=MARGIN + 150, new_page=new_page).rows(y, rows)

    y -= 8
    right = width - MARGIN - 4
    canvas.setFont(regular, 10)
    for label, amount in [
        ("Net total", invoice.net_total),
        ("Shipping", invoice.shipping_total),
        ("Tax", invoice.tax_total),
    ]:
        canvas.drawString(right - 230, y, label)
        canvas.drawRightString(right, y, money(amount))
        y -= 14
    canvas.line(right - 230, y + 8, right, y + 8)
    canvas.setFont(bold, 11)
    canvas.drawString(right - 230, y - 6, "Total")
    canvas.drawRightString(right, y - 6, money(invoice.total))
    y -= 22
    canvas.setFont(regular, 10)
    canvas.drawString(right - 230, y, "Amount paid")
    canvas.drawRightString(right, y, money(invoice.amount_paid))
    y -= 16
    canvas.setFont(bold, 12)
    balance = ZERO if invoice.status == Invoice.Status.VOID else invoice.outstanding
    canvas.drawString(right - 230, y, "Balance due")
    canvas.drawRightString(right, y, money(balance))
    y -= 30

    canvas.setFont(regular, 9)
    if invoice.status == Invoice.Status.OPEN:
        canvas.drawString(
            MARGIN,
            y,
            f"Please pay {money(balance)} by {invoice.due_date:%Y-%m-%d} (Net {invoice.terms_days}), "
            f"quoting invoice {invoice.number}.",
        )
        if settings.MERCHANT_BANK_DETAILS:
            canvas.drawString(MARGIN, y - 14, f"Pay to: {settings.MERCHANT_BANK_DETAILS}"[:120])
    elif invoice.status == Invoice.Status.PAID and invoice.paid_at:
        canvas.drawString(MARGIN, y, f"Paid in full on {invoice.paid_at:%Y-%m-%d}. Thank you.")
    canvas.showPage()
    return finish(canvas, buffer)
