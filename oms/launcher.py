"""`python -m oms.launcher` (what ./scripts/run runs): the whole OMS on one machine.

1. Databases: DATABASE_URL / REDIS_URL when set; otherwise an embedded
   PostgreSQL and/or Redis under the data folder (.data/, see oms.embedded).
2. Environment for every process, each only when not set already: DEBUG=true,
   a SECRET_KEY generated once into .data/secret_key, e-mail written to files
   in .data/mail.
3. Bootstrap, in this process: migrate, collectstatic, demo_data (it skips
   itself once loaded) and the `admin` superuser.
4. Children, each in its own session: gunicorn (web), a Celery worker and
   Celery beat. Once /healthz answers, a banner tells how to log in.
5. Supervision: Ctrl-C or SIGTERM stops the children (TERM, wait, then KILL)
   and then the embedded servers; a child that dies on its own takes
   everything down with it and the launcher exits 1, so a half-running OMS
   never goes unnoticed. A second Ctrl-C kills at once.

Settings (environment): HOST (127.0.0.1), PORT (8000), WEB_CONCURRENCY
(gunicorn workers, 2-4 by CPU count), OMS_DATA_DIR (.data), OMS_ADMIN_PASSWORD,
OMS_DEMO_DATA (true), OMS_DEMO_TOKEN (demo-web-token), OMS_REDIS_PORT (6389).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from oms.embedded import BASE_DIR, EmbeddedError, default_data_dir, embedded_services, spawn

STOP_TIMEOUT = 15.0
READY_TIMEOUT = 90.0
ADMIN_USERNAME = "admin"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WILDCARD = {"0.0.0.0", "::", ""}  # noqa: S104 - only compared against


def say(message: str = "") -> None:
    print(f"[oms] {message}" if message else "", flush=True)


def env_flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """A secret kept in a file readable only by its owner, generated on first use."""
    with contextlib.suppress(FileNotFoundError):
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def web_workers(env: Mapping[str, str]) -> int:
    if env.get("WEB_CONCURRENCY"):
        return max(1, int(env["WEB_CONCURRENCY"]))
    return min(4, max(2, os.cpu_count() or 2))


def child_environment(base: Mapping[str, str], data_dir: Path, *, host: str, port: int) -> dict[str, str]:
    """What every process of the OMS sees: the caller's environment plus demo defaults."""
    env = dict(base)
    if not env.get("DEBUG"):
        env["DEBUG"] = "true"
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = read_or_create(data_dir / "secret_key", lambda: secrets.token_urlsafe(50))
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    env.setdefault("EMAIL_FILE_PATH", str(data_dir / "mail"))
    env.setdefault("SITE_URL", f"http://{public_host(host)}:{port}")
    if host not in LOOPBACK and not env.get("ALLOWED_HOSTS"):
        env["ALLOWED_HOSTS"] = "*"  # reachable from other machines: accept their Host header
    env["DJANGO_SETTINGS_MODULE"] = env.get("DJANGO_SETTINGS_MODULE") or "oms.settings"
    env["PYTHONUNBUFFERED"] = "1"  # children's logs appear as they happen
    return env


def public_host(host: str) -> str:
    return "127.0.0.1" if host in WILDCARD else host


# --- bootstrap (in this process) ---------------------------------------------


@dataclass
class Banner:
    admin_password: str | None = None
    staff_token: str = ""
    demo_staff: list[str] = field(default_factory=list)
    demo_staff_password: str = ""
    channel_keys: list[tuple[str, str, str]] = field(default_factory=list)  # code, currency, key


