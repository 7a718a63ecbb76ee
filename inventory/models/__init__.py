"""Inventory models: catalogue, locations, stock (and later purchasing)."""

from .catalog import SKU, Product
from .locations import Warehouse
from .stock import Reservation, StockLevel, StockMovement

__all__ = ["SKU", "Product", "Reservation", "StockLevel", "StockMovement", "Warehouse"]
