"""Load demo history at the moment it happened.

Every timestamp the services write comes from django.utils.timezone.now()
(auto_now_add fields, placed_at, reservation expiry, localdate()), which
looks the function up on the module at call time. Pointing it at a fixed
moment while one historical order is placed gives that order, its stock
movements, events and payments the right dates, and gives the stock ledger a
real demand history: no row is rewritten afterwards (the ledger is
append-only). Demo loading only; nothing else may move the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from unittest import mock


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield
