"""Errors outside the API's own handler (middleware, dashboard, admin): a
database that is busy or gone answers 503 with Retry-After, never a 500."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import connection
from django.test import Client

from tests.factories import staff_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(settings):
    settings.DEBUG = False  # the error handlers only run without DEBUG
    client = Client(raise_request_exception=False)
    client.force_login(staff_user("ops", "manager"))
    return client


@pytest.fixture
def sessions_locked():
    """Another connection holds the session table, and this one gives up
    waiting after 200 ms: every staff page fails on a real lock timeout."""
    params = connection.get_connection_params()
    other = psycopg.connect(
        **{k: v for k, v in params.items() if k in {"host", "port", "user", "password", "dbname"}}
    )
    other.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    try:
        yield
    finally:
        other.rollback()
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


@pytest.mark.parametrize("path", ["/dashboard/", "/admin/"])
def test_a_staff_page_on_a_busy_database_answers_503(staff_client, sessions_locked, path):
    response = staff_client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"].startswith("text/html")
    assert b"The database is busy; retry shortly." in response.content


def test_other_errors_stay_500(settings):
    """Only database errors become 503: a bug still shows as one."""
    from django.test import RequestFactory

    from oms import views

    settings.DEBUG = False
    try:
        raise ZeroDivisionError
    except ZeroDivisionError:
        response = views.server_error(RequestFactory().get("/dashboard/"))
        api = views.server_error(RequestFactory().get("/api/v1/orders/"))
    assert response.status_code == 500 and api.status_code == 500
    assert json.loads(api.content)["error"]["code"] == "server_error"
