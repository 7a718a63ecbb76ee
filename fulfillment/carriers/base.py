"""The interface every carrier integration implements.

The OMS ships one adapter, "table" (fulfillment.carriers.table), which rates
from the carrier's rate tables in the database, issues tracking numbers in
the carrier's prefix, and reads the OMS's own signed tracking webhook format
(below). A real carrier API plugs in as another adapter registered under its
name and selected by Carrier.adapter; tests stand in for a remote API with
an adapter behind this same interface.

Tracking webhook format (default parse_tracking), JSON:

    {"events": [{"id": "evt-1", "tracking_number": "AC000123456", "status":
      "in_transit" | "out_for_delivery" | "delivered" | "exception" | "info",
      "description": "Departed hub", "location": "Newark, NJ",
      "occurred_at": "2026-12-01T10:00:00Z"}]}

signed with HMAC-SHA256 over the raw body with the carrier's webhook secret,
hex digest in the X-Carrier-Signature header (optionally "sha256=" prefixed).
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.dateparse import parse_datetime

from oms.errors import InvalidInput

if TYPE_CHECKING:
    from ..models import Carrier, CarrierService, FulfillmentOrder

TRACKING_STATUSES = ("info", "in_transit", "out_for_delivery", "delivered", "exception")


@dataclass(frozen=True)
class Parcel:
    weight_grams: int
    length_mm: int
    width_mm: int
    height_mm: int

    @property
    def longest_mm(self) -> int:
        return max(self.length_mm, self.width_mm, self.height_mm)


@dataclass(frozen=True)
class Lane:
    """From a shipping location to a destination (coordinates may be unknown)."""

    origin: tuple[float, float]
    origin_country: str
    destination: tuple[float, float] | None
    destination_country: str
    destination_postal_code: str = ""
    distance_km: float | None = None


@dataclass(frozen=True)
class Quote:
    service_id: int
    carrier_code: str
    service_code: str
    level: str
    amount: Decimal
    currency: str
    zone: int
    billable_weight_grams: int
    transit_days: int
    ship_date: date
    delivery_date: date
    breakdown: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "service": f"{self.carrier_code}/{self.service_code}",
            "level": self.level,
            "amount": str(self.amount),
            "currency": self.currency,
            "zone": self.zone,
            "billable_weight_grams": self.billable_weight_grams,
            "transit_days": self.transit_days,
            "ship_date": self.ship_date.isoformat(),
            "delivery_date": self.delivery_date.isoformat(),
            "breakdown": self.breakdown,
        }


@dataclass(frozen=True)
class TrackingUpdate:
    event_id: str
    tracking_number: str
    status: str
    description: str
    location: str
    occurred_at: datetime
    raw: dict[str, Any]


class CarrierAdapter(ABC):
    def __init__(self, carrier: Carrier) -> None:
        self.carrier = carrier

    @abstractmethod
    def quote(
        self, *, services: Sequence[CarrierService], lane: Lane, parcel: Parcel, ready_at: datetime
    ) -> list[Quote]:
        """A quote per service that can carry the parcel on the lane; a parcel
        ready after a service's cut-off leaves the next working day."""

    @abstractmethod
    def create_shipment(self, *, fulfillment_order: FulfillmentOrder, parcel: Parcel) -> str:
        """Register the parcel with the carrier; returns its tracking number."""

    def verify_webhook(self, *, body: bytes, signature: str) -> bool:
        """Constant-time check of the HMAC-SHA256 signature of the raw body."""
        secret = self.carrier.webhook_secret
        if not secret or not signature:
            return False
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.removeprefix("sha256=").strip().lower())

    def parse_tracking(self, payload: Any) -> list[TrackingUpdate]:
        """Read the webhook body (see the module note); InvalidInput names the bad field."""
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            raise InvalidInput.field("events", "must be a list of tracking events")
        updates = []
        for i, raw in enumerate(payload["events"]):
            name = f"events[{i}]"
            if not isinstance(raw, dict):
                raise InvalidInput.field(name, "must be an object")
            for key in ("id", "tracking_number", "status", "occurred_at"):
                if not isinstance(raw.get(key), str) or not raw[key].strip():
                    raise InvalidInput.field(f"{name}.{key}", "is required (a string)")
            if raw["status"] not in TRACKING_STATUSES:
                raise InvalidInput.field(f"{name}.status", f"must be one of {', '.join(TRACKING_STATUSES)}")
            occurred = parse_datetime(raw["occurred_at"])
            if occurred is None or occurred.tzinfo is None:
                raise InvalidInput.field(f"{name}.occurred_at", "must be an ISO 8601 date-time with a zone")
            updates.append(
                TrackingUpdate(
                    event_id=raw["id"][:100],
                    tracking_number=raw["tracking_number"].strip(),
                    status=raw["status"],
                    description=str(raw.get("description", ""))[:300],
                    location=str(raw.get("location", ""))[:120],
                    occurred_at=occurred,
                    raw=raw,
                )
            )
        return updates


_ADAPTERS: dict[str, type[CarrierAdapter]] = {}


def register_adapter(name: str) -> Callable[[type[CarrierAdapter]], type[CarrierAdapter]]:
    def register(cls: type[CarrierAdapter]) -> type[CarrierAdapter]:
        _ADAPTERS[name] = cls
        return cls

    return register


def adapter_for(carrier: Carrier) -> CarrierAdapter:
    if not _ADAPTERS:
        from . import table  # noqa: F401 - registers the built-in adapter

    try:
        return _ADAPTERS[carrier.adapter](carrier)
    except KeyError:
        raise InvalidInput.field(
            "carrier", f"carrier {carrier.code} uses adapter '{carrier.adapter}', which is not installed"
        ) from None


def registered_adapters() -> Iterable[str]:
    return sorted(_ADAPTERS)
