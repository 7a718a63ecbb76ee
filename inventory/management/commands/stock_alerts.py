"""`manage.py stock_alerts`: refresh the stock alerts now (beat does it every
STOCK_ALERT_INTERVAL_SECONDS) and e-mail the digest of new ones."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from inventory.alerts import stock_alerts_digest, stock_alerts_refresh


class Command(BaseCommand):
    help = "Open, refresh and resolve stock alerts, then e-mail the warehouse managers what is new."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-digest", action="store_true", help="Refresh only; e-mail nothing.")

    def handle(self, *args, **options) -> None:
        result = stock_alerts_refresh()
        if not result.ran:
            self.stderr.write("An alert refresh is already running elsewhere; nothing done.")
            return
        self.stdout.write(f"Stock alerts {result.summary()}.")
        if not options["no_digest"]:
            sent = stock_alerts_digest()
            message = f"{sent} alert(s) queued for e-mail." if sent else "nothing new."
            self.stdout.write(f"Digest: {message}")
