"""Per-request SQL statement count, for benchmarks and profiling.

`QueryCountMiddleware` is off unless the environment sets
OMS_QUERY_COUNT_HEADER=true (read once, at import). When it is off, Django
drops it from the chain at start-up (MiddlewareNotUsed), so it costs nothing.
When it is on, every statement executed on any database connection during
the request is counted through `connection.execute_wrapper`, and the response
carries:

    X-DB-Queries: <statements>
    X-DB-Time-Ms: <milliseconds spent inside those statements>

What counts as a statement: each `cursor.execute()` / `executemany()` Django
or the code sends, including SAVEPOINT / RELEASE SAVEPOINT from nested
`atomic()` blocks. BEGIN and COMMIT are not counted: psycopg issues them
itself when Django switches autocommit off and on (one pair per outermost
`atomic()` block).

With OMS_QUERY_LOG=true as well, each statement is also logged (logger
`oms.queries`, level INFO) with its duration and the request path, to see
which queries dominate. Never enable either in production: the header tells
clients about the server's internals.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import ExitStack

from django.core.exceptions import MiddlewareNotUsed
from django.db import connections


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


ENABLED = _env_true("OMS_QUERY_COUNT_HEADER")
LOG_QUERIES = ENABLED and _env_true("OMS_QUERY_LOG")
HEADER = "X-DB-Queries"
TIME_HEADER = "X-DB-Time-Ms"

logger = logging.getLogger("oms.queries")


class _Counter:
    """An execute wrapper: counts (and optionally logs) statements."""

    __slots__ = ("count", "path", "seconds")

    def __init__(self, path: str) -> None:
        self.count = 0
        self.seconds = 0.0
        self.path = path

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - start
            self.seconds += elapsed
            if LOG_QUERIES:
                statement = " ".join(str(sql).split())
                many_tag = "[many] " if many else ""
                ms = elapsed * 1000
                logger.info("%s #%d %.2fms %s%s", self.path, self.count, ms, many_tag, statement[:2000])


class QueryCountMiddleware:
    """Adds `X-DB-Queries` (and `X-DB-Time-Ms`) to every response when
    OMS_QUERY_COUNT_HEADER is true; removes itself otherwise. Put it first in
    MIDDLEWARE so that the queries of the other middleware are counted too."""

    def __init__(self, get_response) -> None:
        if not ENABLED:
            raise MiddlewareNotUsed("OMS_QUERY_COUNT_HEADER is off")
        self.get_response = get_response

    def __call__(self, request):
        counter = _Counter(f"{request.method} {request.path}")
        with ExitStack() as stack:
            # Connections are per thread: these wrappers see only this request's statements.
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(counter))
            response = self.get_response(request)
        response[HEADER] = str(counter.count)
        response[TIME_HEADER] = f"{counter.seconds * 1000:.1f}"
        return response
