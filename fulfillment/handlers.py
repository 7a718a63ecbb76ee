"""Importing this registers every fulfillment outbox handler and reconcile check."""
