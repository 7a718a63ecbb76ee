"""`manage.py reorder_check`: run the reorder check once (beat runs it every
REORDER_INTERVAL_SECONDS) and print the purchase orders it drafted."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from inventory.models import PurchaseOrder
from inventory.replenishment import reorder_check


class Command(BaseCommand):
    help = "Draft the purchase orders the active reorder rules call for, and list them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-email", action="store_true", help="Do not e-mail the warehouse managers the digest."
        )

    def handle(self, *args, **options) -> None:
        result = reorder_check(notify=not options["no_email"])
        if not result.ran:
            self.stderr.write("A reorder check is already running elsewhere; nothing done.")
            return
        self.stdout.write(
            f"{result.positions_below} position(s) at or below their reorder point; "
            f"{len(result.purchase_orders)} purchase order(s) drafted with {result.lines} line(s), "
            f"{result.units} unit(s)."
        )
        drafted = (
            PurchaseOrder.objects.filter(pk__in=result.purchase_orders)
            .select_related("supplier", "warehouse")
            .prefetch_related("lines__sku")
            .order_by("pk")
        )
        for po in drafted:
            self.stdout.write(f"PO{po.pk:06d}  {po.supplier.code} -> {po.warehouse.code}")
            for line in po.lines.all():
                self.stdout.write(f"    {line.quantity_ordered:>6} x {line.sku.code}")
        if result.without_supplier:
            self.stdout.write("No active preferred supplier (nothing ordered):")
            for row in result.without_supplier:
                self.stdout.write(
                    f"    {row['sku']} @ {row['warehouse']}: available {row['available']}, "
                    f"incoming {row['incoming']}, reorder point {row['reorder_point']}"
                )
