"""`manage.py inventory_report stockout-risk|overstock`: the forecast reports
as a table (the staff API serves the same figures).

    manage.py inventory_report stockout-risk --horizon-days 14 --warehouse DC-NJ
    manage.py inventory_report overstock --horizon-days 30 --factor 4
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.reports import OVERSTOCK, REPORTS, stock_report
from oms.errors import InvalidInput


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = "Print the stock-out risk or overstock report from the demand forecast."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("report", choices=REPORTS)
        parser.add_argument("--horizon-days", type=int, help="Days ahead (stock-out risk 14, overstock 30).")
        parser.add_argument("--history-days", type=int, help="Days of demand history (112).")
        parser.add_argument("--factor", type=float, help="Overstock: more than factor x forecast demand.")
        parser.add_argument("--warehouse", help="Warehouse code.")
        parser.add_argument("--sku", help="SKU code.")
        parser.add_argument("--limit", type=int, default=50, help="Rows to print (0: all; default 50).")

    def handle(self, *args, **options) -> None:
        try:
            report = stock_report(
                name=options["report"],
                horizon_days=options["horizon_days"],
                history_days=options["history_days"],
                factor=options["factor"],
                warehouse=options["warehouse"],
                sku=options["sku"],
                use_cache=False,
            )
        except InvalidInput as exc:
            name, problems = next(iter(exc.fields.items()), ("", [exc.message]))
            option = f"--{name.replace('_', '-')}: " if name in options else ""
            raise CommandError(f"{option}{problems[0]}") from exc
        rows = report.rows[: options["limit"]] if options["limit"] > 0 else report.rows
        over = report.name == OVERSTOCK
        title = (
            f"Overstock: more than {report.factor:g} x forecast demand over {report.horizon_days} days"
            if over
            else f"Stock-out risk over the next {report.horizon_days} days"
        )
        self.stdout.write(f"{title} ({len(report.rows)} position(s), {report.history_days} days of history)")
        if not rows:
            return
        last = "Excess" if over else "Out on day"
        header = (
            f"{'SKU':<20} {'Location':<10} {'Available':>9} {'Forecast':>9} {'Sigma':>7} "
            f"{'P(out)':>6} {last:>10}  Method"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in rows:
            if over:
                tail = _number(r.available - report.factor * r.forecast_demand)
            else:
                tail = "-" if r.days_until_stockout is None else str(r.days_until_stockout)
            demand, sigma = _number(r.forecast_demand), _number(r.forecast_sigma)
            self.stdout.write(
                f"{r.sku_code:<20} {r.warehouse_code:<10} {r.available:>9} {demand:>9} {sigma:>7} "
                f"{_number(r.stockout_probability, 2):>6} {tail:>10}  {r.method}"
            )
        if len(rows) < len(report.rows):
            self.stdout.write(f"... and {len(report.rows) - len(rows)} more (--limit 0 prints all)")
