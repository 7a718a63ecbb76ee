"""Who did something: a staff user, a channel (its API key) or the system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oms.models import Channel


@dataclass(frozen=True)
class Actor:
    type: str  # "staff" | "channel" | "system"
    user: Any = None
    channel: Channel | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")

    @classmethod
    def for_channel(cls, channel: Channel) -> Actor:
        return cls("channel", channel=channel)

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        return cls("staff", user=user)

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        from oms.api.auth import request_channel

        channel = request_channel(request)
        return cls.for_channel(channel) if channel else cls.for_user(request.user)

    def __str__(self) -> str:
        if self.type == "channel" and self.channel:
            return f"channel {self.channel.code}"
        if self.type == "staff" and self.user:
            return f"staff {self.user}"
        return "system"