def ensure_admin(data_dir: Path) -> tuple[object, str | None]:
    """The `admin` superuser; returns it with its password, or None when it was
    changed since (the launcher never overwrites a password someone chose)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    given = os.environ.get("OMS_ADMIN_PASSWORD")
    password = given or read_or_create(data_dir / "admin_password", lambda: secrets.token_urlsafe(12))
    user = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if user is None:
        user = user_model.objects.create_superuser(ADMIN_USERNAME, "admin@oms.localhost", password)
        say(f"created superuser {ADMIN_USERNAME}")
        return user, password
    if user.check_password(password):
        return user, password
    if given:
        user.set_password(given)
        user.save(update_fields=["password"])
        say(f"set the password of {ADMIN_USERNAME} from OMS_ADMIN_PASSWORD")
        return user, given
    return user, None


def admin_api_key(data_dir: Path, user) -> str:
    """The admin's staff API key for the banner. Only keys' hashes are stored,
    so the raw key is kept in the data folder (readable by its owner only); a
    new one is issued when there is none or it was revoked."""
    from oms.models import StaffToken, hash_token

    path = data_dir / "admin_api_key"
    raw = read_or_create(path, StaffToken.new_key)
    if StaffToken.objects.filter(user=user, key_hash=hash_token(raw), revoked_at__isnull=True).exists():
        return raw
    if StaffToken.objects.filter(key_hash=hash_token(raw)).exists():  # revoked: never reused
        path.unlink()
        raw = read_or_create(path, StaffToken.new_key)
    StaffToken.issue(user=user, name="Launcher (printed in the start-up banner)", raw_key=raw)
    return raw


def bootstrap(env: Mapping[str, str], data_dir: Path, *, demo_data: bool) -> Banner:
    os.environ.update(env)
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from oms.management.commands.demo_data import demo_keys

    say("migrating the database")
    call_command("migrate", interactive=False, verbosity=1)
    call_command("collectstatic", interactive=False, verbosity=0)
    if demo_data:
        say("loading demo data (once)")
        call_command("demo_data")
    user, password = ensure_admin(data_dir)
    staff_key = admin_api_key(data_dir, user)
    keys = [(channel.code, channel.currency, raw) for channel, raw in demo_keys()]
    staff, staff_password = [], ""
    if demo_data:
        from oms.demo.staff import demo_staff_ensure

        staff_password = read_or_create(data_dir / "demo_staff_password", lambda: secrets.token_urlsafe(9))
        staff = demo_staff_ensure(password=staff_password)
    # The children open their own connections; none may be shared across processes.
    connections.close_all()
    return Banner(
        admin_password=password,
        staff_token=staff_key,
        channel_keys=keys,
        demo_staff=staff,
        demo_staff_password=staff_password,
    )


# --- children ----------------------------------------------------------------


class Shutdown(Exception):
    """Raised by the signal handlers to unwind startup or supervision."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None


class Supervisor:
    """Starts children and stops them together."""

    def __init__(self, env: Mapping[str, str], *, cwd: Path = BASE_DIR) -> None:
        self.env = dict(env)
        self.cwd = cwd
        self.children: list[Child] = []
        self.force = False

    def start(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv)
        child.process = spawn(argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL)
        self.children.append(child)
        say(f"started {name} (pid {child.process.pid})")
        return child

    def exited(self) -> Child | None:
        """The first child that is no longer running, if any."""
        return next((c for c in self.children if c.process and c.process.poll() is not None), None)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """TERM every child (newest first), wait for all, KILL what is left."""
        alive = [c for c in reversed(self.children) if c.process and c.process.poll() is None]
        for child in alive:
            with contextlib.suppress(ProcessLookupError):
                child.process.terminate()
        deadline = time.monotonic() + timeout
        while alive and time.monotonic() < deadline and not self.force:
            time.sleep(0.1)
            alive = [c for c in alive if c.process.poll() is None]
        for child in alive:
            say(f"{child.name} did not stop in time: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
        for child in self.children:
            # Each child leads its own process group: sweep up anything it left behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
        for child in self.children:
            say(f"stopped {child.name} (exit code {child.process.returncode})")


def commands(env: Mapping[str, str], data_dir: Path, *, host: str, port: int) -> list[tuple[str, list[str]]]:
    py = sys.executable
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        ("web", [py, "-m", "gunicorn", "oms.wsgi:application", "--bind", bind,
                 "--workers", str(web_workers(env)), "--worker-class", "gthread", "--threads", "4",
                 "--graceful-timeout", "10", "--access-logfile", "-", "--error-logfile", "-",
                 # gunicorn's control socket has one default path per user: two OMS (or
                 # any two gunicorns) on a machine would take it from each other.
                 "--no-control-socket"]),
        ("worker", [py, "-m", "celery", "-A", "oms", "worker", "-l", "info", "--concurrency", "2"]),
        ("beat", [py, "-m", "celery", "-A", "oms", "beat", "-l", "info",
                  "--schedule", str(data_dir / "celerybeat-schedule")]),
    ]  # fmt: skip


