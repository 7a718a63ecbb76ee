"""Exchange rates by day: loading them from CSV (the admin, the command).

Layout (header row required, any column order): currency, day (YYYY-MM-DD),
rate (base-currency units per unit of currency), and optionally source.
Rows are upserted on (currency, day). A file with any bad row loads nothing
and names every problem as (line, field, problem).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from oms.errors import InvalidInput
from oms.money import MINOR_UNITS

from .models import ExchangeRate

REQUIRED = ("currency", "day", "rate")
MAX_PROBLEMS = 50


@dataclass
class RatesLoad:
    created: int = 0
    updated: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)


def exchange_rates_load(*, text: str, source: str = "") -> RatesLoad:
    """Check every row, then upsert them all in one transaction (or none)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput.field(
            "file", f"the header has no column {', '.join(missing)} (needs {', '.join(REQUIRED)})"
        )
    result, rows = RatesLoad(), {}
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        parsed = _parse(row, line, result.problems)
        if parsed is not None:
            key = (parsed[0], parsed[1])
            if key in rows:
                result.problems.append(
                    (line, "day", f"{parsed[0]} {parsed[1]} is already on line {rows[key][3]}")
                )
            else:
                rows[key] = (*parsed, line)
        if len(result.problems) >= MAX_PROBLEMS:
            break
    if result.problems:
        return result
    with transaction.atomic():
        existing = {
            (r.currency, r.day): r
            for r in ExchangeRate.objects.select_for_update().filter(
                currency__in={c for c, _ in rows}, day__in={d for _, d in rows}
            )
        }
        for (currency, day), (_, _, rate, src, _) in rows.items():
            known = existing.get((currency, day))
            if known is None:
                ExchangeRate.objects.create(currency=currency, day=day, rate=rate, source=src or source)
                result.created += 1
            elif known.rate != rate or (src or source) != known.source:
                known.rate, known.source = rate, src or source
                known.save(update_fields=["rate", "source"])
                result.updated += 1
    return result


def _parse(row: dict[str, str], line: int, problems: list) -> tuple[str, date, Decimal, str] | None:
    currency = row.get("currency", "").upper()
    ok = True
    if currency not in MINOR_UNITS:
        problems.append((line, "currency", f"unknown currency {currency[:8]!r}"))
        ok = False
    elif currency == settings.BASE_CURRENCY:
        problems.append((line, "currency", f"{currency} is the base currency (its rate is always 1)"))
        ok = False
    try:
        day = date.fromisoformat(row.get("day", ""))
    except ValueError:
        problems.append((line, "day", f"{row.get('day', '')[:20]!r} is not a date (YYYY-MM-DD)"))
        ok = False
    try:
        rate = Decimal(row.get("rate", ""))
        if not rate.is_finite() or rate <= 0:
            raise InvalidOperation
        if rate.as_tuple().exponent < -8 or rate >= Decimal("1e10"):
            problems.append((line, "rate", "at most 10 digits before and 8 after the point"))
            ok = False
    except InvalidOperation:
        problems.append((line, "rate", f"{row.get('rate', '')[:20]!r} is not a positive number"))
        ok = False
    return (currency, day, rate, row.get("source", "")[:60]) if ok else None
