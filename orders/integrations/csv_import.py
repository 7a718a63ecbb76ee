"""Generic CSV import for marketplace or phone batches: one row per order
line, rows grouped into orders by `order_id`.

Columns (header row, any order, case-insensitive; * required):
    order_id*   the order's id on the marketplace / in the phone batch
    sku*        SKU code or barcode (a `barcode` column is read when `sku` is blank)
    quantity*
    email*, first_name, last_name, phone
    ship_name*, ship_company, ship_line1*, ship_line2, ship_city*, ship_region,
    ship_postal_code, ship_country*, ship_phone
    currency    (default: the channel's)
    unit_price, discount, tax   per line (a channel that sets its own prices needs unit_price)
    shipping, total             per order (a channel that sets its own prices needs total)
    notes

Order-level columns may be repeated on every row of the order or given on
its first row only; rows that disagree hold the order. Each order is placed
all or nothing and independently of the others; the report lists every
order with its outcome, and held ones with the reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from oms.actors import Actor
from oms.errors import InvalidInput
from oms.models import Channel

from ..services.placement import LineInput
from .common import Draft, address, check_currency, money, quantity, text

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
REQUIRED = ["order_id", "sku", "quantity", "email", "ship_name", "ship_line1", "ship_city", "ship_country"]
OPTIONAL = [
    "barcode",
    "first_name",
    "last_name",
    "phone",
    "ship_company",
    "ship_line2",
    "ship_region",
    "ship_postal_code",
    "ship_phone",
    "currency",
    "unit_price",
    "discount",
    "tax",
    "shipping",
    "total",
    "notes",
]
LINE_COLUMNS = {"sku", "barcode", "quantity", "unit_price", "discount", "tax", "row"}
ORDER_COLUMNS = [c for c in REQUIRED + OPTIONAL if c not in LINE_COLUMNS and c != "order_id"]


@dataclass
class OrderOutcome:
    external_id: str
    rows: list[int]
    status: str
    reason: str = ""
    order_id: int | None = None
    inbound_order_id: int | None = None
    duplicate: bool = False


@dataclass
class ImportReport:
    orders: list[OrderOutcome] = field(default_factory=list)
    row_errors: list[dict] = field(default_factory=list)  # rows that belong to no order

    def count(self, status: str) -> int:
        return sum(1 for o in self.orders if o.status == status)

    @property
    def ok(self) -> bool:
        return not self.row_errors and all(o.status == "placed" for o in self.orders)


def read_rows(data: bytes) -> list[dict]:
    """The file's rows as dicts keyed by lower-case column, each with its line number as `row`."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput.field("file", f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.field("file", "is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInput.field("file", "is empty") from None
    except csv.Error as exc:
        raise InvalidInput.field("file", f"is not valid CSV ({exc})") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput.field("file", f"missing column(s): {', '.join(missing)}")
    unknown = [h for h in header if h and h not in REQUIRED + OPTIONAL]
    if unknown:
        raise InvalidInput.field("file", f"unknown column(s): {', '.join(unknown)}")
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput.field("file", f"has more than {MAX_ROWS} rows")
            row = {h: v.strip() for h, v in zip(header, values, strict=False) if h}
            row["row"] = reader.line_num
            rows.append(row)
    except csv.Error as exc:
        raise InvalidInput.field("file", f"is not valid CSV at line {reader.line_num} ({exc})") from None
    return rows


def group_rows(rows: list[dict]) -> tuple[dict[str, list[dict]], list[dict]]:
    orders: dict[str, list[dict]] = {}
    errors = []
    for row in rows:
        order_id = row.get("order_id", "")
        if not order_id:
            errors.append({"row": row["row"], "message": "order_id is required"})
        elif len(order_id) > 100:
            errors.append({"row": row["row"], "message": "order_id is longer than 100 characters"})
        else:
            orders.setdefault(order_id, []).append(row)
    return orders, errors


def draft(payload: dict, channel: Channel) -> Draft:
    rows = payload.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput.field("rows", "the order has no rows")
    head: dict[str, str] = {}
    for row in rows:
        for column in ORDER_COLUMNS:
            value = text(row.get(column), 1000)
            if not value:
                continue
            if column in head and head[column] != value:
                raise InvalidInput.field(
                    f"row {row.get('row')}.{column}",
                    f"'{value}' differs from '{head[column]}' on an earlier row of the order",
                )
            head.setdefault(column, value)
    currency = (head.get("currency") or channel.currency).upper()
    check_currency(channel, currency)
    lines = []
    for row in rows:
        name = f"row {row.get('row')}"
        given = {k: text(row.get(k), 64) for k in ("unit_price", "tax")}
        lines.append(
            (
                f"{name}.sku",
                LineInput(
                    sku=text(row.get("sku"), 64) or text(row.get("barcode"), 64),
                    quantity=quantity(row.get("quantity"), f"{name}.quantity"),
                    unit_price=money(given["unit_price"], f"{name}.unit_price", currency)
                    if given["unit_price"]
                    else None,
                    discount=money(row.get("discount"), f"{name}.discount", currency),
                    tax_amount=money(given["tax"], f"{name}.tax", currency) if given["tax"] else None,
                ),
            )
        )
    shipping_address = address(
        {
            "name": head.get("ship_name", "")[:200],
            "company": head.get("ship_company", "")[:200],
            "line1": head.get("ship_line1", "")[:200],
            "line2": head.get("ship_line2", "")[:200],
            "city": head.get("ship_city", "")[:100],
            "region": head.get("ship_region", "")[:100],
            "postal_code": head.get("ship_postal_code", "")[:20],
            "country": head.get("ship_country", "")[:2],
            "phone": head.get("ship_phone", "")[:40],
        },
        "ship",
    )
    external_id = text(rows[0].get("order_id"), 100)
    return Draft(
        platform="csv",
        external_id=external_id,
        currency=currency,
        email=head.get("email", ""),
        first_name=head.get("first_name", ""),
        last_name=head.get("last_name", ""),
        phone=head.get("phone", ""),
        shipping_address=shipping_address,
        lines=lines,
        shipping_amount=money(head.get("shipping"), "shipping", currency),
        total=money(head["total"], "total", currency) if head.get("total") else None,
        notes="\n".join(p for p in (f"Imported order {external_id}", head.get("notes", "")) if p),
    )


def orders_import_csv(
    *,
    channel: Channel,
    data: bytes,
    actor: Actor,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> ImportReport:
    """Place every order of the file; one order's problem never stops another."""
    from .services import inbound_order_receive

    orders, errors = group_rows(read_rows(data))
    report = ImportReport(row_errors=errors)
    if progress:
        progress("write", 0, len(orders))
    for external_id, rows in orders.items():
        intake = inbound_order_receive(
            channel=channel, platform="csv", external_id=external_id, payload={"rows": rows}, actor=actor
        )
        inbound = intake.inbound
        report.orders.append(
            OrderOutcome(
                external_id=external_id,
                rows=[r["row"] for r in rows],
                status=inbound.status,
                reason=inbound.reason,
                order_id=inbound.order_id,
                inbound_order_id=inbound.pk,
                duplicate=not intake.created,
            )
        )
        if progress:
            progress("write", 1, len(orders))
    return report
