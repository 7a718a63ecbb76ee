"""Fulfillment admin: picking."""
