"""`manage.py recompute_reorder_rules`: recompute the forecast reorder rules
now (beat does it daily), with a progress bar.

    manage.py recompute_reorder_rules                 every active forecast rule
    manage.py recompute_reorder_rules --rule 12 --rule 13
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from inventory.forecasting import DEFAULT_HISTORY_DAYS
from inventory.reorder_rules import CHUNK_SIZE, forecast_rules, reorder_rules_recompute


class Command(BaseCommand):
    help = "Recompute reorder point, safety stock and order-up-to of the forecast reorder rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rule", type=int, action="append", dest="rules", help="Rule id (repeatable).")
        parser.add_argument(
            "--history-days", type=int, default=DEFAULT_HISTORY_DAYS, help="Days of demand history."
        )
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="Rules per database round.")

    def handle(self, *args, **options) -> None:
        total = forecast_rules(options["rules"]).count()
        # tqdm draws on the real stderr (an OutputWrapper would add a newline
        # per redraw) and turns itself off when that is not a terminal.
        stream = getattr(self.stderr, "_out", self.stderr)
        with tqdm(total=total, unit="rule", file=stream, disable=None) as bar:
            result = reorder_rules_recompute(
                rule_ids=options["rules"],
                history_days=options["history_days"],
                chunk_size=max(options["chunk_size"], 1),
                progress=bar.update,
            )
        self.stdout.write(
            f"{result.rules} forecast rule(s): {result.updated} recomputed, {result.kept} kept "
            f"(too little history or no demand); {result.default_lead_time} without an active preferred "
            "supplier used the default lead time."
        )
