"""Inventory models: catalogue, locations, stock, operations, purchasing, replenishment and alerts."""

from .alerts import StockAlert
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
from .stock import BinStock, Reservation, SafetyStock, StockLevel, StockMovement

__all__ = [
    "PO_OPEN_STATUSES",
    "PO_TRANSITIONS",
    "SKU",
    "TRANSFER_TRANSITIONS",
    "Bin",
    "BinStock",
    "CountLine",
    "CountSheet",
    "Product",
    "PurchaseOrder",
    "PurchaseOrderEvent",
    "PurchaseOrderLine",
    "ReorderRule",
    "Reservation",
    "SKUBin",
    "SafetyStock",
    "StockAlert",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "SupplierSKU",
    "Transfer",
    "TransferLine",
    "Warehouse",
    "Zone",
]
