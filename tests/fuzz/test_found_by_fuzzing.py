"""Bugs the schema fuzzer found, pinned as plain tests that run in the normal suite."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_bad_page_number_is_a_400_naming_page(api, sku):
    for page in ("-3", "abc", "999"):
        response = api.get("/api/v1/skus/", {"page": page})
        assert response.status_code == 400, (page, response.content)
        assert set(response.json()["error"]["fields"]) == {"page"}


def test_nul_in_a_query_or_a_code_is_a_400_naming_the_field(api, staff_api, sku, warehouse):
    response = api.get("/api/v1/skus/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"q"}
    response = staff_api.post(
        "/api/v1/inventory/bin-moves/",
        {"warehouse": warehouse.code, "sku": "X\x00", "from_bin": "A", "to_bin": "B", "quantity": 1},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"sku"}


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/fulfillment/shipments/", "tracking_number"),
        ("/api/v1/fulfillment/pick-lists/", "warehouse"),
        ("/api/v1/fulfillment/waves/", "warehouse"),
        ("/api/v1/inventory/positions/", "category"),
        ("/api/v1/inventory/bin-stock/", "bin"),
        ("/api/v1/inventory/locations/", "sku"),
        ("/api/v1/customers/", "q"),
    ],
)
def test_nul_in_a_list_filter_is_a_400_naming_it(staff_api, url, param):
    response = staff_api.get(url, {param: "x\x00y"})
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == {param}


def test_staff_create_a_customer_of_no_channel(staff_api):
    response = staff_api.post("/api/v1/customers/", {"email": "walk-in@example.com"}, format="json")
    assert response.status_code == 201, response.content
    again = staff_api.post("/api/v1/customers/", {"email": "walk-in@example.com"}, format="json")
    assert again.status_code == 409
