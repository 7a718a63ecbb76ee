"""`manage.py inventory_export <kind>`: export products, stock counts or
reorder rules in the layout `inventory_import` reads back.

    manage.py inventory_export products -o catalogue.xlsx
    manage.py inventory_export stock_counts --warehouse DC-NJ -o count-sheet.csv
    manage.py inventory_export reorder_rules > rules.csv
"""

from __future__ import annotations

import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.importexport import FORMATS, KINDS, inventory_export
from oms.errors import DomainError
from oms.progress import ProgressBars


class Command(BaseCommand):
    help = "Export products, stock counts or reorder rules as CSV or XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("--format", choices=FORMATS, help="Default: from -o's suffix, else csv.")
        parser.add_argument("-o", "--output", type=Path, help="File to write (default: CSV on stdout).")
        parser.add_argument("--warehouse", help="stock_counts, reorder_rules: one warehouse's rows only.")

    def handle(self, *args, **options) -> None:
        output: Path | None = options["output"]
        suffix = output.suffix.lower().lstrip(".") if output else ""
        file_format = options["format"] or (suffix if suffix in FORMATS else "csv")
        if output is None and file_format != "csv":
            raise CommandError("XLSX is a binary format: give a file with -o")
        buffer = io.BytesIO()
        with ProgressBars(self.stderr) as bars:
            try:
                count = inventory_export(
                    kind=options["kind"],
                    file_format=file_format,
                    out=buffer,
                    warehouse=options["warehouse"],
                    progress=bars.update,
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        if output is None:
            # No byte order mark on a terminal or a pipe; files keep it for Excel.
            self.stdout.write(buffer.getvalue().decode("utf-8-sig"), ending="")
            return
        # Write next to the target and rename, so a failed export never leaves half a file.
        partial = output.with_name(output.name + ".part")
        try:
            partial.write_bytes(buffer.getvalue())
            partial.replace(output)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {output}: {exc.strerror}") from exc
        self.stderr.write(f"{count} {options['kind']} row(s) written to {output} ({file_format}).")
