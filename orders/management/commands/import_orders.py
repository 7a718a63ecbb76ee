"""`manage.py import_orders <channel code> <file.csv>`: place a CSV batch of
marketplace or phone orders (columns: see orders.integrations.csv_import).

Rows are grouped into orders by `order_id`; each order is placed all or
nothing, on its own. Orders already imported are not placed again. Held
orders are listed with the reason and wait in the admin (Inbound orders) for
a retry once the cause is fixed.

Exit status: 0 every order placed, 2 some orders held or rows unusable, 1 the
file could not be read at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oms.actors import Actor
from oms.errors import DomainError
from oms.models import Channel
from oms.progress import ProgressBars
from orders.integrations.csv_import import MAX_FILE_BYTES, orders_import_csv


class Command(BaseCommand):
    help = "Import a CSV batch of orders for a channel; held orders are listed with the reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channel", help="Channel code, e.g. MKT.")
        parser.add_argument("file", type=Path, help="A UTF-8 .csv file, one row per order line.")

    def handle(self, *args, **options) -> None:
        channel = Channel.objects.filter(code=options["channel"]).first()
        if channel is None:
            raise CommandError(f"Unknown channel '{options['channel']}'.")
        path: Path = options["file"]
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CommandError(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        with ProgressBars(self.stderr) as bars:
            try:
                report = orders_import_csv(
                    channel=channel, data=data, actor=Actor.system(), progress=bars.update
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        for outcome in report.orders:
            rows = ", ".join(str(r) for r in outcome.rows)
            again = " (already imported)" if outcome.duplicate else ""
            if outcome.status == "placed":
                self.stdout.write(f"placed  {outcome.external_id}: order {outcome.order_id:08d}{again}")
            else:
                self.stdout.write(
                    f"{outcome.status:<7} {outcome.external_id} (rows {rows}){again}: {outcome.reason}"
                )
        for error in report.row_errors:
            self.stdout.write(f"skipped row {error['row']}: {error['message']}")
        self.stdout.write(
            f"{report.count('placed')} placed, {report.count('held')} held, "
            f"{len(report.row_errors)} row(s) unusable."
        )
        if not report.ok:
            sys.exit(2)
