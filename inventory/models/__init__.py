"""Inventory models: catalogue, locations, stock, operations (and later purchasing)."""

from .catalog import SKU, Product
from .locations import Bin, SKUBin, Warehouse, Zone
from .operations import TRANSFER_TRANSITIONS, CountLine, CountSheet, Transfer, TransferLine
from .purchasing import (
    PO_OPEN_STATUSES,
    PO_TRANSITIONS,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Supplier,
    SupplierSKU,
)
from .replenishment import ReorderRule
from .stock import Reservation, StockLevel, StockMovement

__all__ = [
    "PO_OPEN_STATUSES",
    "PO_TRANSITIONS",
    "SKU",
    "TRANSFER_TRANSITIONS",
    "Bin",
    "CountLine",
    "CountSheet",
    "Product",
    "PurchaseOrder",
    "PurchaseOrderEvent",
    "PurchaseOrderLine",
    "ReorderRule",
    "Reservation",
    "SKUBin",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "SupplierSKU",
    "Transfer",
    "TransferLine",
    "Warehouse",
    "Zone",
]
