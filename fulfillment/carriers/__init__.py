"""Carrier adapters: rating, label registration and tracking behind one interface."""

from .base import (
    CarrierAdapter,
    Lane,
    Parcel,
    Quote,
    TrackingUpdate,
    adapter_for,
    register_adapter,
)

__all__ = [
    "CarrierAdapter",
    "Lane",
    "Parcel",
    "Quote",
    "TrackingUpdate",
    "adapter_for",
    "register_adapter",
]
