"""What every printed document shares: fonts, page sizes, addresses, money,
barcodes and a small table writer on a reportlab canvas.

It lives in the kernel so every app can print (fulfillment's labels and slips,
accounting's invoices, orders' quotes) without importing another app.

Fonts: reportlab's built-in Helvetica only covers Latin-1, so a customer
named "Zoë" prints but "Žofie", "Σοφία" or "Дмитрий" would not. When a
DejaVu Sans TTF is found (settings.DOCUMENT_FONT_PATH, or the usual system
locations) it is embedded instead, which covers Latin, Greek and Cyrillic.
CJK, Arabic and Hebrew need a font with those glyphs (and Arabic/Hebrew
shaping, which reportlab does not do); point DOCUMENT_FONT_PATH at one.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from oms.errors import InvalidInput
from oms.money import UnknownCurrency, minor_units, round_money

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
]
# Countries that print on US Letter; everyone else uses A4.
LETTER_COUNTRIES = {"US", "CA", "MX", "PH", "CL", "CO", "VE", "GT", "CR", "PA", "DO", "PR"}
DPI_THERMAL = 203

logger = logging.getLogger(__name__)


@cache
def fonts() -> tuple[str, str]:
    """(regular, bold) font names registered with reportlab, TTF when one is found."""
    configured = getattr(settings, "DOCUMENT_FONT_PATH", "") or ""
    for path in [configured, *FONT_CANDIDATES]:
        if not path or not os.path.exists(path):
            continue
        bold_path = path.replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
        try:
            pdfmetrics.registerFont(TTFont("DocSans", path))
            if bold_path != path and os.path.exists(bold_path):
                pdfmetrics.registerFont(TTFont("DocSans-Bold", bold_path))
                return "DocSans", "DocSans-Bold"
            return "DocSans", "DocSans"
        except (OSError, TTFError) as exc:  # an unreadable font file: try the next one
            logger.warning("document font %s not usable: %s", path, exc)
    return "Helvetica", "Helvetica-Bold"


def new_canvas() -> tuple[Canvas, io.BytesIO]:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=1)
    canvas.setCreator("OMS")
    return canvas, buffer


def finish(canvas: Canvas, buffer: io.BytesIO) -> bytes:
    canvas.save()
    return buffer.getvalue()


def render_pages(
    items: Iterable[Any], draw: Callable[[Canvas, Any], None], *, field: str, what: str
) -> bytes:
    """One PDF with `draw(canvas, item)` for each item (each ends its own
    last page); an empty selection is refused naming `field`."""
    items = list(items)
    if not items:
        raise InvalidInput.field(field, f"name at least one {what}")
    canvas, buffer = new_canvas()
    for item in items:
        draw(canvas, item)
    return finish(canvas, buffer)


def paper_for(country: str | None) -> tuple[float, float]:
    return LETTER if (country or "").upper() in LETTER_COUNTRIES else A4


def format_money(amount: Decimal | int | str | None, currency: str) -> str:
    """1234.5 USD -> "1,234.50 USD"; 1234.5 JPY -> "1,235 JPY" (the currency's minor units)."""
    if amount is None:
        return "-"
    try:
        places = minor_units(currency)
        value = round_money(amount, currency)
    except UnknownCurrency:
        return f"{amount} {currency}"
    return f"{value:,.{places}f} {currency}"


def address_lines(address: dict[str, Any] | None) -> list[str]:
    """A postal address (the JSON the orders keep) as printable lines."""
    a = address or {}
    city_line = " ".join(
        part
        for part in [", ".join(p for p in [a.get("city"), a.get("region")] if p), a.get("postal_code")]
        if part
    )
    lines = [
        a.get("name"),
        a.get("company"),
        a.get("line1"),
        a.get("line2"),
        city_line,
        a.get("country"),
    ]
    return [str(line) for line in lines if line]


def warehouse_address(warehouse: Any) -> dict[str, str]:
    return {
        "name": warehouse.name,
        "line1": warehouse.line1,
        "city": warehouse.city,
        "region": warehouse.region,
        "postal_code": warehouse.postal_code,
        "country": warehouse.country,
    }


def barcodable(value: str) -> bool:
    """Code128 (code sets A/B/C) carries printable ASCII only."""
    return bool(value) and all(32 <= ord(ch) < 127 for ch in value)


def code128(value: str, *, module_pt: float, height_pt: float) -> Code128:
    return Code128(value, barWidth=module_pt, barHeight=height_pt, quiet=1, humanReadable=0)


def thermal_module(value: str, *, max_width_pt: float, max_dots: int = 4) -> float:
    """The widest Code128 module, a whole number of 203-dpi printer dots,
    that keeps the symbol (quiet zones included) within max_width_pt."""
    for dots in range(max_dots, 0, -1):
        module = dots * 72 / DPI_THERMAL
        if code128(value, module_pt=module, height_pt=10).width <= max_width_pt:
            return module
    return 72 / DPI_THERMAL


def draw_lines(
    canvas: Canvas, x: float, y: float, lines: Sequence[str], *, size: float, bold: bool = False, leading=None
) -> float:
    """Draw lines top-down from baseline y; returns the y below the last one."""
    regular, heavy = fonts()
    canvas.setFont(heavy if bold else regular, size)
    step = leading or size * 1.25
    for line in lines:
        canvas.drawString(x, y, line)
        y -= step
    return y


def wrap(text: str, *, size: float, width: float, bold: bool = False) -> list[str]:
    regular, heavy = fonts()
    out: list[str] = []
    for paragraph in (text or "").splitlines() or [""]:
        out.extend(simpleSplit(paragraph, heavy if bold else regular, size, width) or [""])
    return out


class Table:
    """Rows of cells on pages that break: the header repeats on each page.

    columns: (title, width, align) with align "l" or "r". A cell is text, or
    a callable drawing itself at (canvas, x, y_top, width, row_height)."""

    def __init__(
        self,
        canvas: Canvas,
        columns: Sequence[tuple[str, float, str]],
        *,
        x: float,
        bottom: float,
        size: float = 9,
        new_page: Callable[[], float],
    ) -> None:
        self.canvas, self.columns, self.x, self.bottom, self.size = canvas, columns, x, bottom, size
        self.new_page = new_page

    def header(self, y: float) -> float:
        _, heavy = fonts()
        self.canvas.setFont(heavy, self.size)
        self._cells(y, [title for title, _, _ in self.columns], heavy)
        width = sum(w for _, w, _ in self.columns)
        self.canvas.line(self.x, y - 4, self.x + width, y - 4)
        return y - self.size * 2

    def rows(self, y: float, rows: Sequence[Sequence[Any]], *, row_height: float | None = None) -> float:
        regular, _ = fonts()
        y = self.header(y)
        height = row_height or self.size * 1.6
        for row in rows:
            if y - height < self.bottom:
                y = self.header(self.new_page())
            self.canvas.setFont(regular, self.size)
            self._cells(y, row, regular, height)
            y -= height
        return y

    def _cells(self, y: float, cells: Sequence[Any], font: str, height: float = 0) -> None:
        x = self.x
        for cell, (_, width, align) in zip(cells, self.columns, strict=True):
            if callable(cell):
                cell(self.canvas, x, y, width, height)
            else:
                text = str(cell)
                while text and pdfmetrics.stringWidth(text, font, self.size) > width - 4:
                    text = text[:-1]
                self.canvas.setFont(font, self.size)
                if align == "r":
                    self.canvas.drawRightString(x + width - 4, y, text)
                else:
                    self.canvas.drawString(x, y, text)
            x += width


def barcode_cell(value: str, *, module_pt: float = 0.9, height_pt: float = 22) -> Callable[..., None]:
    """A table cell drawing value as Code128 (text only when it cannot be encoded)."""

    def draw(canvas: Canvas, x: float, y: float, width: float, row_height: float) -> None:
        regular, _ = fonts()
        if barcodable(value):
            symbol = code128(value, module_pt=module_pt, height_pt=height_pt)
            scale = min(1.0, (width - 4) / symbol.width)
            canvas.saveState()
            canvas.translate(x - symbol.lquiet * scale, y - height_pt + 8)
            canvas.scale(scale, 1)
            symbol.drawOn(canvas, 0, 0)
            canvas.restoreState()
            canvas.setFont(regular, 7)
            canvas.drawString(x, y - height_pt, value)
        else:
            canvas.setFont(regular, 9)
            canvas.drawString(x, y, value)

    return draw


def priced_lines_table(
    canvas: Canvas,
    lines: Iterable[Any],
    money: Callable[[Decimal], str],
    *,
    width: float,
    margin: float,
    y: float,
    bottom: float,
    new_page: Callable[[], float],
) -> float:
    """The priced lines of an order or a quote (quantity, SKU code and name,
    unit price, discount, tax, amount) as a table across the page; returns
    the y below it."""
    usable = width - 2 * margin
    columns = [
        ("Qty", 30, "r"),
        ("  SKU", 90, "l"),
        ("Item", usable - 30 - 90 - 4 * 72, "l"),
        ("Unit price", 72, "r"),
        ("Discount", 72, "r"),
        ("Tax", 72, "r"),
        ("Amount", 72, "r"),
    ]
    rows = [
        [
            line.quantity,
            f"  {line.sku.code}",
            line.sku.name,
            money(line.unit_price),
            money(-line.discount) if line.discount else "",
            money(line.tax_amount),
            money(line.line_total),
        ]
        for line in lines
    ]
    return Table(canvas, columns, x=margin, bottom=bottom, new_page=new_page).rows(y, rows)


def continued_page(
    canvas: Canvas, size: tuple[float, float], label: str, margin: float
) -> Callable[[], float]:
    """A document's `new_page` for tables that break: ends the page, starts one
    of `size` headed `label` (e.g. "Invoice INV00000001 (cont.)") and returns
    the y to go on from."""
    regular, _ = fonts()

    def new_page() -> float:
        canvas.showPage()
        canvas.setPageSize(size)
        canvas.setFont(regular, 8)
        canvas.drawString(margin, size[1] - margin, label)
        return size[1] - margin - 24

    return new_page


def page_heading(
    canvas: Canvas, size: tuple[float, float], merchant: str, title: str, margin: float
) -> float:
    """The merchant's name left, the document's title right, a rule under
    them; returns the y below."""
    width, height = size
    _, bold = fonts()
    canvas.setFont(bold, 16)
    canvas.drawString(margin, height - margin - 6, merchant[:50])
    canvas.setFont(bold, 13)
    canvas.drawRightString(width - margin, height - margin - 6, title)
    canvas.setLineWidth(1)
    canvas.line(margin, height - margin - 16, width - margin, height - margin - 16)
    return height - margin - 40
