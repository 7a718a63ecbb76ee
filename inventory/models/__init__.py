"""Inventory models: catalogue, locations, stock, operations (and later purchasing)."""

from .catalog import SKU, Product
from .locations import Bin, SKUBin, Warehouse, Zone
from .operations import TRANSFER_TRANSITIONS, CountLine, CountSheet, Transfer, TransferLine
from .stock import Reservation, StockLevel, StockMovement

__all__ = [
    "SKU",
    "TRANSFER_TRANSITIONS",
    "Bin",
    "CountLine",
    "CountSheet",
    "Product",
    "Reservation",
    "SKUBin",
    "StockLevel",
    "StockMovement",
    "Transfer",
    "TransferLine",
    "Warehouse",
    "Zone",
]
