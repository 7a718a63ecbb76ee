"""`manage.py load_exchange_rates rates.csv [--source NAME]`: load exchange
rates by day from CSV (currency, day, rate[, source]); see accounting.rates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounting.rates import exchange_rates_load
from oms.errors import DomainError


class Command(BaseCommand):
    help = "Load exchange rates by day from a CSV file (currency, day, rate[, source])."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--source", default="", help="Where the rates come from, e.g. 'ECB'.")

    def handle(self, *args: Any, path: str, source: str, **options: Any) -> None:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            result = exchange_rates_load(text=text, source=source)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if result.problems:
            for line, field, problem in result.problems:
                self.stderr.write(f"  line {line}, {field}: {problem}")
            raise CommandError(f"{len(result.problems)} problem(s): nothing loaded")
        self.stdout.write(self.style.SUCCESS(f"{result.created} rate(s) added, {result.updated} updated."))
