"""Fault tests: real processes (redis-server, a Celery worker, PostgreSQL
backends) are stopped, killed or cut off on purpose, and the OMS must lose
nothing, double nothing and keep answering.

Everything runs on 127.0.0.1; every wait is bounded; every process a test
starts is stopped at teardown, whether the test passed or not. The private
Redis servers use ports 6395-6399, never the machine's shared Redis.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from oms.celery import app as celery_app
from tests.test_webhooks import Receiver as WebhookReceiver
from tests.test_worker import _reset_producers  # the Celery app's cached broker pool, dropped

PRIVATE_REDIS_PORTS = range(6395, 6400)
STARTUP_SECONDS = 30
WAIT_SECONDS = 20


def wait_until(what: str, check: Callable[[], object], timeout: float = WAIT_SECONDS, log=None) -> object:
    """Poll `check` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f":\n{log()}" if log else ""))
        time.sleep(0.05)


# --- Redis ----------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own, which the test may stop and start
    again on the same port (no persistence: a restart comes back empty)."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no"]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_until(f"redis-server on port {self.port}", self.ping, timeout=10, log=self.log.read_text)

    def llen(self, key: str) -> int:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2).llen(key)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


def _free_port(ports: range) -> int:
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port for a private redis-server in {ports.start}-{ports.stop - 1}")


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(_free_port(PRIVATE_REDIS_PORTS), tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker(private_redis, settings, monkeypatch) -> Iterator[PrivateRedis]:
    """This process on the private Redis, as production is on its Redis: the
    Celery broker, the cache, and on-commit wake-ups that really go out."""
    import oms.outbox

    url = private_redis.url
    saved = {key: celery_app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", url)
    celery_app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    monkeypatch.setattr(oms.outbox, "_kick_paused_until", 0.0)
    _reset_producers()
    try:
        yield private_redis
    finally:
        celery_app.conf.update(saved)
        _reset_producers()


# --- The test database, seen from outside -----------------------------------------


def test_database_url() -> str:
    """The test database (not the configured one) as a DATABASE_URL."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


test_database_url.__test__ = False  # a helper, not a test


@pytest.fixture
def side_connection(transactional_db) -> Iterator[psycopg.Connection]:
    """A second PostgreSQL session on the test database, outside Django: it
    holds the locks that pause other sessions and terminates backends."""
    conn = psycopg.connect(test_database_url().replace("postgres://", "postgresql://", 1), connect_timeout=5)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def _probe() -> psycopg.Connection:
    return psycopg.connect(
        test_database_url().replace("postgres://", "postgresql://", 1), autocommit=True, connect_timeout=5
    )


def backends_waiting_on_a_lock() -> list[int]:
    """Sessions of the test database blocked on a lock. Asked on a fresh
    session: within a transaction pg_stat_activity is a frozen snapshot."""
    with _probe() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' ORDER BY pid"
        ).fetchall()
    return [row[0] for row in rows]


def backend_alive(pid: int) -> bool:
    with _probe() as conn:
        return conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is not None


def terminate_backend(pid: int) -> None:
    """What a database restart or a network cut does to one session."""
    with _probe() as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    wait_until(f"backend {pid} to end", lambda: not backend_alive(pid), timeout=10)


def manage_reconcile() -> str:
    """`manage.py reconcile` on the test database, as ops would run it; fails the test unless it passes."""
    env = {**os.environ, "DATABASE_URL": test_database_url(), "DEBUG": "true"}
    env.pop("DATABASE_TEST_NAME", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "reconcile"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"reconcile failed:\n{done.stdout}\n{done.stderr}"
    assert "FAIL" not in done.stdout
    return done.stdout


# --- A real Celery worker -------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def wait_for(self, what: str, check: Callable[[], object], timeout: float = WAIT_SECONDS) -> object:
        def alive_check():
            if self.process.poll() is not None:
                code = self.process.returncode
                pytest.fail(f"the worker exited ({code}) before {what}:\n{self.log_tail()}")
            return check()

        return wait_until(what, alive_check, timeout=timeout, log=self.log_tail)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, no cleanup (a machine gone)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Workers:
    tmp_path: Path
    env: dict[str, str]
    started: list[Worker] = field(default_factory=list)

    def start(self, *, beat: bool = False, extra_env: dict[str, str] | None = None) -> Worker:
        n = len(self.started) + 1
        log = self.tmp_path / f"worker-{n}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "oms", "worker",
            "--pool", "solo", "--concurrency", "1", "-Q", "celery", "-l", "info",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
            "-n", f"oms-fault-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(self.tmp_path / f"beat-{n}")]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=django_settings.BASE_DIR,
                env={**self.env, **(extra_env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process=process, log=log)
        self.started.append(worker)
        ready = lambda: " ready." in log.read_text(errors="replace")  # noqa: E731
        worker.wait_for("the worker to start", ready, STARTUP_SECONDS)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.terminate()
                try:
                    worker.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.process.kill()
                    worker.process.wait(timeout=5)


@pytest.fixture
def workers(transactional_db, broker, smtp_server, tmp_path) -> Iterator[Workers]:
    """Starts real Celery workers on the private Redis and the test database,
    sending e-mail to the loopback SMTP server; all are stopped at teardown."""
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": broker.url,
        "CELERY_BROKER_URL": broker.url,
        "CELERY_RESULT_BACKEND": broker.url,
        "DEBUG": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
        "EMAIL_USE_TLS": "false",
        "EMAIL_USE_SSL": "false",
        "EMAIL_TIMEOUT": "5",
        "DJANGO_SETTINGS_MODULE": "oms.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_TEST_NAME", None)
    running = Workers(tmp_path=tmp_path, env=env)
    try:
        yield running
    finally:
        running.stop_all()


# --- A webhook subscriber on loopback -----------------------------------------------


class Receiver(WebhookReceiver):
    """The webhook tests' subscriber on loopback; while `hold` is set, a post for
    an event id in `hold_ids` is recorded and then not answered until
    `released` is set (the subscriber is slow)."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.hold_ids: set[str] = set()
        self.held = threading.Event()
        self.released = threading.Event()
        super().__init__()

    def before_answer(self, headers: Message) -> None:
        if self.hold.is_set() and headers["X-OMS-Event-Id"] in self.hold_ids:
            self.held.set()
            self.released.wait(timeout=30)

    def close(self) -> None:
        self.released.set()
        super().close()


@pytest.fixture
def receivers() -> Iterator[Callable[[], Receiver]]:
    made: list[Receiver] = []

    def make() -> Receiver:
        made.append(Receiver())
        return made[-1]

    try:
        yield make
    finally:
        for r in made:
            r.close()
