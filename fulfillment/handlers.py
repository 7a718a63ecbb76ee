"""Importing this registers every fulfillment outbox handler and reconcile check."""

from . import checks  # noqa: F401