def wait_until_ready(url: str, supervisor: Supervisor, timeout: float = READY_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if supervisor.exited():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def print_banner(banner: Banner, *, base_url: str, data_dir: Path, embedded: list[str]) -> None:
    line = "=" * 78
    password = banner.admin_password or "(changed since; set OMS_ADMIN_PASSWORD to reset it)"
    rows = [
        line,
        "  OMS is running. Ctrl-C stops everything.",
        "",
        f"  Dashboard   {base_url}/dashboard/",
        f"  Admin       {base_url}/admin/",
        f"              user {ADMIN_USERNAME}   password {password}",
        f"  API docs    {base_url}/api/docs/   (ReDoc {base_url}/api/redoc/, schema /api/schema/)",
        f"  API base    {base_url}/api/v1/",
        f"  Health      {base_url}/healthz",
    ]
    if banner.demo_staff:
        users = ", ".join(banner.demo_staff)
        rows += ["", f"  Demo staff, one per role ({users}), password {banner.demo_staff_password}"]
    if banner.channel_keys:
        rows += ["", "  Demo channel API keys (Authorization: Bearer <key>):"]
        rows += [f"    {code:<8} {currency}  {key}" for code, currency, key in banner.channel_keys]
    if banner.staff_token:
        rows += ["", f"  Staff API token (Authorization: Token <key>): {banner.staff_token}"]
    if any(code == "WEB" for code, _, _ in banner.channel_keys):
        web_key = next(key for code, _, key in banner.channel_keys if code == "WEB")
        rows += ["", "  Try:", f"    curl -s {base_url}/api/v1/skus/ -H 'Authorization: Bearer {web_key}'"]
    rows += ["", f"  Data in {data_dir}" + (f" (embedded {', '.join(embedded)})" if embedded else "")]
    if os.environ.get("EMAIL_BACKEND", "").endswith("filebased.EmailBackend"):
        rows += [f"  E-mails are written to {os.environ.get('EMAIL_FILE_PATH', data_dir / 'mail')}"]
    rows += [line]
    print("\n".join(rows), flush=True)


# --- main --------------------------------------------------------------------


def main() -> int:
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 8000)
    data_dir = default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    supervisor: Supervisor | None = None

    def on_signal(signum: int, _frame: object) -> None:
        raise Shutdown(signum)

    def on_second_signal(signum: int, _frame: object) -> None:
        if supervisor is not None:
            supervisor.force = True
        say(f"{signal.Signals(signum).name} again: killing")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    exit_code = 1
    try:
        with contextlib.ExitStack() as stack:
            need_pg = not os.environ.get("DATABASE_URL")
            need_redis = not os.environ.get("REDIS_URL")
            embedded = [name for name, need in (("PostgreSQL", need_pg), ("Redis", need_redis)) if need]
            for name, variable in (("PostgreSQL", "DATABASE_URL"), ("Redis", "REDIS_URL")):
                if name not in embedded:
                    say(f"using {name} from {variable}")
            urls = stack.enter_context(
                embedded_services(
                    data_dir,
                    postgres=need_pg,
                    redis=need_redis,
                    redis_port=int(os.environ["OMS_REDIS_PORT"])
                    if os.environ.get("OMS_REDIS_PORT")
                    else None,
                    log=say,
                )
            )
            env = child_environment({**os.environ, **urls}, data_dir, host=host, port=port)
            try:
                banner = bootstrap(env, data_dir, demo_data=env_flag(env.get("OMS_DEMO_DATA"), True))
                supervisor = Supervisor(env)
                for name, argv in commands(env, data_dir, host=host, port=port):
                    supervisor.start(name, argv)
                base_url = f"http://{public_host(host)}:{port}"
                if not wait_until_ready(f"{base_url}/healthz", supervisor):
                    say(f"{base_url}/healthz did not answer 200 (is the host in ALLOWED_HOSTS?): stopping")
                else:
                    print_banner(banner, base_url=base_url, data_dir=data_dir, embedded=embedded)
                    while (dead := supervisor.exited()) is None:
                        time.sleep(0.5)
                    say(f"{dead.name} exited unexpectedly (exit code {dead.process.returncode}): stopping")
            except Shutdown as stop:
                say(f"{stop}: stopping")
                exit_code = 0
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(sig, on_second_signal)
                if supervisor is not None:
                    supervisor.stop()
    except Shutdown as stop:  # while the embedded servers were starting
        say(f"{stop}: stopped")
        exit_code = 0
    except EmbeddedError as exc:
        say(str(exc))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
