"""CSRF: a signed-in staff user's browser cannot be made to post anything.

Every dashboard URL (found through the resolver) refuses a POST without the
token with 403 before its view runs, and takes it with the token; the admin
and the sign-in page likewise; the staff API on a session refuses an unsafe
request without the token (DRF's SessionAuthentication), while a channel's
API-key requests, which no browser sends on its own, need none.
"""

from __future__ import annotations

import pytest
from django.test import Client

from oms.roles import MANAGER
from tests.factories import staff_user

from .routes import concrete, patterns

pytestmark = [pytest.mark.security, pytest.mark.django_db]

DASHBOARD = [route for route, _ in patterns("dashboard/")]


def _csrf_refusal(response) -> bool:
    return response.status_code == 403 and b"CSRF" in response.content


@pytest.fixture
def browser() -> tuple[Client, str]:
    """A manager's browser with the CSRF cookie the dashboard hands out."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user("mia", MANAGER))
    assert client.get("/dashboard/").status_code == 200
    return client, client.cookies["csrftoken"].value


def test_the_walk_finds_the_dashboard():
    assert len(DASHBOARD) > 40


def test_every_dashboard_url_refuses_a_post_without_the_token_and_takes_one_with_it(browser):
    client, token = browser
    urls = [concrete(route, {}) for route in DASHBOARD]
    logout = "/dashboard/logout/"
    assert logout in urls
    wrong = []
    for url in [u for u in urls if u != logout] + [logout]:  # signing out last
        if not _csrf_refusal(client.post(url, {"code": "x"})):
            wrong.append((url, "taken without a token"))
        with_token = client.post(url, {"code": "x", "csrfmiddlewaretoken": token})
        if _csrf_refusal(with_token) or with_token.status_code >= 500:
            wrong.append((url, "with the token", with_token.status_code))
    assert not wrong, wrong


def test_htmx_posts_carry_the_token_in_a_header(browser):
    client, token = browser
    url = "/dashboard/warehouse/pack/scan/"
    assert _csrf_refusal(client.post(url, {"code": "x"}, HTTP_HX_REQUEST="true"))
    answered = client.post(url, {"code": "x"}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert not _csrf_refusal(answered) and answered.status_code < 500


def test_the_sign_in_pages_need_the_token():
    staff_user("sam", MANAGER)
    for page in ("/dashboard/login/", "/admin/login/"):
        client = Client(enforce_csrf_checks=True)
        client.get(page)
        refused = client.post(page, {"username": "sam", "password": "pw-staff-123"})
        assert _csrf_refusal(refused), page
        token = client.cookies["csrftoken"].value
        signed_in = client.post(
            page, {"username": "sam", "password": "pw-staff-123", "csrfmiddlewaretoken": token}
        )
        assert signed_in.status_code == 302, (page, signed_in.status_code)


def test_an_admin_form_needs_the_token():
    from django.contrib.auth.models import Group

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user("root", is_superuser=True))
    client.get("/admin/auth/group/add/")
    token = client.cookies["csrftoken"].value
    assert _csrf_refusal(client.post("/admin/auth/group/add/", {"name": "forged"}))
    assert not Group.objects.filter(name="forged").exists()
    saved = client.post("/admin/auth/group/add/", {"name": "genuine", "csrfmiddlewaretoken": token})
    assert saved.status_code == 302 and Group.objects.filter(name="genuine").exists()


def test_the_staff_api_on_a_session_needs_the_token(browser):
    client, token = browser
    url = "/api/v1/inventory/adjustments/"
    refused = client.post(url, {}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    taken = client.post(url, {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert taken.status_code == 400  # past CSRF and the role check: the empty body is refused


def test_a_channel_key_needs_no_token(channel_and_key, sku):
    _, key = channel_and_key
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/carts/",
        {"email": "ada@example.com", "ship_country": "US", "lines": [{"sku": sku.code, "quantity": 1}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201, response.content[:300]
