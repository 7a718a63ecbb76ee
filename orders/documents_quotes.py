"""The quote a customer receives: lines at the quoted prices, totals, how
long the offer stands and the payment terms an accepted quote is billed on."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from reportlab.lib.units import mm

from oms.documents import (
    address_lines,
    continued_page,
    draw_lines,
    finish,
    fonts,
    format_money,
    new_canvas,
    page_heading,
    paper_for,
    priced_lines_table,
    wrap,
)

from .models import Quote

MARGIN = 18 * mm


def quote_pdf(quote: Quote) -> bytes:
    canvas, buffer = new_canvas()
    currency = quote.currency
    size = paper_for((quote.billing_address or quote.shipping_address or {}).get("country"))
    width, _height = size
    regular, bold = fonts()
    customer = quote.customer
    channel = quote.channel

    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    new_page = continued_page(canvas, size, f"Quote {quote.number} (cont.)", MARGIN)

    canvas.setPageSize(size)
    canvas.setTitle(f"Quote {quote.number}")
    y = page_heading(canvas, size, channel.name, "QUOTE", MARGIN)

    terms = customer.payment_terms_days
    draw_lines(
        canvas,
        width - MARGIN - 170,
        y,
        [
            f"Quote {quote.number}",
            f"Date {timezone.localtime(quote.created_at):%Y-%m-%d}",
            f"Valid until {quote.valid_until:%Y-%m-%d}",
            f"Currency {currency}",
            f"Payment terms Net {terms}" if terms is not None else "Payment terms: on order",
        ],
        size=9,
    )
    canvas.setFont(bold, 9)
    canvas.drawString(MARGIN, y, "Prepared for")
    bill_to = address_lines(quote.billing_address) or [
        line for line in (customer.full_name, customer.company) if line
    ]
    end = draw_lines(canvas, MARGIN, y - 13, [*bill_to, customer.email], size=9)
    canvas.setFont(bold, 9)
    canvas.drawString(MARGIN + 200, y, "Ship to")
    ship_end = draw_lines(canvas, MARGIN + 200, y - 13, address_lines(quote.shipping_address), size=9)
    y = min(end, ship_end, y - 5 * 12) - 12

    y = priced_lines_table(
        canvas,
        quote.lines.select_related("sku").order_by("line_number"),
        money,
        width=width,
        margin=MARGIN,
        y=y,
        bottom=MARGIN + 150,
        new_page=new_page,
    )

    y -= 8
    right = width - MARGIN - 4
    canvas.setFont(regular, 10)
    for label, amount in [
        ("Subtotal", money(quote.subtotal)),
        ("Discounts", money(-quote.discount_total) if quote.discount_total else money(0)),
        ("Shipping", money(quote.shipping_total)),
        ("Tax" + (" (included)" if quote.prices_include_tax else ""), money(quote.tax_total)),
    ]:
        canvas.drawString(right - 230, y, label)
        canvas.drawRightString(right, y, amount)
        y -= 14
    canvas.line(right - 230, y + 8, right, y + 8)
    canvas.setFont(bold, 12)
    canvas.drawString(right - 230, y - 6, "Total")
    canvas.drawRightString(right, y - 6, money(quote.grand_total))
    y -= 32

    canvas.setFont(bold, 10)
    canvas.drawString(MARGIN, y, f"This quote is valid until {quote.valid_until:%Y-%m-%d}.")
    y -= 14
    canvas.setFont(regular, 9)
    if terms is not None:
        canvas.drawString(MARGIN, y, f"Once accepted it is invoiced as it ships, payable Net {terms} days.")
        y -= 14
    y -= 4
    for line in wrap(quote.notes, size=9, width=width - 2 * MARGIN) if quote.notes else []:
        if y < MARGIN + 12:
            y = new_page()
        y = draw_lines(canvas, MARGIN, y, [line], size=9)

    canvas.setFont(regular, 8)
    contact = channel.support_email
    canvas.drawString(
        MARGIN,
        MARGIN - 4,
        f"Questions about quote {quote.number}?" + (f" Write to {contact}." if contact else ""),
    )
    canvas.showPage()
    return finish(canvas, buffer)
