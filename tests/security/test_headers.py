"""Security headers, cookies and `manage.py check --deploy` under production
settings (DEBUG off), and the Content-Security-Policy of the HTML pages.

The test run has DEBUG on, so the production values are read in a fresh
interpreter (settings are decided at import) and applied here with
override_settings; `check --deploy` runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

from oms.roles import MANAGER
from tests.factories import staff_user

pytestmark = pytest.mark.security

BASE_DIR = Path(django_settings.BASE_DIR)
HOST = "oms.example.com"
PRODUCTION_KEYS = (
    "DEBUG",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "CONTENT_SECURITY_POLICY",
    "ALLOWED_HOSTS",
)


def production_env(**extra: str) -> dict[str, str]:
    """The test run's environment (database, Redis) as production would set it:
    DEBUG off, a strong key, the site's host; none of the opt-outs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "CONTENT_SECURITY_POLICY", "PYTEST", "DJANGO_SETTINGS"))
        and k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "BEHIND_TLS_PROXY"}
        # Set by the browser tests for their own process (tests/browser); never in production.
        and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
            "DJANGO_SETTINGS_MODULE": "oms.settings",
            **extra,
        }
    )
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def production() -> dict:
    """The security settings production gets by default."""
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{k: getattr(s, k) for k in {PRODUCTION_KEYS!r}}}))"
    )
    done = run_python(code, production_env())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_defaults_are_safe(production):
    assert production["DEBUG"] is False
    assert production["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SESSION_COOKIE_SECURE"] is True and production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["SECURE_REFERRER_POLICY"] == "same-origin"
    assert production["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert "script-src 'self';" in production["CONTENT_SECURITY_POLICY"]


def test_hsts_can_be_turned_down_from_the_environment():
    code = "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT)"
    done = run_python(code, production_env(SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="false"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False"]


def test_check_deploy_is_clean_under_production_settings():
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_catches_the_opt_outs():
    """The check is live: with HSTS and secure cookies turned off it complains."""
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(SECURE_HSTS_SECONDS="0", SECURE_COOKIES="false"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode != 0
    assert "security.W004" in done.stderr and "security.W012" in done.stderr


def _production(production) -> override_settings:
    values = {k: v for k, v in production.items() if k != "DEBUG"}
    values["ALLOWED_HOSTS"] = [*values["ALLOWED_HOSTS"], "testserver"]
    return override_settings(DEBUG=False, **values)


def _assert_common_headers(response, *, html: bool) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in response["Strict-Transport-Security"]
    if html:
        assert response["X-Frame-Options"] == "DENY"
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"


@pytest.mark.django_db
def test_dashboard_pages_carry_the_headers_and_secure_cookies(production):
    staff_user("hana", MANAGER)
    with _production(production):
        client = Client()
        page = client.get("/dashboard/login/", secure=True)
        assert page.status_code == 200
        _assert_common_headers(page, html=True)
        signed_in = client.post(
            "/dashboard/login/",
            {"username": "hana", "password": "pw-staff-123"},
            secure=True,
        )
        assert signed_in.status_code == 302
        session = signed_in.cookies[django_settings.SESSION_COOKIE_NAME]
        assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
        home = client.get("/dashboard/", secure=True)
        assert home.status_code == 200
        _assert_common_headers(home, html=True)
        assert client.cookies["csrftoken"]["secure"]
        plain = Client().get("/dashboard/login/")  # http: sent to https
        assert plain.status_code == 301 and plain["Location"].startswith("https://")


@pytest.mark.django_db
def test_admin_pages_carry_the_headers(production):
    with _production(production):
        page = Client().get("/admin/login/", secure=True)
        assert page.status_code == 200
        _assert_common_headers(page, html=True)


@pytest.mark.django_db
def test_api_responses_carry_the_headers(production, api):
    with _production(production):
        response = api.get("/api/v1/orders/", secure=True)
        assert response.status_code == 200
        _assert_common_headers(response, html=False)
        assert APIClient().get("/api/v1/orders/", secure=True).status_code == 401


@pytest.mark.django_db
def test_the_health_probe_answers_over_plain_http(production):
    with _production(production):
        assert Client().get("/healthz").status_code in {200, 503}


@pytest.mark.django_db
def test_the_api_docs_keep_their_inline_bootstrap_without_the_policy():
    response = Client().get("/api/docs/")
    assert response.status_code == 200 and "Content-Security-Policy" not in response


def test_templates_have_no_inline_scripts_or_event_handlers():
    """What `script-src 'self'` would block: inline <script> bodies, on...=
    attributes, javascript: URLs and htmx's eval-based hx-on."""
    import re

    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = []
    for path in sorted((BASE_DIR / "templates").rglob("*.html")):
        if "emails" in path.parts:  # read in mail clients, which run no script
            continue
        text = path.read_text()
        for pattern in (inline_script, handler, re.compile(r"javascript:", re.I), re.compile(r"hx-on")):
            if pattern.search(text):
                offenders.append((str(path.relative_to(BASE_DIR)), pattern.pattern))
    assert not offenders, offenders
