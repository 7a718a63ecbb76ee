"""Invariant checks over live data, run by `manage.py reconcile`.

Apps register checks (kernel code never imports the apps); each returns a
list of human-readable problems, empty when the invariant holds.
"""

from __future__ import annotations

from collections.abc import Callable

Check = Callable[[], list[str]]
_checks: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        _checks[name] = fn
        return fn

    return register


def registered_checks() -> dict[str, Check]:
    return dict(sorted(_checks.items()))
