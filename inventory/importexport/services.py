"""Import and export of products, stock counts and reorder rules (CSV, XLSX).

An import runs in three steps inside one transaction:
1. read the file and check the header (a file that fails here is refused whole,
   even in a partial import: nothing in it can be trusted row by row);
2. check every row, collecting (row, column, problem) for all of them;
3. apply the valid rows through the same writes staff actions use.
By default any error means nothing is written. `partial` writes the valid rows
and reports the others; `dry_run` does all three steps and rolls back, so its
report is exactly what the import would do. Imports of one kind take a
transaction-level advisory lock, so two of them never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput

from ..models import Warehouse
from .base import Kind, ProgressFn, Ticker, header_errors
from .cells import RowError
from .products import Products
from .reorder_rules import ReorderRules
from .stock_counts import StockCounts
from .tables import FORMATS, FileProblem, detect_format, read_table, write_table

KINDS: dict[str, Kind] = {kind.name: kind for kind in (Products(), StockCounts(), ReorderRules())}
# Arbitrary but fixed: pg_advisory_xact_lock(IMPORT_LOCK_KEY, <kind index>).
IMPORT_LOCK_KEY = 0x1E_0E


@dataclass
class ImportReport:
    kind: str
    filename: str = ""
    file_format: str = ""
    dry_run: bool = False
    partial: bool = False
    approve: bool = False
    rows: int = 0  # data rows in the file (blank rows not counted)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected: bool = False  # nothing was (or, in a dry run, would be) imported because of errors
    applied: bool = False  # the changes are committed
    count_sheets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors if e.row is not None})

    @property
    def summary(self) -> str:
        if self.rejected:
            return (
                f"Nothing imported: {len(self.errors)} problem(s) in the file; fix them and upload it again."
            )
        if self.kind == StockCounts.name:
            sheets = ", ".join(f"{s['warehouse']} ({s['status']})" for s in self.count_sheets)
            text = f"{self.updated + self.unchanged} SKU(s) counted, {self.updated} with a variance"
            text += f"; count sheets: {sheets}" if sheets else ""
        elif self.dry_run:
            text = f"{self.created} to create, {self.updated} to update, {self.unchanged} unchanged"
        else:
            text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        text = ("Dry run, nothing written: " if self.dry_run else "Imported: ") + text
        if self.errors:
            text += f"; {self.error_rows} row(s) with errors skipped"
        return text + "."

    def _reject(self, *errors: RowError) -> ImportReport:
        self.errors.extend(errors)
        self.rejected = True
        self.created = self.updated = self.unchanged = 0
        self.count_sheets = []
        return self


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise InvalidInput.field("kind", f"'{name}' is not one of: {', '.join(KINDS)}", code="unknown_kind")
    return KINDS[name]


def _check_format(file_format: str) -> None:
    if file_format not in FORMATS:
        raise InvalidInput.field("format", f"'{file_format}' is not one of: {', '.join(FORMATS)}")


def inventory_import(
    *,
    kind: str,
    data: bytes,
    actor: Actor,
    filename: str = "",
    partial: bool = False,
    dry_run: bool = False,
    approve: bool = False,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import a CSV or XLSX file of `kind`; the report lists every problem.

    The content tells the formats apart (an XLSX file is a zip archive).
    Bad input never raises: it is in the report (`rejected`, `errors`).
    `approve` (stock counts only) approves the count sheets, which applies
    the variances to stock."""
    spec = _kind(kind)
    if approve and spec.name != StockCounts.name:
        raise InvalidInput.field("approve", "only stock count imports have anything to approve")
    report = ImportReport(
        kind=spec.name, filename=filename, dry_run=dry_run, partial=partial, approve=approve
    )
    ticker = Ticker(progress)
    try:
        report.file_format = detect_format(data, filename)
        ticker.start("read", None)
        table = read_table(data, file_format=report.file_format, known_columns=spec.columns, sheet=spec.name)
    except FileProblem as exc:
        return report._reject(RowError(None, "file", str(exc)))
    problems = header_errors(spec, table)
    if problems:
        return report._reject(*problems)
    report.rows = len(table.rows)
    if not table.rows:
        return report._reject(RowError(None, "file", "the file has no data rows under the header"))
    report.errors = [RowError(r.number, "row", r.problem) for r in table.rows if r.problem]
    table.rows = [r for r in table.rows if not r.problem]
    try:
        _run(spec, table, report, actor=actor, progress=ticker)
    except IntegrityError as exc:
        # Only a concurrent write between the checks and the writes gets here.
        raise Conflict(
            "The data changed while the file was imported; nothing was imported. Try again."
        ) from exc
    report.errors.sort(key=lambda e: (e.row or 0, e.field))
    return report


def _run(spec: Kind, table, report: ImportReport, *, actor: Actor, progress: Ticker) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_KEY, list(KINDS).index(spec.name)]
            )
        plan = spec.check(table, report.errors, partial=report.partial, ticker=progress)
        if report.errors and (not report.partial or report.error_rows >= report.rows):
            report._reject()
            return
        note = f"Imported from {report.filename or 'a file'}"[:255]
        outcome = spec.apply(
            plan, actor=actor, approve=report.approve, partial=report.partial, note=note, ticker=progress
        )
        report.errors.extend(outcome.errors)
        if outcome.errors and (not report.partial or report.error_rows >= report.rows):
            transaction.set_rollback(True)
            report._reject()
            return
        report.created, report.updated, report.unchanged = outcome.created, outcome.updated, outcome.unchanged
        report.count_sheets = outcome.count_sheets
        if report.dry_run:
            transaction.set_rollback(True)
            for sheet in report.count_sheets:
                sheet["id"] = None  # rolled back with everything else
        else:
            report.applied = True


def inventory_export(
    *,
    kind: str,
    file_format: str,
    out: IO[bytes],
    warehouse: str | None = None,
    progress: ProgressFn | None = None,
) -> int:
    """Write every row of `kind` to `out` in the layout its import reads; returns the row count."""
    spec = _kind(kind)
    _check_format(file_format)
    if warehouse:
        if "warehouse" not in spec.filters:
            raise InvalidInput.field("warehouse", f"{spec.name} exports cannot be filtered by warehouse")
        if not Warehouse.objects.filter(code=warehouse).exists():
            raise InvalidInput.field("warehouse", f"no warehouse with code '{warehouse}'")
    total, rows = spec.export_rows(warehouse=warehouse or None)
    ticker = Ticker(progress)
    ticker.start("export", total)

    def ticking():
        for row in rows:
            ticker.tick()
            yield row

    write_table(
        out,
        file_format=file_format,
        columns=spec.columns,
        rows=ticking(),
        text_columns=spec.text_columns,
        sheet=spec.name,
    )
    ticker.flush()
    return total


def export_filename(kind: str, file_format: str, warehouse: str | None = None) -> str:
    parts = [kind, warehouse, timezone.localdate().isoformat()]
    return "-".join(p for p in parts if p) + f".{file_format}"
