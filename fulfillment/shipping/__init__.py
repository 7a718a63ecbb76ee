"""Shipping: hand-over to the carrier (or the customer at a pick-up store) and
the payment capture that follows it. Importing registers the outbox handler."""

from . import capture  # noqa: F401 - registers the capture handler
from .services import SHIPPED_TOPIC, pickup_collect, shipment_ship

__all__ = ["SHIPPED_TOPIC", "pickup_collect", "shipment_ship"]
