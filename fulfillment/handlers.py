"""Importing this registers every fulfillment outbox handler and reconcile check."""

from . import checks, notifications, shipping  # noqa: F401
from .sourcing import handlers as sourcing_handlers  # noqa: F401
