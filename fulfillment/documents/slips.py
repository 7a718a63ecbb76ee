"""Packing slips (what is in this parcel) and receipts (what the order cost).

Packing slips show unit prices, except on gift orders: a gift's slip names
the items and carries the gift message, never what they cost. Money lives on
the receipt, which goes to the buyer (and so keeps its prices on gifts too).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from oms.documents import (
    Table,
    address_lines,
    continued_page,
    draw_lines,
    fonts,
    format_money,
    page_heading,
    paper_for,
    priced_lines_table,
    render_pages,
    warehouse_address,
    wrap,
)
from orders.models import Order

from ..models import FulfillmentOrder

MARGIN = 18 * mm


def packing_slip_pdf(fos: Iterable[FulfillmentOrder]) -> bytes:
    return render_pages(fos, draw_packing_slip, field="shipments", what="shipment")


def draw_packing_slip(canvas: Canvas, fo: FulfillmentOrder) -> None:
    """Draw one shipment's slip (one page or more) and end its last page."""
    order = fo.order
    gift = order.is_gift
    size = paper_for(fo.warehouse.country)
    width, _height = size
    regular, bold = fonts()

    new_page = continued_page(
        canvas, size, f"Packing slip - order {order.number}, shipment {fo.number} (cont.)", MARGIN
    )

    canvas.setPageSize(size)
    y = page_heading(
        canvas, size, order.channel.name, "GIFT PACKING SLIP" if gift else "PACKING SLIP", MARGIN
    )
    meta = [
        f"Order {order.number}",
        f"Shipment {fo.number}",
        f"Ordered {timezone.localtime(order.placed_at):%Y-%m-%d}",
    ]
    if fo.tracking_number:
        meta.append(f"Tracking {fo.tracking_number}")
    draw_lines(canvas, width - MARGIN - 160, y, meta, size=9)
    canvas.setFont(bold, 9)
    canvas.drawString(MARGIN, y, "Ship to")
    ship_to_end = draw_lines(canvas, MARGIN, y - 13, address_lines(fo.ship_to), size=9)
    canvas.setFont(bold, 9)
    canvas.drawString(MARGIN + 200, y, "Ship from")
    from_end = draw_lines(
        canvas, MARGIN + 200, y - 13, address_lines(warehouse_address(fo.warehouse)), size=9
    )
    y = min(ship_to_end, from_end, y - 4 * 13) - 10

    if gift:
        canvas.setFont(bold, 11)
        canvas.drawString(MARGIN, y, "A gift for you")
        y -= 15
        if order.gift_message:
            lines = wrap(order.gift_message, size=10, width=width - 2 * MARGIN - 16)
            box_height = len(lines) * 13 + 10
            canvas.roundRect(MARGIN, y - box_height + 8, width - 2 * MARGIN, box_height, 4)
            y = draw_lines(canvas, MARGIN + 8, y - 4, lines, size=10, leading=13) - 10
        y -= 6

    lines = list(fo.lines.select_related("sku", "order_line").order_by("id"))
    usable = width - 2 * MARGIN
    if gift:
        columns = [
            ("SKU", 110, "l"),
            ("Item", usable - 110 - 120 - 50, "l"),
            ("Barcode", 120, "l"),
            ("Qty", 50, "r"),
        ]
    else:
        columns = [
            ("SKU", 100, "l"),
            ("Item", usable - 100 - 105 - 40 - 85, "l"),
            ("Barcode", 105, "l"),
            ("Qty", 40, "r"),
            ("Unit price", 85, "r"),
        ]
    rows = []
    for line in lines:
        if line.quantity_open <= 0:
            continue
        row = [line.sku.code, line.sku.name, line.sku.barcode, line.quantity_open]
        if not gift:
            row.append(format_money(line.order_line.unit_price, order.currency))
        rows.append(row)
    table = Table(canvas, columns, x=MARGIN, bottom=MARGIN + 30, new_page=new_page)
    y = table.rows(y, rows)
    units = sum(line.quantity_open for line in lines)
    canvas.setFont(bold, 9)
    canvas.drawString(MARGIN, y - 6, f"{units} item{'s' if units != 1 else ''} in this parcel")
    if order.fulfillment_orders.exclude(pk=fo.pk).exclude(status=FulfillmentOrder.Status.CANCELLED).exists():
        canvas.setFont(regular, 8)
        canvas.drawString(MARGIN, y - 20, "Other items of your order travel in a separate parcel.")
    _footer(canvas, size, order)
    canvas.showPage()


def receipt_pdf(orders: Iterable[Order]) -> bytes:
    return render_pages(orders, draw_receipt, field="orders", what="order")


def draw_receipt(canvas: Canvas, order: Order) -> None:
    currency = order.currency
    size = paper_for(order.ship_country)
    width, _height = size
    regular, bold = fonts()

    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    new_page = continued_page(canvas, size, f"Receipt - order {order.number} (cont.)", MARGIN)

    canvas.setPageSize(size)
    y = page_heading(canvas, size, order.channel.name, "RECEIPT", MARGIN)
    draw_lines(
        canvas,
        width - MARGIN - 160,
        y,
        [
            f"Order {order.number}",
            f"Date {timezone.localtime(order.placed_at):%Y-%m-%d}",
            f"Currency {currency}",
        ],
        size=9,
    )
    canvas.setFont(bold, 9)
    canvas.drawString(MARGIN, y, "Bill to")
    y = (
        min(
            draw_lines(
                canvas, MARGIN, y - 13, address_lines(order.billing_address or order.shipping_address), size=9
            ),
            y - 3 * 13,
        )
        - 12
    )

    y = priced_lines_table(
        canvas,
        order.lines.select_related("sku").order_by("line_number"),
        money,
        width=width,
        margin=MARGIN,
        y=y,
        bottom=MARGIN + 110,
        new_page=new_page,
    )

    y -= 8
    totals = [
        ("Subtotal", money(order.subtotal)),
        ("Discounts", money(-order.discount_total) if order.discount_total else money(0)),
        ("Shipping", money(order.shipping_total)),
        ("Tax" + (" (included)" if order.prices_include_tax else ""), money(order.tax_total)),
    ]
    right = width - MARGIN - 4
    canvas.setFont(regular, 10)
    for label, amount in totals:
        canvas.drawString(right - 230, y, label)
        canvas.drawRightString(right, y, amount)
        y -= 14
    canvas.line(right - 230, y + 8, right, y + 8)
    canvas.setFont(bold, 12)
    canvas.drawString(right - 230, y - 6, "Total")
    canvas.drawRightString(right, y - 6, money(order.grand_total))
    y -= 30

    canvas.setFont(bold, 9)
    canvas.drawString(MARGIN, y, "Payment")
    y -= 13
    canvas.setFont(regular, 9)
    payments = list(order.payments.order_by("id"))
    if not payments:
        canvas.drawString(MARGIN, y, "Invoice / no card payment")
    for payment in payments:
        card = f"{payment.brand or 'Card'} **** {payment.last4}" if payment.last4 else payment.gateway
        paid = payment.amount_captured or payment.amount_authorized
        status = payment.get_status_display().lower()
        canvas.drawString(MARGIN, y, f"{card}: {format_money(paid, payment.currency)} ({status})")
        y -= 12
    _footer(canvas, size, order)
    canvas.showPage()


def _footer(canvas: Canvas, size: tuple[float, float], order: Order) -> None:
    regular, _ = fonts()
    contact = order.channel.support_email
    canvas.setFont(regular, 8)
    text = f"Questions about order {order.number}?" + (f" Write to {contact}." if contact else "")
    canvas.drawString(MARGIN, MARGIN - 4, text)
