"""`manage.py optimize_backorders [--limit N] [--sku CODE ...] [--channel CODE]
[--max-shipments N] [--time-limit S] [--apply]`: allocate the backordered
orders as one wave (a MIP), compare with first-come greedy, print the table;
with --apply, source the chosen orders with the MIP's plan."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oms.actors import Actor
from oms.errors import InvalidInput

from ...optimize import backorders_optimize
from ...optimize.services import DEFAULT_TIME_LIMIT


class Command(BaseCommand):
    help = "Allocate backorders as one wave (MIP) and show the gain over first-come greedy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, help="At most this many orders, oldest first.")
        parser.add_argument(
            "--sku",
            action="append",
            default=[],
            metavar="CODE",
            help="Only orders with this SKU (repeatable).",
        )
        parser.add_argument("--channel", help="Only this channel's orders (its code).")
        parser.add_argument("--max-shipments", type=int, help="Override the policies' locations per order.")
        parser.add_argument(
            "--time-limit",
            type=float,
            default=DEFAULT_TIME_LIMIT,
            help=f"Seconds HiGHS may spend on each stage (default {DEFAULT_TIME_LIMIT:g}).",
        )
        parser.add_argument("--apply", action="store_true", help="Source the chosen orders with the plan.")

    def handle(self, *args, **options) -> None:
        try:
            report = backorders_optimize(
                actor=Actor.system(),
                limit=options["limit"],
                skus=options["sku"],
                channel=options["channel"],
                apply=options["apply"],
                time_limit=options["time_limit"],
                max_shipments=options["max_shipments"],
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        out = self.stdout.write
        out(
            f"Wave: {report.orders} backordered order(s), {report.skus} SKU(s), "
            f"{report.locations} location(s); {len(report.excluded)} left out."
        )
        mip, greedy, gain = report.mip, report.greedy, report.gain
        pct = f" ({gain['weighted_fill_pct']:+.2f}%)" if gain["weighted_fill_pct"] is not None else ""
        rows = [
            ("", "MIP", "greedy", "gain"),
            ("orders filled", mip.filled, greedy.filled, f"{gain['orders']:+d}"),
            ("weighted fill", mip.weighted_fill, greedy.weighted_fill, f"{gain['weighted_fill']:+d}{pct}"),
            ("units", mip.units, greedy.units, f"{gain['units']:+d}"),
            ("shipments", mip.shipments, greedy.shipments, f"{mip.shipments - greedy.shipments:+d}"),
            ("cost", f"{mip.cost:.2f}", f"{greedy.cost:.2f}", f"{mip.cost - greedy.cost:+.2f}"),
            ("seconds", f"{report.solver.seconds:.2f}", f"{report.greedy_seconds:.2f}", ""),
        ]
        for label, a, b, c in rows:
            out(f"{label:<15}{a!s:>12}{b!s:>12}{c!s:>18}")
        solver = report.solver
        out(
            f"Solver: {solver.status} (stages: {', '.join(solver.stages) or '-'}; "
            f"{solver.variables} variables, "
            f"{solver.constraints} constraints): {solver.message}."
        )
        for order_id, why in sorted(report.excluded.items()):
            out(f"  left out {order_id:08d}: {why}")
        if report.applied is None:
            out("Dry run: nothing allocated (use --apply).")
            return
        out(f"Applied: {len(report.applied)} order(s) sourced; {len(report.skipped)} skipped.")
        for order_id, why in sorted(report.skipped.items()):
            out(f"  skipped {order_id:08d}: {why}")
