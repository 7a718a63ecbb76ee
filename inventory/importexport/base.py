"""What the three kinds of file (products, stock counts, reorder rules) share:
the shape of a kind, the header check, bulk look-ups and progress ticks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db.models import Model, QuerySet

from oms.actors import Actor

from .cells import RowError
from .tables import Table

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"

# progress(phase, units done since the last call, total units or None)
ProgressFn = Callable[[str, int, int | None], None]
LOOKUP_CHUNK = 5_000


@dataclass
class Outcome:
    """What applying a checked file did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)  # refusals by the services while applying
    count_sheets: list[dict[str, Any]] = field(default_factory=list)

    def tally(self, action: str) -> None:
        if action == CREATE:
            self.created += 1
        elif action == UPDATE:
            self.updated += 1
        else:
            self.unchanged += 1


class Kind(ABC):
    """One kind of file. `columns` is both the export layout and every column an
    import accepts; `required` must be in the header, and at least one of
    `one_of` when it is set. A column no row reader asks for (a name next to
    a code, written for people) is accepted and skipped on import."""

    name: ClassVar[str]
    label: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]
    one_of: ClassVar[tuple[str, ...]] = ()
    text_columns: ClassVar[tuple[str, ...]] = ()
    filters: ClassVar[tuple[str, ...]] = ()  # export filters it understands

    @abstractmethod
    def check(self, table: Table, errors: list[RowError], *, partial: bool, ticker: Ticker) -> Any:
        """Validate every row; returns a plan of the valid rows. Writes nothing
        (it may lock the rows it plans to change)."""

    @abstractmethod
    def apply(
        self, plan: Any, *, actor: Actor, approve: bool, partial: bool, note: str, ticker: Ticker
    ) -> Outcome:
        """Write the plan; returns what was created, updated and left unchanged."""

    @abstractmethod
    def export_rows(self, *, warehouse: str | None) -> tuple[int, Iterator[Sequence[object]]]:
        """(row count, rows in `columns` order)."""


def header_errors(kind: Kind, table: Table) -> list[RowError]:
    row, where = table.header_row, f" in sheet '{table.sheet}'" if table.sheet else ""
    errors: list[RowError] = []
    seen: set[str] = set()
    for position, name in enumerate(table.header, start=1):
        if not name:
            errors.append(RowError(row, f"column {position}", "has no name in the header"))
        elif name in seen:
            errors.append(RowError(row, name, "appears twice in the header"))
        elif name not in kind.columns:
            errors.append(
                RowError(row, name, f"unknown column{where}; the columns are: {', '.join(kind.columns)}")
            )
        seen.add(name)
    for name in kind.required:
        if name not in seen:
            errors.append(RowError(row, name, f"required column is missing{where}"))
    if kind.one_of and not seen.intersection(kind.one_of):
        errors.append(
            RowError(row, " or ".join(kind.one_of), f"the header needs one of these columns{where}")
        )
    return errors


def by_key(
    queryset: QuerySet, field_name: str, values: Iterable[object], chunk: int = LOOKUP_CHUNK
) -> dict[object, Model]:
    """Rows whose `field_name` is one of `values`, keyed by it, in chunks so a
    100,000-row file does not become one giant IN list."""
    found: dict[object, Model] = {}
    for part in _chunks(values, chunk):
        for obj in queryset.filter(**{f"{field_name}__in": part}):
            found[getattr(obj, field_name)] = obj
    return found


def value_by_key(
    queryset: QuerySet, field_name: str, value_field: str, values: Iterable[object]
) -> dict[object, object]:
    """Like by_key, for one column of each row (no model instances to build)."""
    found: dict[object, object] = {}
    for part in _chunks(values, LOOKUP_CHUNK):
        found.update(queryset.filter(**{f"{field_name}__in": part}).values_list(field_name, value_field))
    return found


def _chunks(values: Iterable[object], size: int) -> Iterator[list[object]]:
    wanted = sorted({v for v in values if v}, key=str)
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


class Ticker:
    """Reports progress in batches, so a per-row tick costs next to nothing."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.phase = ""
        self.total: int | None = None
        self.pending = 0

    def start(self, phase: str, total: int | None) -> None:
        self.flush()
        self.phase, self.total = phase, total
        if self.progress:
            self.progress(phase, 0, total)

    def tick(self, n: int = 1) -> None:
        self.pending += n
        if self.pending >= 500:
            self.flush()

    def flush(self) -> None:
        if self.progress and self.pending:
            self.progress(self.phase, self.pending, self.total)
        self.pending = 0
