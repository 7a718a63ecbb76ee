"""A warehouse to pick in, shared by the picking and wave tests.

Zones A (A-01, A-02, A-03) and B (B-01, B-02), walked in that order.
Stock: pen 3 in A-01 (primary) and 10 in B-02 (overflow); mug 10 in A-02;
book 10 in B-01; tape 5 unlocated (received, never put away).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from fulfillment.models import FulfillmentOrder, PickList
from inventory.models import SKU, Bin, BinStock, StockLevel
from oms.actors import Actor
from tests.factories import sku_in_stock

from .conftest import add_bins, place_order, release_whole_order, stock_in_bin

SYSTEM = Actor.system()


@dataclass
class World:
    channel: object
    warehouse: object
    bins: dict[str, Bin]
    pen: SKU
    mug: SKU
    book: SKU
    tape: SKU

    def shipment(self, *lines: tuple[SKU, int], **release) -> FulfillmentOrder:
        order = place_order(self.channel, [(sku.code, qty) for sku, qty in lines])
        assert order.warehouse_id == self.warehouse.pk
        return release_whole_order(order, **release)


def build_world(channel, warehouse) -> World:
    bins = add_bins(warehouse, {"A": ["A-01", "A-02", "A-03"], "B": ["B-01", "B-02"]})
    pen, mug, book = (sku_in_stock(channel=channel, warehouse=warehouse, quantity=0) for _ in range(3))
    stock_in_bin(pen, bins["A-01"], 3)
    stock_in_bin(pen, bins["B-02"], 10, primary=False)
    stock_in_bin(mug, bins["A-02"], 10)
    stock_in_bin(book, bins["B-01"], 10)
    tape = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    return World(channel, warehouse, bins, pen, mug, book, tape)


def walk(pick_list: PickList) -> list[tuple]:
    """(sequence, bin code or None, sku code, quantity, tote slot) in walking order."""
    return [
        (ln.sequence, ln.bin.code if ln.bin else None, ln.sku.code, ln.quantity, ln.tote_slot)
        for ln in pick_list.lines.select_related("bin", "sku").order_by("sequence", "tote_slot", "id")
    ]


def in_bin(sku: SKU, bin_: Bin) -> int:
    return BinStock.objects.filter(sku=sku, bin=bin_).values_list("quantity", flat=True).first() or 0


def unlocated(sku: SKU, warehouse) -> int:
    level = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    binned = BinStock.objects.filter(sku=sku, warehouse=warehouse).aggregate(n=Sum("quantity"))["n"] or 0
    return level.on_hand - binned


def status_of(fo: FulfillmentOrder) -> str:
    fo.refresh_from_db()
    return fo.status
