"""The return label: 4 x 6 inch PDF, from the customer (the order's shipping
address) to the return location, with the RMA number as a Code128 barcode
and as text, so the receiving dock can scan the parcel to its return.

The page follows fulfillment's shipping label (same size, fonts and
barcode sizing from oms.documents) so the same printers and sheets take it.
"""

from __future__ import annotations

from django.utils import timezone
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

from oms.documents import (
    address_lines,
    code128,
    draw_lines,
    fonts,
    render_pages,
    thermal_module,
    warehouse_address,
)
from oms.errors import Conflict

from .models import ReturnPolicy, ReturnRequest

LABEL_SIZE = (4 * inch, 6 * inch)
MARGIN = 12
# A label is for sending goods back: only while the return waits for them.
LABELLED = {ReturnRequest.Status.AUTHORIZED}


def return_label_pdf(request: ReturnRequest) -> bytes:
    """One 4x6 inch page; refused (409) unless the return is authorized."""
    if request.status not in LABELLED:
        raise Conflict(
            f"Return {request.number} is {request.get_status_display().lower()}: only an authorized "
            "return gets a label.",
            code="no_label",
            current_status=request.status,
        )
    return render_pages([request], draw_return_label, field="returns", what="return")


def draw_return_label(canvas: Canvas, request: ReturnRequest) -> None:
    regular, bold = fonts()
    width, height = LABEL_SIZE
    canvas.setPageSize(LABEL_SIZE)
    order = request.order
    top = height - MARGIN

    canvas.setFont(bold, 7)
    canvas.drawString(MARGIN, top - 6, "FROM")
    draw_lines(canvas, MARGIN, top - 16, address_lines(order.shipping_address)[:5], size=7.5)
    canvas.setFont(bold, 15)
    canvas.drawRightString(width - MARGIN, top - 14, "RETURN")
    canvas.setFont(regular, 8)
    paid_by = request.return_shipping_paid_by == ReturnPolicy.ShippingPaidBy.MERCHANT
    canvas.drawRightString(width - MARGIN, top - 27, "Postage paid by merchant" if paid_by else "")
    canvas.setLineWidth(1.5)
    y = top - 74
    canvas.line(MARGIN, y, width - MARGIN, y)

    canvas.setFont(bold, 8)
    canvas.drawString(MARGIN, y - 12, "RETURN TO")
    to = address_lines(warehouse_address(request.location))
    y = draw_lines(canvas, MARGIN + 10, y - 28, to[:6], size=12, bold=True, leading=15)
    y = min(y, top - 74 - 28 - 6 * 15) - 4
    canvas.line(MARGIN, y, width - MARGIN, y)

    lines = [f"{ln.quantity} x {ln.sku.code}" for ln in request.lines.all()]
    if len(lines) > 4:
        lines = [*lines[:3], f"... and {len(lines) - 3} more lines"]
    details = [
        f"Order {order.number}    Return {request.number}",
        *lines,
        f"Printed {timezone.localdate():%Y-%m-%d}",
    ]
    draw_lines(canvas, MARGIN, y - 14, details, size=8.5)

    number = request.number
    module = thermal_module(number, max_width_pt=width - 2 * MARGIN)
    symbol = code128(number, module_pt=module, height_pt=1.1 * inch)
    symbol.drawOn(canvas, (width - symbol.width) / 2, MARGIN + 46)
    canvas.setFont(bold, 8)
    canvas.drawCentredString(width / 2, MARGIN + 32, "RMA #")
    canvas.setFont(bold, 16)
    canvas.drawCentredString(width / 2, MARGIN + 12, number)
    canvas.showPage()
