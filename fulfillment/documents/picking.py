"""Pick lists on paper: rows in the walking order of the bins, each bin code
as a Code128 the picker scans to confirm the location.

A single-order list has a row per line. Lists that carry several orders
(batch, zone and wave picking) have one row per bin and SKU - the picker
takes the total once - with the tote slots it is split into ("1x2, 3x1":
two units into slot 1, one into slot 3)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from oms.documents import (
    Table,
    barcodable,
    barcode_cell,
    code128,
    continued_page,
    draw_lines,
    fonts,
    paper_for,
    render_pages,
)

from ..models import PickList

MARGIN = 15 * mm
ROW_HEIGHT = 40


def pick_list_pdf(pick_lists: Iterable[PickList]) -> bytes:
    return render_pages(pick_lists, draw_pick_list, field="pick_lists", what="pick list")


def pick_list_rows(pick_list: PickList) -> list[dict]:
    """The rows as printed: walk order, aggregated by bin and SKU unless single-order."""
    lines = pick_list.lines.select_related("bin", "sku", "fulfillment_line").order_by("sequence", "id")
    rows: dict[tuple, dict] = {}
    for line in lines:
        key = (line.pk,) if pick_list.mode == PickList.Mode.SINGLE else (line.bin_id, line.sku_id)
        row = rows.setdefault(
            key,
            {
                "sequence": line.sequence,
                "bin": line.bin.code if line.bin else "",
                "sku": line.sku.code,
                "name": line.sku.name,
                "barcode": line.sku.barcode,
                "quantity": 0,
                "picked": 0,
                "totes": {},
            },
        )
        row["quantity"] += line.quantity
        row["picked"] += line.quantity_picked
        row["totes"][line.tote_slot] = row["totes"].get(line.tote_slot, 0) + line.quantity
    return sorted(rows.values(), key=lambda r: r["sequence"])


def draw_pick_list(canvas: Canvas, pick_list: PickList) -> None:
    warehouse = pick_list.warehouse
    size = paper_for(warehouse.country)
    width, height = size
    _regular, bold = fonts()
    number = f"P{pick_list.pk:06d}"

    new_page = continued_page(canvas, size, f"Pick list {number} (cont.)", MARGIN)

    canvas.setPageSize(size)
    canvas.setFont(bold, 16)
    canvas.drawString(MARGIN, height - MARGIN - 8, f"PICK LIST {number}")
    symbol = code128(number, module_pt=1.0, height_pt=26)
    symbol.drawOn(canvas, width - MARGIN - symbol.width, height - MARGIN - 30)
    facts = [
        f"{pick_list.get_mode_display()} picking - {warehouse.code} {warehouse.name}",
        f"Zone {pick_list.zone.code}" if pick_list.zone_id else "All zones",
        f"Wave W{pick_list.wave_id:06d}" if pick_list.wave_id else "",
        f"Picker {pick_list.picker}" if pick_list.picker_id else "Picker: unassigned",
        f"Created {timezone.localtime(pick_list.created_at):%Y-%m-%d %H:%M}",
        f"Status {pick_list.get_status_display()}",
    ]
    y = draw_lines(canvas, MARGIN, height - MARGIN - 28, [f for f in facts if f], size=9) - 8

    usable = width - 2 * MARGIN
    columns = [
        ("#", 24, "r"),
        ("  Bin", 130, "l"),
        ("SKU / item", usable - 24 - 130 - 110 - 40 - 70, "l"),
        ("SKU barcode", 110, "l"),
        ("Qty", 40, "r"),
        ("  Slot x qty", 70, "l"),
    ]
    rows = []
    for i, row in enumerate(pick_list_rows(pick_list), start=1):
        bin_code = row["bin"]
        rows.append(
            [
                i,
                _indent(barcode_cell(bin_code)) if barcodable(bin_code) else "  (no bin: ask a supervisor)",
                _sku_cell(row["sku"], row["name"]),
                row["barcode"],
                row["quantity"],
                "  " + ", ".join(f"{slot}x{qty}" for slot, qty in sorted(row["totes"].items())),
            ]
        )
    y = Table(canvas, columns, x=MARGIN, bottom=MARGIN + 20, new_page=new_page).rows(
        y, rows, row_height=ROW_HEIGHT
    )
    units = sum(r[4] for r in rows)
    canvas.setFont(bold, 9)
    canvas.drawString(
        MARGIN,
        y - 4,
        f"{len(rows)} stop{'s' if len(rows) != 1 else ''}, {units} unit{'s' if units != 1 else ''}",
    )
    canvas.showPage()


def _indent(cell):
    def draw(canvas, x, y, width, row_height):
        cell(canvas, x + 8, y, width - 8, row_height)

    return draw


def _sku_cell(code: str, name: str):
    def draw(canvas, x, y, width, row_height):
        regular, bold = fonts()
        canvas.setFont(bold, 9)
        canvas.drawString(x, y, code[:40])
        canvas.setFont(regular, 8)
        canvas.drawString(x, y - 11, name[:48])

    return draw
