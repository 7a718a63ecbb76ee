"""Shared plumbing for the benchmarks: environment, a throw-away database,
a gunicorn server as a subprocess, timing in process, and small statistics
helpers.

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/oms_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
BENCH_SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
REPORT_PATH_VARIABLE = "BENCH_REPORT_PATH"
# `python -m bench` migrates one template database and every benchmark copies it (CREATE DATABASE
# ... TEMPLATE): migrating from scratch takes ~20 s per benchmark, copying ~1 s.
TEMPLATE_VARIABLE = "BENCH_TEMPLATE_DB"


class BenchError(RuntimeError):
    """A problem that stops the benchmark (printed without a traceback)."""


def configure_environment() -> dict[str, str]:
    """Set the variables the OMS reads, in this process (for django.setup()) and
    for the server it starts; returns the server's environment."""
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    os.environ.setdefault("CACHE_KEY_PREFIX", "oms-bench")
    # One BLAS thread per process (set before numpy loads): OpenBLAS otherwise starts a thread per
    # core in every process, and on a busy 2-core machine the forecast fits of the reorder recompute
    # ran 6x slower (277 vs 44 ms per rule, 6 Dec 2026). Override it in the environment to compare.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    forced = {
        "DJANGO_SETTINGS_MODULE": "oms.settings",
        "DEBUG": "false",  # DEBUG keeps every query in memory: never benchmark with it
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The outbox row is still written in the order's transaction; eager mode only
        # skips waking a Celery worker through the broker after each commit.
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "OMS_QUERY_COUNT_HEADER": "true",
        # The benchmarks talk plain http to 127.0.0.1: no redirect to https, no https-only cookies.
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(forced)
    for name in ("DATABASE_URL", "REDIS_URL"):
        host = urlsplit(os.environ[name]).hostname or ""
        if host not in LOCAL_HOSTS:
            raise BenchError(f"{name} must point at this machine (127.0.0.1), not {host!r}.")
    return dict(os.environ)


@dataclass(frozen=True)
class Database:
    name: str
    user: str
    password: str
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Database:
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
            raise BenchError(f"DATABASE_URL must be postgres://..., not {parts.scheme}://")
        return cls(
            name=unquote(parts.path.lstrip("/")),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
        )

    def recreate(self) -> None:
        """Drop and create the database (a fresh one every run)."""
        if "bench" not in self.name.lower():
            raise BenchError(
                f"Refusing to drop database {self.name!r}: the benchmark recreates its database on "
                "every run, so its name must contain 'bench' (e.g. DATABASE_URL=postgres://postgres@"
                "127.0.0.1:5432/oms_bench)."
            )
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            template = os.environ.get(TEMPLATE_VARIABLE)
            if template and template != self.name:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(self.name), sql.Identifier(template)
                    )
                )
            else:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))


@dataclass
class Measured:
    seconds: float = 0.0
    statements: int = 0


