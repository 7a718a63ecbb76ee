"""The staff role matrix over every staff operation of the API.

tests/dashboard/test_roles.py checks that every staff view resolves an area
and walks a representative matrix; this walks *every* operation a staff user
can reach, with each role and with none, and requires the HTTP answer to
match oms.roles.CAPABILITIES: refused (403, naming the role) exactly when the
role lacks the capability, and never a 5xx either way. The area is stated here
from the URL, independently of the views' own `staff_area`, so a view that
lands in the wrong area (or checks nothing) shows up as a mismatch.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from oms.roles import ACCOUNTING, CAPABILITIES, CUSTOMER_SERVICE, MANAGER, WAREHOUSE
from tests.factories import staff_user

from .routes import Operation, concrete, operations
from .test_object_access import PUBLIC

pytestmark = [pytest.mark.security, pytest.mark.django_db]

# URL prefix (longest first wins) -> the area that guards it.
AREA_OF_PREFIX = {
    "api/v1/customers/": "customers",
    "api/v1/inventory/": "stock",
    "api/v1/^inventory/": "stock",
    "api/v1/skus/": "orders",
    "api/v1/availability/": "orders",
    "api/v1/orders/": "orders",
    "api/v1/carts/": "orders",
    "api/v1/quotes/": "orders",
    "api/v1/integrations/": "orders",
    "api/v1/fulfillment/": "warehouse",
    "api/v1/accounting/": "accounting",
    "api/v1/returns/": "returns",
    "api/v1/cases/": "returns",
    "api/v1/return-policies/": "settings",
    "api/v1/webhooks/": "settings",
}
# Operations whose unsafe methods need another capability than their area's change.
CAPABILITY_OF_OPERATION = {"POST api/v1/returns/<int:pk>/receive/": "receiving.change"}
# Carts belong to storefronts: staff (any role) are refused with 403 by the view itself.
CHANNEL_ONLY = {
    "POST api/v1/carts/",
    "POST api/v1/carts/<uuid:cart_id>/lines/",
    "PUT api/v1/carts/<uuid:cart_id>/lines/<str:sku>/",
    "PATCH api/v1/carts/<uuid:cart_id>/lines/<str:sku>/",
    "DELETE api/v1/carts/<uuid:cart_id>/lines/<str:sku>/",
    "POST api/v1/carts/<uuid:cart_id>/checkout/",
}

STAFF_OPERATIONS = [op for op in operations("api/v1/") if op.key not in PUBLIC]


def required_capability(op: Operation) -> str:
    if op.key in CAPABILITY_OF_OPERATION:
        return CAPABILITY_OF_OPERATION[op.key]
    prefix = max((p for p in AREA_OF_PREFIX if op.route.startswith(p)), key=len, default=None)
    assert prefix is not None, f"{op.key}: no area for this URL in AREA_OF_PREFIX"
    return f"{AREA_OF_PREFIX[prefix]}.{'change' if op.unsafe else 'view'}"


def _client(*roles: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user("-".join(roles) or "norole", *roles))
    return client


def _request(client: APIClient, op: Operation):
    url = concrete(op.route, {"period": "2020-01", "code": "NOPE", "key": "default"})
    if op.method == "get":
        return client.get(url)
    return getattr(client, op.method)(url, {}, format="json")


def test_every_staff_operation_has_an_area():
    assert len(STAFF_OPERATIONS) > 130
    for op in STAFF_OPERATIONS:
        required_capability(op)


@pytest.mark.parametrize("role", [CUSTOMER_SERVICE, WAREHOUSE, ACCOUNTING, MANAGER, None])
def test_every_staff_operation_answers_each_role_as_its_capabilities_say(role):
    client = _client(*([role] if role else []))
    granted = CAPABILITIES[role] if role else frozenset()
    wrong = []
    for op in STAFF_OPERATIONS:
        response = _request(client, op)
        capability = required_capability(op)
        allowed = capability in granted and op.key not in CHANNEL_ONLY
        if response.status_code >= 500:
            wrong.append((op.key, capability, response.status_code))
        elif allowed and response.status_code in {401, 403}:
            wrong.append((op.key, capability, "refused", response.status_code))
        elif not allowed and response.status_code != 403:
            wrong.append((op.key, capability, "let through", response.status_code))
        elif not allowed and op.key not in CHANNEL_ONLY and "role" not in response.json()["error"]["message"]:
            wrong.append((op.key, capability, "refusal does not name the role"))
    assert not wrong, wrong
