"""Cell parsing with per-row error collection.

A RowReader reads the cells of one row; each problem becomes a RowError
(row number, column, problem) and the reader returns MISSING for that cell,
so every problem of a row is reported at once rather than the first only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal, InvalidOperation

from .tables import SourceRow

MAX_WHOLE = 2_147_483_647  # PositiveIntegerField
TRUE = {"true", "yes", "y", "1", "t"}
FALSE = {"false", "no", "n", "0", "f"}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()  # a cell that is absent, blank, or could not be read


@dataclass(frozen=True, order=True)
class RowError:
    row: int | None  # None: the file as a whole
    field: str
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        return f"{where}, {self.field}: {self.problem}"


class CellProblem(ValueError):
    pass


def _is_blank(value: object) -> bool:
    return value is None or value == ""


def _reject_odd(value: object) -> None:
    if isinstance(value, date | time | timedelta):
        raise CellProblem(f"is a date or time ({value}); format the column as text or number")


def as_text(value: object, *, max_length: int) -> str:
    _reject_odd(value)
    if isinstance(value, bool):
        raise CellProblem("is a TRUE/FALSE value, expected text")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) > max_length:
        raise CellProblem(f"is longer than {max_length} characters")
    return text


def as_decimal(value: object, *, decimal_comma: bool = False) -> Decimal:
    _reject_odd(value)
    if isinstance(value, bool):
        raise CellProblem("is a TRUE/FALSE value, expected a number")
    if isinstance(value, float):
        value = repr(value)  # the shortest exact text of what the cell shows, never float arithmetic
    text = str(value).strip()
    if decimal_comma and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellProblem(f"'{text}' is not a number") from None
    if not number.is_finite():
        raise CellProblem(f"'{text}' is not a number")
    return number


def as_whole(value: object, *, decimal_comma: bool = False, negative: str = "must not be negative") -> int:
    number = as_decimal(value, decimal_comma=decimal_comma)
    if number != number.to_integral_value():
        raise CellProblem(f"'{value}' is not a whole number")
    if number < 0:
        raise CellProblem(negative)
    if number > MAX_WHOLE:
        raise CellProblem(f"is larger than {MAX_WHOLE:,}")
    return int(number)


def as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise CellProblem(f"'{value}' is not true or false (use true/false, yes/no or 1/0)")


def as_choice(value: object, choices: Sequence[str]) -> str:
    text = as_text(value, max_length=64)
    if text in choices:
        return text
    folded = {c.lower(): c for c in choices}
    if text.lower() in folded:
        return folded[text.lower()]
    raise CellProblem(f"'{text}' is not one of: {', '.join(choices)}")


class RowReader:
    """Reads one row's cells; problems are appended to `errors`."""

    def __init__(self, row: SourceRow, errors: list[RowError], *, decimal_comma: bool = False) -> None:
        self.row = row
        self.errors = errors
        self.decimal_comma = decimal_comma
        self.bad: set[str] = set()  # columns with a problem

    @property
    def failed(self) -> bool:
        return bool(self.bad)

    def error(self, column: str, problem: str) -> None:
        self.errors.append(RowError(self.row.number, column, problem))
        self.bad.add(column)

    def has(self, column: str) -> bool:
        return column in self.row.values

    def raw(self, column: str) -> object:
        return self.row.values.get(column)

    def blank(self, column: str) -> bool:
        return _is_blank(self.row.values.get(column))

    def _blank(self, column: str, required: bool) -> bool:
        """True when there is nothing to parse; a blank required cell is an error."""
        if not self.has(column):
            return True
        if self.blank(column):
            if required:
                self.error(column, "is required")
            return True
        return False

    # A blank cell (or an absent column) reads as MISSING: "leave it as it is",
    # or the default for a new row. Only `clear` text columns read blank as "".

    def text(
        self, column: str, *, max_length: int, required: bool = False, clear: bool = False
    ) -> str | _Missing:
        if self._blank(column, required):
            return "" if clear and self.has(column) and column not in self.bad else MISSING
        return self._parse(column, as_text, max_length=max_length)

    def whole(
        self, column: str, *, required: bool = False, negative: str = "must not be negative"
    ) -> int | _Missing:
        if self._blank(column, required):
            return MISSING
        return self._parse(column, as_whole, decimal_comma=self.decimal_comma, negative=negative)

    def decimal(self, column: str) -> Decimal | _Missing:
        if self._blank(column, False):
            return MISSING
        return self._parse(column, as_decimal, decimal_comma=self.decimal_comma)

    def boolean(self, column: str) -> bool | _Missing:
        if self._blank(column, False):
            return MISSING
        return self._parse(column, as_bool)

    def choice(self, column: str, choices: Sequence[str]) -> str | _Missing:
        if self._blank(column, False):
            return MISSING
        return self._parse(column, as_choice, choices)

    def _parse(self, column: str, parser, *args, **kwargs):
        try:
            return parser(self.raw(column), *args, **kwargs)
        except CellProblem as exc:
            self.error(column, str(exc))
            return MISSING

    def need(self, columns: Iterable[tuple[str, object]], why: str) -> None:
        """Columns a new row cannot do without: report each one that is blank or absent."""
        for column, value in columns:
            if value is MISSING and column not in self.bad:
                self.error(column, f"is required {why}" if self.has(column) else f"column is missing ({why})")
