"""Fulfillment: where orders ship from, how, and the warehouse work that gets them out."""

from .carriers import Carrier, CarrierService, CarrierZone, ServiceRate, Surcharge
from .packing import Box, PackagingMaterial
from .picking import PickList, PickListLine, Wave
from .shipments import (
    FO_TRANSITIONS,
    FulfillmentEvent,
    FulfillmentOrder,
    FulfillmentOrderLine,
    TrackingEvent,
)
from .sourcing import LocationPolicy, RoutingRule, SourcingDecision, SourcingPolicy

__all__ = [
    "FO_TRANSITIONS",
    "Box",
    "Carrier",
    "CarrierService",
    "CarrierZone",
    "FulfillmentEvent",
    "FulfillmentOrder",
    "FulfillmentOrderLine",
    "LocationPolicy",
    "PackagingMaterial",
    "PickList",
    "PickListLine",
    "RoutingRule",
    "ServiceRate",
    "SourcingDecision",
    "SourcingPolicy",
    "Surcharge",
    "TrackingEvent",
    "Wave",
]
