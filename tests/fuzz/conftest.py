from __future__ import annotations

import pytest
from django.db import transaction

from tests.fuzz.seed import World, build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    """Seeded once for the module inside a transaction that is rolled back at
    the end; each operation's test runs in a savepoint inside it (the `db`
    fixture), so what the fuzzer changes is undone before the next one."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)
