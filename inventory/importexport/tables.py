"""Reading and writing the tabular files: CSV (UTF-8, BOM tolerated, comma,
semicolon or tab separated) and XLSX (openpyxl).

Everything here is about the file, nothing about what the rows mean. A file
that cannot be read at all raises FileProblem; a record that cannot be parsed
(a stray quote) becomes a SourceRow with `problem` set, so the caller can
report it with its row number and, in a partial import, carry on.

Row numbers are what a spreadsheet program shows: the header is row 1 (or
the first non-blank row), blank rows count, and a CSV record that spans
several lines (a quoted newline) is one row.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CSV, XLSX = "csv", "xlsx"
FORMATS = (CSV, XLSX)
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# An upload larger than this is refused before it is parsed; an XLSX that
# unzips into more rows than MAX_ROWS (a zip bomb, or the wrong file) is
# refused while it is read.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_ROWS = 100_000

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 .xls format
DELIMITERS = (",", ";", "\t")
# Spreadsheet programs run a cell that starts with one of these as a formula.
# CSV exports prefix such text with an apostrophe (the OWASP advice) and
# imports take it off again, so the round trip is exact.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FileProblem(Exception):
    """The file as a whole cannot be read; nothing in it was looked at."""


@dataclass
class SourceRow:
    number: int
    values: dict[str, object] = field(default_factory=dict)
    problem: str = ""


@dataclass
class Table:
    file_format: str
    header: list[str]
    header_row: int
    rows: list[SourceRow]
    # A ';'-separated CSV usually comes from a locale that writes 4,50 for 4.50.
    decimal_comma: bool = False
    sheet: str = ""


def normalize_column(name: object) -> str:
    return "_".join(str(name or "").strip().lower().replace("-", " ").split())


def detect_format(data: bytes, filename: str = "") -> str:
    """The content decides: an .xlsx file is a zip archive, anything else is read as CSV."""
    if data.startswith(OLE2_MAGIC):
        raise FileProblem("this is an old Excel .xls file; save it as .xlsx or CSV (UTF-8)")
    if data.startswith(ZIP_MAGIC):
        return XLSX
    if filename.lower().endswith(".xlsx"):
        raise FileProblem("the file is not an .xlsx workbook (an .xlsx file is a zip archive)")
    return CSV


def read_table(data: bytes, *, file_format: str, known_columns: Iterable[str], sheet: str = "") -> Table:
    if not data.strip():
        raise FileProblem("the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem(f"the file is larger than the limit of {MAX_FILE_BYTES // (1024 * 1024)} MB")
    known = set(known_columns)
    if file_format == XLSX:
        records, sheet_name = _xlsx_records(data, sheet)
        table = _table(XLSX, records)
        table.sheet = sheet_name
        return table
    text = _decode(data)
    delimiter = _sniff_delimiter(text, known)
    table = _table(CSV, _csv_records(text, delimiter))
    table.decimal_comma = delimiter == ";"
    return table


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise FileProblem("the file is binary, not CSV text (save the spreadsheet as CSV UTF-8 or .xlsx)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"the file is not UTF-8 text (byte {exc.start + 1}); save it as 'CSV UTF-8' or .xlsx"
        ) from None


def _sniff_delimiter(text: str, known: set[str]) -> str:
    """The separator that splits the first non-blank line into the most known
    column names (comma when nothing matches)."""
    first = next((line for line in text.splitlines() if line.strip()), "")

    def score(delimiter: str) -> tuple[int, int]:
        names = next(csv.reader([first], delimiter=delimiter), [])
        return sum(normalize_column(n) in known for n in names), len(names)

    return max(DELIMITERS, key=score) if first else ","


def _csv_records(text: str, delimiter: str) -> Iterator[tuple[int, list[object] | str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    while True:
        number += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, f"malformed CSV: {exc} (check the quotes on this row)"
            continue
        yield number, [_unescape(v.strip()) for v in values]


def _unescape(value: str) -> str:
    if value.startswith("'") and value[1:2] and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def _xlsx_records(data: bytes, sheet: str) -> tuple[Iterator[tuple[int, list[object] | str]], str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a damaged archive raises anything from BadZipFile to KeyError
        raise FileProblem(f"the file is not a readable .xlsx workbook ({type(exc).__name__})") from None
    names = workbook.sheetnames
    chosen = sheet if sheet in names else names[0] if names else ""
    if not chosen:
        raise FileProblem("the workbook has no sheets")
    worksheet = workbook[chosen]
    if not hasattr(worksheet, "iter_rows"):
        raise FileProblem(f"sheet '{chosen}' is a chart, not a table")
    # The dimension a file declares can be wrong (some writers leave it at A1);
    # forget it so every row is read.
    worksheet.reset_dimensions()

    def records() -> Iterator[tuple[int, list[object] | str]]:
        try:
            for number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1):
                yield number, [v.strip() if isinstance(v, str) else v for v in values]
        except Exception as exc:  # a damaged sheet part: report it as a file problem
            raise FileProblem(f"sheet '{chosen}' cannot be read ({type(exc).__name__})") from None
        finally:
            workbook.close()

    return records(), chosen


def _is_blank(values: Sequence[object]) -> bool:
    return all(v is None or v == "" for v in values)


def _table(file_format: str, records: Iterator[tuple[int, list[object] | str]]) -> Table:
    header: list[str] | None = None
    header_row = 0
    rows: list[SourceRow] = []
    for number, values in records:
        if isinstance(values, str):
            if header is None:
                raise FileProblem(f"the header (row {number}) is {values}")
            rows.append(SourceRow(number, problem=values))
            continue
        if _is_blank(values):
            continue
        if header is None:
            header, header_row = [normalize_column(v) for v in values], number
            while header and not header[-1]:
                header.pop()  # trailing empty header cells: spreadsheet formatting, not columns
            continue
        if len(rows) >= MAX_ROWS:
            raise FileProblem(f"the file has more than {MAX_ROWS:,} data rows; split it")
        if file_format == XLSX:
            # A sheet row ends at its last filled cell; a CSV record must have every column.
            values += [None] * (len(header) - len(values))
        rows.append(_row(number, header, values))
    if header is None:
        raise FileProblem("the file has no header row")
    return Table(file_format, header, header_row, rows)


def _row(number: int, header: list[str], values: list[object]) -> SourceRow:
    if len(values) < len(header) or not _is_blank(values[len(header) :]):
        return SourceRow(number, problem=f"has {len(values)} values but the header has {len(header)} columns")
    return SourceRow(number, dict(zip(header, values, strict=False)))


# --- Writing ----------------------------------------------------------------------


def write_table(
    out: IO[bytes],
    *,
    file_format: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    text_columns: Iterable[str] = (),
    sheet: str = "Sheet1",
) -> None:
    """Write a header and rows. `text_columns` are codes and names, which a
    spreadsheet must never run as a formula: formula-escaped in CSV, typed as
    text in XLSX."""
    text = {columns.index(c) for c in text_columns}
    if file_format == XLSX:
        _write_xlsx(out, columns, rows, text, sheet)
    else:
        _write_csv(out, columns, rows, text)


def _csv_cell(value: object, is_text: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    value = str(value)
    return "'" + value if is_text and value.startswith(FORMULA_START) else value


def _write_csv(
    out: IO[bytes], columns: Sequence[str], rows: Iterable[Sequence[object]], text: set[int]
) -> None:
    # A BOM, so that Excel opens the UTF-8 file with the right characters.
    stream = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(stream)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(v, i in text) for i, v in enumerate(row)])
        stream.flush()
    finally:
        stream.detach()  # leave `out` open for the caller


def _write_xlsx(
    out: IO[bytes], columns: Sequence[str], rows: Iterable[Sequence[object]], text: set[int], sheet: str
) -> None:
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet)
    worksheet.freeze_panes = "A2"
    for i, name in enumerate(columns, start=1):
        worksheet.column_dimensions[get_column_letter(i)].width = max(12, len(name) + 2)
    bold = Font(bold=True)
    header = []
    for name in columns:
        cell = WriteOnlyCell(worksheet, value=name)
        cell.font = bold
        header.append(cell)
    worksheet.append(header)
    for row in rows:
        cells = list(row)
        for i in text:
            if isinstance(cells[i], str) and cells[i].startswith("="):
                # openpyxl stores text that starts with "=" as a formula: keep it text.
                cells[i] = WriteOnlyCell(worksheet, value=cells[i])
                cells[i].data_type = "s"
        worksheet.append(cells)
    workbook.save(out)
