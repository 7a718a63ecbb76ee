from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import WarehouseFactory, channel_with_key, sku_in_stock


@pytest.fixture(autouse=True)
def _no_broker(settings):
    # The outbox only wakes the dispatcher through the broker outside tests;
    # tests that need a real worker start one themselves.
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def channel_and_key(db):
    return channel_with_key()


@pytest.fixture
def channel(channel_and_key):
    return channel_and_key[0]


@pytest.fixture
def api(channel_and_key) -> APIClient:
    """An API client authenticated as the channel."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {channel_and_key[1]}")
    return client


@pytest.fixture
def staff_api(db, django_user_model) -> APIClient:
    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw-staff-123", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="DC-NJ")


@pytest.fixture
def sku(channel, warehouse):
    return sku_in_stock(channel=channel, warehouse=warehouse, quantity=100, price="10.00")
