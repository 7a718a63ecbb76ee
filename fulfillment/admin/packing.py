"""Fulfillment admin: packing."""
