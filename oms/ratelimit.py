"""Fixed-window counters in the shared cache (Redis), so every web process
sees the same count: `window_hit` counts one more event under a key and
returns the count in the current window; `window_count` reads it."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def _key(scope: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


def window_hit(scope: str, *parts: str, window_seconds: int) -> int:
    key = _key(scope, *parts)
    cache.add(key, 0, timeout=window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        return 1


def window_count(scope: str, *parts: str) -> int:
    return cache.get(_key(scope, *parts)) or 0


def window_clear(scope: str, *parts: str) -> None:
    cache.delete(_key(scope, *parts))
