from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import staff_user


@pytest.fixture
def role_client(db):
    """role_client(*roles, locations=(), username=None): a Django test client
    signed in as a new staff user in those roles (oms.roles)."""
    made = iter(range(1, 1000))

    def make(*roles: str, locations=(), username: str | None = None) -> Client:
        name = username or f"{'-'.join(roles) or 'norole'}-{next(made)}"
        user = staff_user(name, *roles, locations=locations)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


def page_queries(client: Client, url: str, **headers) -> tuple[int, object]:
    """(number of SQL statements, response) of one GET, which must answer 200."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code, response.content[:500])
    return len(ctx.captured_queries), response


def assert_constant_queries(client: Client, url: str, grow, **headers) -> int:
    """The page answers with as many SQL statements after `grow()` (which adds
    data the page shows) as before: no query per row. Returns the count."""
    page_queries(client, url, **headers)  # warm caches that fill once per process
    before, _ = page_queries(client, url, **headers)
    grow()
    after, _ = page_queries(client, url, **headers)
    assert after == before, f"{url}: {before} queries, then {after} with more data"
    return after
