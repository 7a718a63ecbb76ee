"""`manage.py inventory_import <kind> <file>`: import products, stock counts or
reorder rules from a CSV or XLSX file.

    manage.py inventory_import products catalogue.xlsx --dry-run
    manage.py inventory_import stock_counts counts.csv --approve
    manage.py inventory_import reorder_rules rules.csv --partial

Nothing is imported from a file with errors unless --partial is given.
Exit status: 0 all rows imported, 1 nothing imported (the error table says
why), 2 a partial import skipped rows with errors.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.importexport import KINDS, MAX_FILE_BYTES, ImportReport, inventory_import
from oms.actors import Actor
from oms.errors import DomainError
from oms.progress import ProgressBars

MAX_LISTED_ERRORS = 1000


class Command(BaseCommand):
    help = "Import products, stock counts or reorder rules from a CSV or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file", type=Path, help="A .csv (UTF-8) or .xlsx file.")
        parser.add_argument("--partial", action="store_true", help="Import the valid rows, report the rest.")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument(
            "--approve",
            action="store_true",
            help="stock_counts: approve the count sheets, applying the variances to stock.",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        if size > MAX_FILE_BYTES:
            raise CommandError(f"{path} is larger than the limit of {MAX_FILE_BYTES // (1024 * 1024)} MB")
        with ProgressBars(self.stderr) as bars:
            try:
                report = inventory_import(
                    kind=options["kind"],
                    data=path.read_bytes(),
                    filename=path.name,
                    actor=Actor.system(),
                    partial=options["partial"],
                    dry_run=options["dry_run"],
                    approve=options["approve"],
                    progress=bars.update,
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        self._errors(report)
        if report.rejected:
            raise CommandError(report.summary, returncode=1)
        if report.errors:
            self.stdout.write(self.style.WARNING(report.summary))
            raise CommandError(f"{report.error_rows} row(s) skipped", returncode=2)
        self.stdout.write(self.style.SUCCESS(report.summary))

    def _errors(self, report: ImportReport) -> None:
        if not report.errors:
            return
        rows = [("row", "field", "problem")]
        rows += [(str(e.row or "-"), e.field, e.problem) for e in report.errors[:MAX_LISTED_ERRORS]]
        widths = [max(len(r[i]) for r in rows) for i in (0, 1)]
        for row, field, problem in rows:
            self.stderr.write(f"{row:>{widths[0]}}  {field:<{widths[1]}}  {problem}")
        if len(report.errors) > MAX_LISTED_ERRORS:
            self.stderr.write(f"... and {len(report.errors) - MAX_LISTED_ERRORS} more")
