"""`manage.py forecast_backtest`: how well the demand forecaster does, as MASE
against the seasonal-naive baseline over rolling origins.

    manage.py forecast_backtest --dataset wineind
        Australian wine sales (monthly, 1980-1994) as shipped inside the
        pmdarima wheel (a dev dependency): no database, no network.
    manage.py forecast_backtest --from-ledger --sku CODE [--warehouse CODE]
        The shop's own demand history from the stock ledger (daily by default).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from inventory.forecasting import BacktestResult, backtest, demand_history

# name -> (loader path in pmdarima.datasets, season length, description)
DATASETS = {
    "wineind": (
        "load_wineind",
        12,
        "Australian total wine sales by wine makers, monthly, Jan 1980 - Aug 1994",
    ),
}


class Command(BaseCommand):
    help = "Backtest the demand forecaster (MASE vs seasonal naive) on a public dataset or the ledger."
    # The dataset mode needs no database; system checks could touch it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--dataset", choices=sorted(DATASETS), help="A public series shipped in a wheel.")
        source.add_argument("--from-ledger", action="store_true", help="Demand history from the ledger.")
        parser.add_argument("--sku", help="SKU code (with --from-ledger).")
        parser.add_argument("--warehouse", help="Warehouse code (with --from-ledger); default: all.")
        parser.add_argument("--freq", choices=["D", "W"], default="D", help="Ledger periods (default D).")
        parser.add_argument("--days", type=int, default=182, help="Ledger history length in days.")
        parser.add_argument("--horizon", type=int, help="Periods per forecast (dataset: 12, ledger: 7).")
        parser.add_argument("--season", type=int, help="Season length (dataset: its own; ledger D: 7, W: 1).")
        parser.add_argument("--folds", type=int, help="Rolling origins (default 5 dataset, 4 ledger).")
        parser.add_argument("--step", type=int, help="Periods between origins (default: the horizon).")

    def handle(self, *args, **options) -> None:
        if options["dataset"]:
            series, season, label = self._dataset(options["dataset"])
            horizon, folds = options["horizon"] or 12, options["folds"] or 5
        else:
            series, label = self._ledger(options)
            season = 7 if options["freq"] == "D" else 1
            horizon, folds = options["horizon"] or 7, options["folds"] or 4
        season = options["season"] or season
        try:
            result = backtest(
                series, horizon=horizon, season_length=season, folds=folds, step=options["step"]
            )
        except ValueError as exc:
            raise CommandError(f"{label}: {exc}") from exc
        self._report(label, len(series), result)

    def _dataset(self, name: str):
        loader, season, label = DATASETS[name]
        try:
            from pmdarima import datasets
        except ImportError as exc:
            raise CommandError("The public datasets come with the dev extra: pip install pmdarima") from exc
        return getattr(datasets, loader)(), season, f"{name} ({label})"

    def _ledger(self, options):
        from inventory.models import SKU, Warehouse

        if not options["sku"]:
            raise CommandError("--from-ledger needs --sku CODE")
        sku = SKU.objects.filter(code=options["sku"]).first()
        if sku is None:
            raise CommandError(f"No SKU {options['sku']}")
        warehouse_ids = None
        if options["warehouse"]:
            warehouse = Warehouse.objects.filter(code=options["warehouse"]).first()
            if warehouse is None:
                raise CommandError(f"No warehouse {options['warehouse']}")
            warehouse_ids = [warehouse.pk]
        today = timezone.localdate()
        history = demand_history(
            sku_ids=[sku.pk],
            warehouse_ids=warehouse_ids,
            start=today - timedelta(days=options["days"]),
            end=today - timedelta(days=1),  # today is not over yet
            freq=options["freq"],
        )
        where = options["warehouse"] or "all warehouses"
        return history[(sku.pk, None)].to_numpy(), f"{sku.code} at {where} ({options['freq']})"

    def _report(self, label: str, points: int, r: BacktestResult) -> None:
        methods = ", ".join(sorted(set(r.methods)))
        self.stdout.write(f"Series:           {label}, {points} points")
        self.stdout.write(
            f"Backtest:         {r.folds} rolling origins, horizon {r.horizon}, season {r.season_length}"
        )
        self.stdout.write(f"Method chosen:    {methods}")
        self.stdout.write(f"MASE model:       {r.mase_model:.3f}")
        self.stdout.write(f"MASE seas. naive: {r.mase_naive:.3f}")
        self.stdout.write(
            f"Ratio:            {r.ratio:.3f} ({'beats' if r.ratio < 1 else 'does not beat'} naive)"
        )
        self.stdout.write(f"sMAPE model/naive: {r.smape_model:.2f}% / {r.smape_naive:.2f}%")
