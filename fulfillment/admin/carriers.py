"""Fulfillment admin: carriers."""
