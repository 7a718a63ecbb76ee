"""A small warehouse with bins, shared by the bin tests: builders and checks,
no fixtures (each test module makes its own)."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.checks import bin_stock_equals_ledger, no_negative_unlocated
from inventory.models import (
    SKU,
    Bin,
    BinStock,
    CountLine,
    CountSheet,
    SKUBin,
    StockLevel,
    StockMovement,
    Transfer,
    Warehouse,
    Zone,
)
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive
from tests.factories import SKUFactory, WarehouseFactory


@dataclass
class Layout:
    """Walk order in DC: overflow2 (10), stray (20), overflow (30), primary (40), inactive (50)."""

    wh: Warehouse
    other: Warehouse
    sku: SKU
    primary: Bin
    overflow: Bin
    overflow2: Bin
    stray: Bin  # holds stock of nobody assigned to it
    inactive: Bin
    foreign: Bin  # a bin of the other warehouse


def make_bin(wh: Warehouse, code: str, walk: int, *, active: bool = True) -> Bin:
    zone, _ = Zone.objects.get_or_create(warehouse=wh, code="AMB", defaults={"name": "Ambient"})
    aisle, rack, shelf, position = code.split("-")
    return Bin.objects.create(
        warehouse=wh, zone=zone, code=code, aisle=aisle, rack=rack, shelf=shelf, position=position,
        walk_sequence=walk, is_active=active,
    )  # fmt: skip


def assign(sku: SKU, bin_: Bin, kind: str) -> SKUBin:
    return SKUBin.objects.create(sku=sku, warehouse=bin_.warehouse, bin=bin_, kind=kind)


def build_layout(code: str = "DC") -> Layout:
    wh, other = WarehouseFactory(code=code), WarehouseFactory(code=f"{code}-2")
    sku = SKUFactory()
    layout = Layout(
        wh=wh,
        other=other,
        sku=sku,
        primary=make_bin(wh, "A-01-01-04", 40),
        overflow=make_bin(wh, "A-01-01-03", 30),
        overflow2=make_bin(wh, "A-01-01-01", 10),
        stray=make_bin(wh, "A-01-01-02", 20),
        inactive=make_bin(wh, "A-01-01-05", 50, active=False),
        foreign=make_bin(other, "A-01-01-04", 40),
    )
    assign(sku, layout.primary, SKUBin.Kind.PRIMARY)
    assign(sku, layout.overflow, SKUBin.Kind.OVERFLOW)
    assign(sku, layout.overflow2, SKUBin.Kind.OVERFLOW)
    return layout


def receive(lay: Layout, quantity: int, bin_: Bin | None = None, sku: SKU | None = None) -> None:
    """Units of the layout's SKU (or another) arrive in a bin, or unlocated."""
    stock_receive(
        warehouse_id=lay.wh.pk,
        sku_id=(sku or lay.sku).pk,
        quantity=quantity,
        reference="t",
        bin_id=bin_.pk if bin_ else None,
    )


def located(sku: SKU, wh: Warehouse) -> dict[str | None, int]:
    """{None: unlocated units, bin code: units} of one SKU in one warehouse (empty bins left out)."""
    level = StockLevel.objects.filter(sku=sku, warehouse=wh).first()
    bins = dict(
        BinStock.objects.filter(sku=sku, warehouse=wh, quantity__gt=0).values_list("bin__code", "quantity")
    )
    on_hand = level.on_hand if level else 0
    return {None: on_hand - sum(bins.values()), **bins}


def ledgers_agree() -> bool:
    """Levels = their ledger, bins = theirs, nothing unlocated below zero."""
    return ledger_mismatches() == [] and bin_stock_equals_ledger() == [] and no_negative_unlocated() == []


def snapshot() -> tuple:
    """Everything a stock operation could change, to prove a refused one changed nothing."""
    return (
        list(StockLevel.objects.order_by("id").values_list("sku_id", "warehouse_id", "on_hand", "allocated")),
        list(BinStock.objects.order_by("id").values_list("sku_id", "bin_id", "quantity")),
        StockMovement.objects.count(),
        list(Transfer.objects.order_by("id").values_list("status", flat=True)),
        list(CountSheet.objects.order_by("id").values_list("status", flat=True)),
        list(CountLine.objects.order_by("id").values_list("counted", flat=True)),
    )
