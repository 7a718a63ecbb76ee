"""Password sign-in has a brake on guessing (oms/auth_backends.py): after a
few failures for one username from one address, or many from one address,
sign-ins from there are refused even with the right password until the
window ends; other addresses are not affected, and a success clears the count."""

from __future__ import annotations

import itertools
import secrets

import pytest
from django.test import Client

from oms.roles import MANAGER
from tests.factories import staff_user

pytestmark = pytest.mark.django_db

# Addresses of this run only: the counts outlive the run in Redis for the window
# (15 minutes), and a second run from the same addresses would start locked out.
_run = secrets.token_hex(4)
_addresses = (f"fd00:{_run[:4]}:{_run[4:]}::{n:x}" for n in itertools.count(1))


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.LOGIN_FAILURES_PER_ADDRESS = 5


def _client() -> Client:
    """A client from an address no other test uses (the counts live in Redis)."""
    return Client(REMOTE_ADDR=next(_addresses))


def _sign_in(client: Client, username: str, password: str):
    return client.post("/dashboard/login/", {"username": username, "password": password})


def test_failures_for_one_username_lock_it_from_that_address_only():
    staff_user("cass", MANAGER)
    guesser = _client()
    for _ in range(3):
        assert _sign_in(guesser, "cass", "guess").status_code == 200
    refused = _sign_in(guesser, "cass", "pw-staff-123")
    assert refused.status_code == 429
    assert b"Too many failed sign-ins" in refused.content
    assert "_auth_user_id" not in guesser.session
    # The admin's login goes through the same backend.
    admin = guesser.post("/admin/login/", {"username": "cass", "password": "pw-staff-123"})
    assert admin.status_code == 200 and "_auth_user_id" not in guesser.session
    # Another address signs in.
    other = _client()
    assert _sign_in(other, "cass", "pw-staff-123").status_code == 302
    assert other.session["_auth_user_id"]


def test_a_success_clears_the_count():
    staff_user("max", MANAGER)
    client = _client()
    for _ in range(2):
        _sign_in(client, "max", "guess")
    assert _sign_in(client, "max", "pw-staff-123").status_code == 302
    client.logout()
    for _ in range(2):
        _sign_in(client, "max", "guess")
    assert _sign_in(client, "max", "pw-staff-123").status_code == 302


def test_failures_across_usernames_lock_the_address():
    staff_user("ada", MANAGER)
    sprayer = _client()
    for name in ("a1", "a2", "a3", "a4", "a5"):
        _sign_in(sprayer, name, "guess")
    assert _sign_in(sprayer, "ada", "pw-staff-123").status_code == 429
    assert _sign_in(_client(), "ada", "pw-staff-123").status_code == 302


def test_usernames_are_counted_whatever_their_case():
    staff_user("grace", MANAGER)
    client = _client()
    for name in ("grace", "GRACE", "Grace"):
        _sign_in(client, name, "guess")
    assert _sign_in(client, "grace", "pw-staff-123").status_code == 429
