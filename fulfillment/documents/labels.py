"""Shipping labels: 4 x 6 inch, as PDF (any printer) and ZPL II (Zebra-style
thermal printers at 203 dpi), with the tracking number as a Code128 barcode
and as text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from django.utils import timezone
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

from oms.documents import (
    DPI_THERMAL,
    address_lines,
    code128,
    draw_lines,
    finish,
    fonts,
    new_canvas,
    thermal_module,
    warehouse_address,
)
from oms.errors import InvalidInput

from ..models import FulfillmentOrder

LABEL_SIZE = (4 * inch, 6 * inch)
MARGIN = 12
# Tracking numbers are printed in ZPL unescaped inside ^BC; carriers use these characters only.
TRACKING_PATTERN = re.compile(r"^[A-Za-z0-9-]{4,40}$")


def label_pdf(fos: Iterable[FulfillmentOrder]) -> bytes:
    """One 4x6 inch page per shipment."""
    fos = _labelled(fos)
    canvas, buffer = new_canvas()
    for fo in fos:
        draw_label(canvas, fo)
    return finish(canvas, buffer)


def draw_label(canvas: Canvas, fo: FulfillmentOrder) -> None:
    """Draw one label page (the shipment must have a tracking number)."""
    regular, bold = fonts()
    width, height = LABEL_SIZE
    canvas.setPageSize(LABEL_SIZE)
    carrier = fo.service.carrier if fo.service_id else None
    top = height - MARGIN

    canvas.setFont(bold, 7)
    canvas.drawString(MARGIN, top - 6, "FROM")
    draw_lines(canvas, MARGIN, top - 16, address_lines(warehouse_address(fo.warehouse))[:5], size=7.5)
    if carrier:
        canvas.setFont(bold, 15)
        canvas.drawRightString(width - MARGIN, top - 14, carrier.name.upper()[:18])
        canvas.setFont(regular, 9)
        canvas.drawRightString(width - MARGIN, top - 27, fo.service.name[:30])
        canvas.drawRightString(width - MARGIN, top - 38, fo.service.get_level_display().upper())
    canvas.setLineWidth(1.5)
    y = top - 74
    canvas.line(MARGIN, y, width - MARGIN, y)

    canvas.setFont(bold, 8)
    canvas.drawString(MARGIN, y - 12, "SHIP TO")
    y = draw_lines(canvas, MARGIN + 10, y - 28, address_lines(fo.ship_to)[:6], size=12, bold=True, leading=15)
    y = min(y, top - 74 - 28 - 6 * 15) - 4
    canvas.line(MARGIN, y, width - MARGIN, y)

    weight = fo.weight_grams or 0
    details = [
        f"Order {fo.order.number}    Shipment {fo.number}",
        f"Weight {weight / 1000:.2f} kg"
        + (f"    Dim. weight {fo.dim_weight_grams / 1000:.2f} kg" if fo.dim_weight_grams else ""),
        f"Box {fo.box.code}" if fo.box_id else "",
        f"Printed {timezone.localdate():%Y-%m-%d}",
    ]
    y = draw_lines(canvas, MARGIN, y - 14, [d for d in details if d], size=8.5)
    canvas.line(MARGIN, y + 2, width - MARGIN, y + 2)

    tracking = fo.tracking_number or ""
    module = thermal_module(tracking, max_width_pt=width - 2 * MARGIN)
    symbol = code128(tracking, module_pt=module, height_pt=1.1 * inch)
    x = (width - symbol.width) / 2
    symbol.drawOn(canvas, x, MARGIN + 46)
    canvas.setFont(bold, 8)
    canvas.drawCentredString(width / 2, MARGIN + 32, "TRACKING #")
    canvas.setFont(bold, 16)
    canvas.drawCentredString(width / 2, MARGIN + 12, tracking)
    canvas.showPage()


def label_zpl(fos: Iterable[FulfillmentOrder]) -> str:
    """ZPL II, one ^XA ... ^XZ format per shipment, 4x6 inch at 203 dpi."""
    return "".join(_zpl(fo) for fo in _labelled(fos))


def _zpl(fo: FulfillmentOrder) -> str:
    dots_wide, dots_high = 4 * DPI_THERMAL, 6 * DPI_THERMAL
    tracking = fo.tracking_number or ""
    carrier = fo.service.carrier if fo.service_id else None
    out = ["^XA", "^CI28", f"^PW{dots_wide}", f"^LL{dots_high}", "^LH0,0"]

    def text(x: int, y: int, size: int, value: str) -> None:
        out.append(f"^FO{x},{y}^A0N,{size},{size}^FH\\^FD{_zpl_escape(value)}^FS")

    text(30, 30, 22, "FROM")
    for i, line in enumerate(address_lines(warehouse_address(fo.warehouse))[:5]):
        text(30, 56 + i * 24, 22, line)
    if carrier:
        text(480, 30, 40, carrier.name.upper()[:14])
        text(480, 80, 26, fo.service.name[:24])
        text(480, 112, 26, fo.service.get_level_display().upper())
    out.append(f"^FO30,190^GB{dots_wide - 60},4,4^FS")
    text(30, 205, 24, "SHIP TO")
    for i, line in enumerate(address_lines(fo.ship_to)[:6]):
        text(60, 240 + i * 44, 38, line)
    out.append(f"^FO30,520^GB{dots_wide - 60},4,4^FS")
    text(30, 540, 26, f"Order {fo.order.number}   Shipment {fo.number}")
    text(
        30,
        576,
        26,
        f"Weight {(fo.weight_grams or 0) / 1000:.2f} kg" + (f"   Box {fo.box.code}" if fo.box_id else ""),
    )
    out.append(f"^FO30,620^GB{dots_wide - 60},4,4^FS")
    # Module width in dots: the widest that keeps the symbol (with quiet zones) on the label.
    modules = 11 * (len(tracking) + 3) + 2 + 20
    module = max(2, min(4, (dots_wide - 60) // modules))
    x = max(30, (dots_wide - modules * module) // 2)
    out.append(f"^FO{x},680^BY{module},3,220^BCN,220,N,N,N,A^FD{tracking}^FS")
    out.append(f"^FO30,930^FB{dots_wide - 60},1,0,C^A0N,30,30^FDTRACKING #^FS")
    out.append(f"^FO30,970^FB{dots_wide - 60},1,0,C^A0N,56,56^FD{tracking}^FS")
    out.append("^XZ")
    return "\n".join(out) + "\n"


def _zpl_escape(value: str) -> str:
    """Field data under ^FH\\: the command prefixes and the escape itself as hex."""
    return value.replace("\\", "\\5C").replace("^", "\\5E").replace("~", "\\7E")


def _labelled(fos: Iterable[FulfillmentOrder]) -> Sequence[FulfillmentOrder]:
    fos = list(fos)
    if not fos:
        raise InvalidInput.field("shipments", "name at least one shipment")
    for fo in fos:
        if not fo.tracking_number:
            raise InvalidInput.field(
                "shipments",
                f"shipment {fo.number} has no tracking number yet; pack it first",
                code="no_tracking",
            )
        if not TRACKING_PATTERN.match(fo.tracking_number):
            raise InvalidInput.field(
                "shipments", f"shipment {fo.number} has tracking number {fo.tracking_number!r}, not printable"
            )
    return fos
