"""Fulfillment admin: shipments."""
