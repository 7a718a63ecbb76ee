"""Secrets come only from the environment (or, for per-partner secrets, from
database rows staff manage), never from the source; production refuses to
start without its own SECRET_KEY."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.db import models

from fulfillment.models import Carrier
from oms.models import ChannelToken
from oms.models_webhooks import WebhookSubscription
from orders.models_intake import ChannelIntegration

from .test_headers import BASE_DIR, production_env, run_python

pytestmark = pytest.mark.security

SOURCE_DIRS = (
    "oms",
    "customers",
    "inventory",
    "accounting",
    "orders",
    "fulfillment",
    "returns",
    "bench",
    "scripts",
)
SOURCE_FILES = ("manage.py", "Dockerfile", "docker-compose.yml", "pyproject.toml")
# The development key, used only with DEBUG on: the servers refuse it otherwise
# (oms/startup.py, tested below).
ALLOWED = {
    'SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105',
    # The benchmarks' throwaway database (bench/README): its key and channel key
    # exist only there; os.environ.setdefault leaves a real SECRET_KEY alone.
    'BENCH_SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdef"  # noqa: S105',
    'BENCH_API_KEY = "oms_bench_0123456789abcdefghijklmnopqrstuvwxyz"',
}

SECRET_NAME = r"[A-Za-z_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|APIKEY|PRIVATE_KEY)[A-Za-z_]*"
PATTERNS = {
    "a secret-named variable set to a literal": re.compile(
        rf"""^\s*{SECRET_NAME}\s*[:=]\s*(?:[\w\[\], ]+=\s*)?["'][^"'$]{{6,}}["']""", re.I | re.M
    ),
    "a secret keyword argument set to a literal": re.compile(
        r"""\b(?:secret|password|api_key|webhook_secret)\s*=\s*["'][^"'$]{6,}["']""", re.I
    ),
    "a URL with a literal password": re.compile(r"\b[a-z][a-z0-9+]*://[^/\s:@'\"]+:(?!\$\{)[^@\s/'\"]+@"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a provider key": re.compile(
        r"\b(?:sk_live_[0-9a-zA-Z]{10,}|AKIA[0-9A-Z]{16}|ghp_[0-9A-Za-z]{30,}|xox[bp]-\S{10,})"
    ),
}


def source_files():
    for folder in SOURCE_DIRS:
        for path in sorted((BASE_DIR / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".sh", ".toml", ".yml", ".yaml", ".cfg", ""}:
                yield path
    for name in SOURCE_FILES:
        if (BASE_DIR / name).exists():
            yield BASE_DIR / name


def test_no_secret_is_written_in_the_source():
    files = list(source_files())
    assert len(files) > 200
    found = []
    for path in files:
        text = path.read_text(errors="replace")
        for what, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())].strip()
                if line not in ALLOWED:
                    found.append((str(path.relative_to(BASE_DIR)), what, line[:120]))
    assert not found, found


def test_the_scan_finds_what_it_looks_for():
    samples = {
        'API_TOKEN = "abcdef123456"': "a secret-named variable set to a literal",
        "EMAIL_HOST_PASSWORD = 'hunter22'": "a secret-named variable set to a literal",
        'Carrier(code="x", webhook_secret="s3cr3t-value")': "a secret keyword argument set to a literal",
        'DATABASE_URL = "postgres://oms:hunter2@db/oms"': "a URL with a literal password",
        "-----BEGIN RSA PRIVATE KEY-----": "a private key",
        'key = "AKIAABCDEFGHIJKLMNOP"': "a provider key",
    }
    for sample, what in samples.items():
        assert PATTERNS[what].search(sample), sample
    for harmless in (
        'SECRET_KEY = os.environ.get("SECRET_KEY", "")',
        "postgres://oms:${POSTGRES_PASSWORD}@db",
    ):
        assert not any(p.search(harmless) for p in PATTERNS.values()), harmless


def test_every_secret_setting_comes_from_the_environment():
    env = production_env(
        SECRET_KEY="k" * 20 + "-from-the-environment-" + "k" * 20,
        DATABASE_URL="postgres://oms:db-password-from-env@db.example.com:5432/oms",
        REDIS_URL="redis://:redis-password-from-env@cache.example.com:6379/0",
        EMAIL_HOST_PASSWORD="mail-password-from-env",
    )
    code = (
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY); print(s.DATABASES['default']['PASSWORD']); "
        "print(s.CACHES['default']['LOCATION']); "
        "print(s.CELERY_BROKER_URL); print(s.CELERY_RESULT_BACKEND); print(s.EMAIL_HOST_PASSWORD)"
    )
    done = run_python(code, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        env["SECRET_KEY"],
        "db-password-from-env",
        env["REDIS_URL"],
        env["REDIS_URL"],
        env["REDIS_URL"],
        "mail-password-from-env",
    ]


def test_without_them_no_setting_holds_a_secret():
    env = production_env()
    for name in ("EMAIL_HOST_PASSWORD", "EMAIL_HOST_USER", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)
    done = run_python("from django.conf import settings as s; print(repr(s.EMAIL_HOST_PASSWORD))", env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "''"


def test_partner_secrets_live_in_database_rows_with_no_default():
    """Carrier, platform and webhook secrets are per-row, entered by staff."""
    for model, name in (
        (Carrier, "webhook_secret"),
        (ChannelIntegration, "webhook_secret"),
        (WebhookSubscription, "secret"),
    ):
        field = model._meta.get_field(name)
        assert isinstance(field, models.CharField)
        assert field.default in (models.NOT_PROVIDED, "") or callable(field.default), (model, name)
    # Channel API keys are not even stored: only their SHA-256.
    assert {f.name for f in ChannelToken._meta.get_fields()} >= {"key_hash", "prefix"}
    assert "key" not in {f.name for f in ChannelToken._meta.get_fields()}


@pytest.mark.parametrize(
    "start",
    [
        "import oms.wsgi",
        # The signal the worker sends at start (celery logs a receiver's error: re-raise it).
        "import django; django.setup(); import oms.celery; from celery.signals import worker_init; "
        "[exec('raise r') for _, r in worker_init.send(sender=None) if isinstance(r, Exception)]",
    ],
    ids=["web server", "celery worker"],
)
def test_production_refuses_to_start_without_a_secret_key(start):
    env = production_env()
    env.pop("SECRET_KEY")
    done = run_python(start, env)
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr
    env["SECRET_KEY"] = "a-real-key-from-the-environment-" + "x" * 30
    assert run_python(start, env).returncode == 0, "starts once the key is given"


def test_the_development_key_only_runs_with_debug_on():
    env = production_env(DEBUG="true")
    env.pop("SECRET_KEY")
    done = run_python("import oms.wsgi", env)
    assert done.returncode == 0, done.stderr
    assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0
