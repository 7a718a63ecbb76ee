"""The demo shop's warehouse side: zones and bins in walking order, where each
SKU lives, suppliers with their terms, reorder rules and safety stock.

Called by `manage.py demo_data` inside its transaction. Configuration rows are
written directly (they are what staff would type into the admin); everything
that moves stock or a purchase order goes through the services.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from inventory.alerts import stock_alerts_refresh
from inventory.models import (
    SKU,
    Bin,
    PurchaseOrder,
    ReorderRule,
    SKUBin,
    StockLevel,
    Supplier,
    SupplierSKU,
    Warehouse,
    Zone,
)
from inventory.operations import count_record, count_start, count_submit, transfer_create, transfer_ship
from inventory.purchasing import purchase_order_receive, purchase_order_send
from inventory.reorder_rules import reorder_rules_recompute
from inventory.replenishment import reorder_check
from oms.actors import Actor

# Brand -> supplier: (code, name, currency, lead time in days, e-mail).
SUPPLIERS = {
    "Northline": ("SUP-NORTH", "Northline Apparel Co.", "USD", 21, "orders@northline.example"),
    "Fjellmark": ("SUP-FJELL", "Fjellmark AS", "EUR", 28, "salg@fjellmark.example"),
    "Stridewell": ("SUP-STRIDE", "Stridewell Footwear", "USD", 35, "po@stridewell.example"),
    "Hearth & Co": ("SUP-HEARTH", "Hearth & Co Homeware", "GBP", 14, "trade@hearthco.example"),
    "Roastery 41": ("SUP-R41", "Roastery 41", "USD", 7, "wholesale@roastery41.example"),
    "Sonance": ("SUP-SONANCE", "Sonance Audio", "USD", 30, "b2b@sonance.example"),
    "Voltaic": ("SUP-VOLT", "Voltaic Power", "USD", 18, "sales@voltaic.example"),
    "Kinetik": ("SUP-KINETIK", "Kinetik Fitness", "EUR", 21, "order@kinetik.example"),
    "Papier": ("SUP-PAPIER", "Papier Stationery", "EUR", 12, "commandes@papier.example"),
    "Playworks": ("SUP-PLAY", "Playworks Toys", "USD", 25, "orders@playworks.example"),
    "Alba": ("SUP-ALBA", "Alba Botanicals", "GBP", 10, "trade@alba.example"),
}
# Category -> (minimum order quantity, pack size).
ORDER_TERMS = {
    "Apparel": (12, 6),
    "Footwear": (6, 1),
    "Home & Kitchen": (8, 4),
    "Grocery": (24, 12),
    "Electronics": (10, 5),
    "Outdoor": (4, 2),
    "Fitness": (6, 2),
    "Stationery": (24, 12),
    "Toys & Games": (6, 3),
    "Beauty": (24, 12),
}
# Rough landed-cost conversion from USD into the supplier's currency.
FX_FROM_USD = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}

DC_AISLES = "ABCDEF"
DC_RACKS = 6
DC_SHELVES = 3
STORE_SAFETY_STOCK = 2
PICK_FACE_UNITS = 48


def _bins_for(warehouse: Warehouse) -> list[Bin]:
    """A DC has a pick zone of aisle-rack-shelf bins walked in a serpentine
    (up one aisle, down the next) and a bulk zone for overflow pallets; a store
    has its back room only."""
    bins: list[Bin] = []
    if warehouse.kind == Warehouse.Kind.DC:
        pick = Zone.objects.create(warehouse=warehouse, code="PICK", name="Pick faces", walk_sequence=1)
        bulk = Zone.objects.create(warehouse=warehouse, code="BULK", name="Bulk storage", walk_sequence=2)
        seq = 0
        for a, aisle in enumerate(DC_AISLES):
            racks = range(1, DC_RACKS + 1) if a % 2 == 0 else range(DC_RACKS, 0, -1)
            for rack in racks:
                for shelf in range(1, DC_SHELVES + 1):
                    seq += 10
                    bins.append(_bin(warehouse, pick, aisle, rack, shelf, seq))
        for rack in range(1, 13):
            seq += 10
            bins.append(_bin(warehouse, bulk, "X", rack, 1, seq))
    else:
        back = Zone.objects.create(warehouse=warehouse, code="BACK", name="Back room", walk_sequence=1)
        seq = 0
        for rack in range(1, 9):
            for shelf in range(1, 4):
                seq += 10
                bins.append(_bin(warehouse, back, "S", rack, shelf, seq))
    return Bin.objects.bulk_create(bins)


def _bin(warehouse: Warehouse, zone: Zone, aisle: str, rack: int, shelf: int, seq: int) -> Bin:
    return Bin(
        warehouse=warehouse,
        zone=zone,
        code=f"{aisle}-{rack:02d}-{shelf:02d}-01",
        aisle=aisle,
        rack=f"{rack:02d}",
        shelf=f"{shelf:02d}",
        position="01",
        walk_sequence=seq,
    )


@dataclass
class Layout:
    """Where each SKU lives: (sku_id, warehouse_id) -> its primary bin and,
    for some, an overflow bin in bulk."""

    bins: int = 0
    primary: dict[tuple[int, int], int] = field(default_factory=dict)
    overflow: dict[tuple[int, int], int] = field(default_factory=dict)

    def split(self, sku_id: int, warehouse_id: int, quantity: int) -> list[tuple[int | None, int]]:
        """How a delivery is put away: the pick face is filled up to
        PICK_FACE_UNITS, the rest goes to the overflow bin (or the pick face)."""
        home = self.primary.get((sku_id, warehouse_id))
        spare = self.overflow.get((sku_id, warehouse_id))
        if spare is None or quantity <= PICK_FACE_UNITS:
            return [(home, quantity)]
        return [(home, PICK_FACE_UNITS), (spare, quantity - PICK_FACE_UNITS)]


def create_structure(warehouses: Iterable[Warehouse], stocked: dict[int, list[SKU]]) -> Layout:
    """Zones, bins and a primary bin for every SKU a location stocks (SKUs of a
    category side by side, in catalogue order). Cheap DC lines also get an
    overflow bin in bulk."""
    layout = Layout()
    primary, overflow = layout.primary, layout.overflow
    assignments: list[SKUBin] = []
    for warehouse in warehouses:
        bins = _bins_for(warehouse)
        layout.bins += len(bins)
        pick = [b for b in bins if b.aisle != "X"]
        bulk = [b for b in bins if b.aisle == "X"]
        skus = sorted(stocked.get(warehouse.pk, []), key=lambda s: (s.product.category, s.code))
        for i, sku in enumerate(skus):
            # More SKUs than pick faces: several share a bin, as small items do.
            home = pick[i * len(pick) // max(len(skus), 1)]
            primary[(sku.pk, warehouse.pk)] = home.pk
            assignments.append(SKUBin(sku=sku, warehouse=warehouse, bin=home, kind=SKUBin.Kind.PRIMARY))
            if bulk and sku.unit_cost < 15:
                spare = bulk[i % len(bulk)]
                overflow[(sku.pk, warehouse.pk)] = spare.pk
                assignments.append(SKUBin(sku=sku, warehouse=warehouse, bin=spare, kind=SKUBin.Kind.OVERFLOW))
    SKUBin.objects.bulk_create(assignments)
    return layout


def create_suppliers(skus: Iterable[SKU], rng: random.Random) -> dict[int, SupplierSKU]:
    """One supplier per brand, preferred for its SKUs. Returns sku_id -> item."""
    suppliers = {
        brand: Supplier.objects.create(
            code=code,
            name=name,
            currency=currency,
            default_lead_time_days=lead,
            email=email,
            contact_name="Order desk",
        )
        for brand, (code, name, currency, lead, email) in SUPPLIERS.items()
    }
    items = []
    for sku in skus:
        supplier = suppliers[sku.product.brand]
        moq, pack = ORDER_TERMS[sku.product.category]
        cost = (sku.unit_cost * FX_FROM_USD[supplier.currency]).quantize(Decimal("0.01"))
        items.append(
            SupplierSKU(
                supplier=supplier,
                sku=sku,
                supplier_sku_code=f"{supplier.code[4:]}-{sku.code}",
                unit_cost=cost,
                min_order_qty=moq,
                pack_size=pack,
                # A few items come by air: a shorter lead time than the supplier's default.
                lead_time_days=max(supplier.default_lead_time_days // 2, 3) if rng.random() < 0.1 else None,
                is_preferred=True,
            )
        )
    created = SupplierSKU.objects.bulk_create(items)
    return {item.sku_id: item for item in created}


def create_rules(dc_positions: Iterable[tuple[SKU, Warehouse, int]], rng: random.Random) -> int:
    """Reorder rules for every DC position: the best sellers' rules follow the
    forecast, the rest are static min / max set from the opening stock."""
    rules = []
    for sku, warehouse, opening in dc_positions:
        forecast = rng.random() < 0.5
        point = max(opening // 4, 5)
        rules.append(
            ReorderRule(
                sku=sku,
                warehouse=warehouse,
                method=ReorderRule.Method.FORECAST if forecast else ReorderRule.Method.STATIC,
                reorder_point=point,
                order_up_to=max(opening, point + 10),
                service_level=Decimal(rng.choice(["0.900", "0.950", "0.980"])),
                review_period_days=14,
            )
        )
    ReorderRule.objects.bulk_create(rules)
    return len(rules)


def hold_back_store_stock(warehouses: Iterable[Warehouse]) -> None:
    """Stores keep a couple of units of everything back: shelf counts drift."""
    ids = [w.pk for w in warehouses if w.kind == Warehouse.Kind.STORE]
    Warehouse.objects.filter(pk__in=ids).update(safety_stock=STORE_SAFETY_STOCK)


def bring_up_to_date(
    *, warehouses: dict[str, Warehouse], rng: random.Random, log: Callable[[str], None]
) -> dict[str, int]:
    """Today's warehouse work after the history: forecast rules recomputed, the
    reorder check's draft purchase orders (two sent, one partly received at
    the dock), a transfer on the road to a store, a store count waiting for
    approval with a variance, and the stock alerts all that leaves."""
    system = Actor.system()
    recomputed = reorder_rules_recompute()
    check = reorder_check(actor=system)
    drafts = list(PurchaseOrder.objects.filter(pk__in=check.purchase_orders).order_by("pk"))
    sent = drafts[: min(2, len(drafts) - 1)]  # and at least one left as a draft to review
    for po in sent:
        purchase_order_send(po_id=po.pk, actor=system)
    if sent:
        first = sent[0].lines.order_by("pk").first()
        purchase_order_receive(
            po_id=sent[0].pk,
            receipts={first.sku_id: max(first.quantity_ordered // 2, 1)},
            actor=system,
            note="First pallet; the rest is on the next truck",
        )

    source, store = warehouses["DC-NJ"], warehouses["STORE-NYC"]
    movable = list(
        StockLevel.objects.filter(warehouse=source, on_hand__gte=F("allocated") + F("soft_reserved") + 20)
        .order_by("sku__code")
        .values_list("sku_id", flat=True)[:3]
    )
    if movable:
        transfer = transfer_create(
            from_warehouse_id=source.pk,
            to_warehouse_id=store.pk,
            lines=[(sku_id, 6) for sku_id in movable],
            actor=system,
            expected_at=timezone.localdate() + timedelta(days=2),
            note="Weekly store replenishment",
        )
        transfer_ship(transfer_id=transfer.pk, actor=system)

    counted = list(
        StockLevel.objects.filter(warehouse=warehouses["STORE-LDN"], on_hand__gt=4)
        .order_by("sku__code")
        .values_list("sku_id", "on_hand")[:6]
    )
    if counted:
        sheet = count_start(
            warehouse_id=warehouses["STORE-LDN"].pk,
            sku_ids=[sku_id for sku_id, _ in counted],
            actor=system,
            note="Monthly shelf count",
        )
        # One shelf is short by three: the count waits for a manager's approval.
        counts = {sku_id: on_hand - (3 if i == 0 else 0) for i, (sku_id, on_hand) in enumerate(counted)}
        count_record(sheet_id=sheet.pk, counts=counts)
        count_submit(sheet_id=sheet.pk, actor=system)

    alerts = stock_alerts_refresh()
    log(
        f"  today: {recomputed.updated} forecast rules computed, {len(check.purchase_orders)} draft POs"
        f" ({len(sent)} sent), alerts {alerts.summary()}"
    )
    return {"purchase_orders": len(check.purchase_orders), "alerts": sum(alerts.opened.values())}
