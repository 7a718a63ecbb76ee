"""Staff roles (oms.roles) in the API and on the dashboard pages.

Every staff API view belongs to an area; a role reads an area with
`<area>.view` and acts on it with `<area>.change`. Checked here: every view
resolves its area, a matrix of roles against representative endpoints, a
staff user without a role, and the dashboard's navigation and pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from oms.api.permissions import IsChannelOrStaff, IsStaff, staff_area
from oms.dashboard import NAV
from oms.roles import ACCOUNTING, CAPABILITIES, CUSTOMER_SERVICE, MANAGER, WAREHOUSE
from tests.factories import staff_user

ROLES = (CUSTOMER_SERVICE, WAREHOUSE, ACCOUNTING, MANAGER)


def _api_views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    for route, pattern in walk(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
        if route.startswith("api/v1/") and view is not None:
            yield route, view


def test_every_staff_api_view_belongs_to_an_area():
    staff_views = [
        (route, view)
        for route, view in _api_views()
        if any(issubclass(p, (IsStaff, IsChannelOrStaff)) for p in view.permission_classes)
    ]
    assert len(staff_views) > 100
    for route, view in staff_views:
        assert staff_area(view()), route


def _api(*roles, locations=()) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user("-".join(roles) or "norole", *roles, locations=locations))
    return client


# (method, url, body, the roles allowed). A refused request answers 403 and
# changes nothing; an allowed one gets past the permission check (any status
# but 401/403: the bodies below may well be invalid, which proves the point).
MATRIX = [
    ("get", "/api/v1/orders/", None, {CUSTOMER_SERVICE, WAREHOUSE, ACCOUNTING, MANAGER}),
    ("post", "/api/v1/orders/999999/cancel/", {}, {CUSTOMER_SERVICE, MANAGER}),
    ("get", "/api/v1/inventory/positions/", None, {CUSTOMER_SERVICE, WAREHOUSE, ACCOUNTING, MANAGER}),
    ("post", "/api/v1/inventory/adjustments/", {}, {WAREHOUSE, MANAGER}),
    ("post", "/api/v1/inventory/transfers/", {}, {WAREHOUSE, MANAGER}),
    ("post", "/api/v1/inventory/counts/", {}, {WAREHOUSE, MANAGER}),
    ("post", "/api/v1/inventory/purchase-orders/", {}, {WAREHOUSE, MANAGER}),
    ("get", "/api/v1/fulfillment/pick-lists/", None, {CUSTOMER_SERVICE, WAREHOUSE, MANAGER}),
    ("post", "/api/v1/fulfillment/waves/", {}, {WAREHOUSE, MANAGER}),
    ("get", "/api/v1/accounting/reports/trial-balance/", None, {ACCOUNTING, MANAGER}),
    ("get", "/api/v1/accounting/invoices/", None, {ACCOUNTING, MANAGER}),
    ("post", "/api/v1/accounting/invoices/999999/payments/", {}, {ACCOUNTING, MANAGER}),
    ("get", "/api/v1/returns/", None, {CUSTOMER_SERVICE, WAREHOUSE, ACCOUNTING, MANAGER}),
    ("post", "/api/v1/returns/999999/refund/", {}, {CUSTOMER_SERVICE, MANAGER}),
    ("post", "/api/v1/returns/999999/receive/", {}, {WAREHOUSE, MANAGER}),
    ("get", "/api/v1/customers/ranking/", None, {CUSTOMER_SERVICE, ACCOUNTING, MANAGER}),
    ("post", "/api/v1/customers/999999/anonymize/", {}, {CUSTOMER_SERVICE, MANAGER}),
    ("get", "/api/v1/webhooks/subscriptions/", None, {MANAGER}),
    ("post", "/api/v1/orders/999999/edit/", {}, {CUSTOMER_SERVICE, MANAGER}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix_in_the_api(role):
    client = _api(role)
    for method, url, body, allowed in MATRIX:
        response = getattr(client, method)(url, body, format="json") if body is not None else client.get(url)
        if role in allowed:
            assert response.status_code not in {401, 403}, (role, method, url, response.status_code)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
            assert "role" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_a_staff_user_without_a_role_may_do_nothing():
    client = _api()
    for method, url, body, _allowed in MATRIX:
        response = getattr(client, method)(url, body, format="json") if body is not None else client.get(url)
        assert response.status_code == 403, (method, url)


@pytest.mark.django_db
def test_a_superuser_may_do_everything():
    client = APIClient()
    client.force_authenticate(staff_user("root", is_superuser=True))
    for method, url, body, _allowed in MATRIX:
        response = getattr(client, method)(url, body, format="json") if body is not None else client.get(url)
        assert response.status_code not in {401, 403}, (method, url)


def test_customer_service_cannot_change_stock_and_warehouse_cannot_see_the_books():
    assert "stock.change" not in CAPABILITIES[CUSTOMER_SERVICE]
    assert not any(c.startswith("accounting.") for c in CAPABILITIES[WAREHOUSE])


# --- dashboard pages -----------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_asks_anonymous_users_to_sign_in():
    response = Client().get("/dashboard/orders/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/?next=/dashboard/orders/"


@pytest.mark.django_db
def test_non_staff_users_cannot_use_the_dashboard(django_user_model):
    user = django_user_model.objects.create_user("shopper", password="pw-shopper-1")
    client = Client()
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 302
    response = client.post("/dashboard/login/", {"username": "shopper", "password": "pw-shopper-1"})
    assert response.status_code == 302  # signed in, but every page sends a non-staff user back
    assert client.get("/dashboard/orders/")["Location"].startswith("/dashboard/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_and_opens_exactly_its_pages(role):
    client = Client()
    client.force_login(staff_user(role, role))
    home = client.get(reverse("dashboard:home"))
    assert home.status_code == 200
    for item in NAV:
        url = reverse(item.url_name)
        allowed = item.capability in CAPABILITIES[role]
        assert (f'href="{url}"' in home.content.decode()) == allowed, (role, url)
        response = client.get(url)
        assert response.status_code == (200 if allowed else 403), (role, url, response.status_code)
        if not allowed:
            assert b"Not allowed" in response.content


@pytest.mark.django_db
def test_a_staff_user_without_a_role_sees_the_not_allowed_page():
    client = Client()
    client.force_login(staff_user("nobody"))
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 403
    assert b"Ask a manager" in response.content


@pytest.mark.django_db
def test_the_login_page_signs_staff_in_and_sends_them_where_they_were_going():
    staff_user("cass", CUSTOMER_SERVICE)
    client = Client()
    page = client.get("/dashboard/login/?next=/dashboard/orders/")
    assert page.status_code == 200 and b'name="password"' in page.content
    wrong = client.post("/dashboard/login/", {"username": "cass", "password": "nope"})
    assert wrong.status_code == 200 and b"didn" in wrong.content
    response = client.post(
        "/dashboard/login/", {"username": "cass", "password": "pw-staff-123", "next": "/dashboard/orders/"}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/orders/"


@pytest.mark.django_db
def test_the_dashboard_speaks_the_chosen_language():
    client = Client()
    client.force_login(staff_user("eleni", MANAGER))
    client.post("/i18n/setlang/", {"language": "el", "next": "/dashboard/"})
    response = client.get("/dashboard/")
    assert response["Content-Language"] == "el"
    assert '<html lang="el">' in response.content.decode()
    # The choice does not leak into the API or the customers' pages.
    assert client.get("/api/v1/orders/999999/").headers.get("Content-Language") != "el"


@pytest.mark.django_db
def test_role_groups_carry_the_admin_permissions_of_their_areas():
    from django.contrib.auth.models import Group

    def codenames(role):
        perms = Group.objects.get(name=role).permissions.select_related("content_type")
        return {f"{p.content_type.app_label}.{p.codename}" for p in perms}

    warehouse, service, books, manager = (codenames(r) for r in ROLES[1:2] + ROLES[:1] + ROLES[2:])
    assert {"inventory.change_warehouse", "fulfillment.change_picklist", "orders.view_order"} <= warehouse
    assert not any(code.startswith("accounting.") for code in warehouse)
    assert "orders.change_order" not in warehouse
    assert {"orders.change_order", "inventory.view_stocklevel"} <= service
    assert "inventory.change_stocklevel" not in service
    assert {"accounting.add_invoicepayment", "orders.view_order"} <= books
    assert {"auth.add_user", "oms.change_channel", "accounting.delete_invoice"} <= manager


def test_every_dashboard_page_names_the_capability_it_needs():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    pages = [(route, p) for route, p in walk(get_resolver().url_patterns) if route.startswith("dashboard/")]
    assert len(pages) > 40
    for route, pattern in pages:
        if pattern.name in {"login", "logout"}:
            continue
        capability = getattr(pattern.callback, "staff_capability", None)
        assert capability in {c for caps in CAPABILITIES.values() for c in caps}, route
