"""Fulfillment admin: sourcing."""
