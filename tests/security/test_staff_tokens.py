"""Staff API keys (`Authorization: Token <key>`): only their hash is stored,
revoked keys and inactive users are refused, DRF's plain-text tokens were
turned into hashed ones, and the admin shows a new key once."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from oms.models import StaffToken, hash_token
from oms.roles import MANAGER
from tests.factories import staff_user

pytestmark = [pytest.mark.django_db, pytest.mark.security]


def status_with(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/orders/").status_code


def test_a_key_works_and_only_its_hash_is_stored():
    user = staff_user("ops", MANAGER)
    token, key = StaffToken.issue(user=user, name="nightly export")
    assert status_with(key) == 200
    assert (token.prefix, token.key_hash) == (key[:12], hash_token(key))
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM oms_stafftoken")
        stored = repr(cursor.fetchall())
    assert key not in stored and key[12:] not in stored


def test_revoked_keys_inactive_users_and_other_schemes_are_refused():
    user = staff_user("ops", MANAGER)
    token, key = StaffToken.issue(user=user, name="script")
    assert status_with(key[:-1] + ("A" if key[-1] != "A" else "B")) == 401
    StaffToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert status_with(key) == 401
    _, other = StaffToken.issue(user=user, name="other")
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert status_with(other) == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {other} extra")
    assert client.get("/api/v1/orders/").status_code == 401


def test_drf_plain_text_tokens_become_hashed_keys_that_keep_working():
    user = staff_user("legacy", MANAGER)
    legacy = Token.objects.create(user=user)
    migration = importlib.import_module("oms.migrations.0008_staff_token")
    migration.hash_drf_tokens(apps, None)
    assert not Token.objects.exists()
    converted = StaffToken.objects.get(user=user)
    assert converted.key_hash == hash_token(legacy.key) and converted.prefix == legacy.key[:12]
    assert status_with(legacy.key) == 200


def test_the_admin_issues_a_key_and_shows_it_once(admin_client):
    user = staff_user("ops", MANAGER)
    response = admin_client.post(
        "/admin/oms/stafftoken/add/", {"user": user.pk, "name": "warehouse scanner"}, follow=True
    )
    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "New staff API key" in str(m)]
    key = message.split(": ", 1)[1].split(" ", 1)[0]
    token = StaffToken.objects.get(user=user)
    assert token.key_hash == hash_token(key) and token.name == "warehouse scanner"
    assert status_with(key) == 200
    page = admin_client.get(f"/admin/oms/stafftoken/{token.pk}/change/").content.decode()
    assert key not in page and token.prefix in page
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 404  # not offered any more


def test_the_launcher_keeps_the_admins_key_and_replaces_a_revoked_one(tmp_path):
    from oms.launcher import admin_api_key

    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw-admin-123")
    first = admin_api_key(tmp_path, admin)
    assert admin_api_key(tmp_path, admin) == first and status_with(first) == 200
    StaffToken.objects.filter(key_hash=hash_token(first)).update(revoked_at=timezone.now())
    second = admin_api_key(tmp_path, admin)
    assert second != first and status_with(second) == 200 and status_with(first) == 401
    assert (tmp_path / "admin_api_key").read_text().strip() == second
