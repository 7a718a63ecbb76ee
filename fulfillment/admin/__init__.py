"""Fulfillment admin: one module per area; importing registers them."""

from . import carriers, packing, picking, shipments, sourcing  # noqa: F401