@contextlib.contextmanager
def measured() -> Iterator[Measured]:
    """Time the block (wall clock) and count the SQL statements it sends on
    Django's default connection: every execute() / executemany(), SAVEPOINT
    and RELEASE included; BEGIN / COMMIT are not (psycopg sends those itself)."""
    from django.db import connection

    result = Measured()

    def count(execute, sql, params, many, context):
        result.statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        try:
            yield result
        finally:
            result.seconds = time.perf_counter() - started


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log_path: Path
    workers: int
    threads: int

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _stop(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM the gunicorn master (it stops its workers), then SIGKILL its
    process group (only this server's processes) if it does not exit in time."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its own session: pgid == pid
        process.wait(timeout=5)


@contextlib.contextmanager
def gunicorn(
    *,
    env: dict[str, str],
    workers: int,
    threads: int,
    log_path: Path,
    worker_connections: int | None = None,
    worker_class: str = "gthread",
    keep_alive: int = 10,
    preload: bool = False,
    extra_args: Sequence[str] = (),
    start_timeout: float = 60.0,
) -> Iterator[Server]:
    """Run `gunicorn oms.wsgi` on a free 127.0.0.1 port until the block exits
    (normally, on error or on Ctrl-C). `extra_args` go last, so they override."""
    port = free_port()
    cmd = [
        str(VENV_BIN / "gunicorn"), "oms.wsgi",
        "-b", f"127.0.0.1:{port}",
        "-w", str(workers), "-k", worker_class,
        "--keep-alive", str(keep_alive), "--graceful-timeout", "10", "--timeout", "60",
        "--log-level", "warning",
    ]  # fmt: skip
    # gunicorn turns a sync worker with --threads > 1 into gthread: pass threads to gthread only.
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    if worker_connections:
        cmd += ["--worker-connections", str(worker_connections)]
    if preload:
        cmd.append("--preload")
    cmd += list(extra_args)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop it ourselves
        )
    server = Server(port=port, process=process, log_path=log_path, workers=workers, threads=threads)
    try:
        deadline = time.monotonic() + start_timeout
        while not _healthy(port):
            if process.poll() is not None:
                raise BenchError(f"gunicorn exited with code {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise BenchError(
                    f"gunicorn did not answer /healthz within {start_timeout:.0f}s:\n{server.log_tail()}"
                )
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so `finally:` blocks (server stop) run."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_main(main: Callable[[], int], *, interrupted: str = "interrupted.") -> NoReturn:
    """Run a benchmark's main() as a command: exit with its code; on Ctrl-C or
    SIGTERM (after main's own cleanup) print `interrupted` and exit 130; on a
    BenchError print it and exit 2."""
    try:
        with terminate_as_interrupt():
            sys.exit(main())
    except KeyboardInterrupt:
        print(f"\n{interrupted}", file=sys.stderr)
        sys.exit(130)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads) from /proc/<pid>/stat; None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) ": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_children(pid: int) -> list[int]:
    """Direct children of a process (scans /proc: no CONFIG_PROC_CHILDREN needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        if int(raw[raw.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_sample(pids: Sequence[int]) -> dict[int, float]:
    return {pid: cpu for pid in pids if (cpu := process_cpu_seconds(pid)) is not None}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> dict[str, float | int]:
    """CPU seconds spent between two samples of a set of processes. A process
    only in `after` started in between: all of its CPU counts. One only in
    `before` ended in between: its last CPU is unknown, it is counted as lost."""
    seconds = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return {
        "seconds": round(seconds, 3),
        "processes": len(after),
        "started": len(set(after) - set(before)),
        "lost": len(set(before) - set(after)),
    }


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence (p in 0..100)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(values: Sequence[float], digits: int = 1) -> dict[str, float | int | None]:
    """count, mean, min, p50, p90, p99, max."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "mean": None, "min": None, "p50": None, "p90": None, "p99": None, "max": None}
    return {
        "count": len(ordered),
        "mean": round(sum(ordered) / len(ordered), digits),
        "min": round(ordered[0], digits),
        "p50": round(percentile(ordered, 50), digits),
        "p90": round(percentile(ordered, 90), digits),
        "p99": round(percentile(ordered, 99), digits),
        "max": round(ordered[-1], digits),
    }


def machine_info() -> dict[str, object]:
    import django

    info: dict[str, object] = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }
    with contextlib.suppress(OSError):
        info["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        info["gunicorn"] = version("gunicorn")
        info["psycopg"] = version("psycopg")
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(ROOT)]
        info["git_commit"] = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        changed = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, timeout=10)
        info["git_uncommitted_files"] = len(changed.stdout.splitlines())
    return info


def report_write(name: str, report: dict) -> Path:
    """Writes a run's report to bench/results/<name>-<UTC stamp>.json and says where."""
    import json
    from datetime import UTC, datetime

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    # `python -m bench` names the file of each run it starts, to collect it without guessing.
    if os.environ.get(REPORT_PATH_VARIABLE):
        path = Path(os.environ[REPORT_PATH_VARIABLE])
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, default=str))
    print(f"written: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path
