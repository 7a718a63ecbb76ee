"""One exception handler for the whole API.

Every error body has the same shape:
    {"error": {"code": "insufficient_stock", "message": "...", "fields": {"lines[0].quantity": ["..."]}}}
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from oms.errors import DomainError

logger = logging.getLogger(__name__)

# A database that dropped the connection, restarted or timed out on a lock is
# a passing condition: the client gets a 503 it may retry (an order with the
# same Idempotency-Key), never a 500. SQLSTATEs of "busy" rather than "gone":
# lock_not_available, deadlock_detected, serialization_failure, query_canceled.
DATABASE_RETRY_AFTER_SECONDS = 2
_BUSY_SQLSTATES = {"55P03", "40P01", "40001", "57014"}


def database_error(exc: InterfaceError | OperationalError) -> tuple[str, str]:
    """The error code and message of a database that is busy or gone."""
    if getattr(exc.__cause__, "sqlstate", None) in _BUSY_SQLSTATES:
        return "database_busy", "The database is busy; retry shortly."
    return (
        "database_unavailable",
        "The database is unavailable; retry shortly (with the same Idempotency-Key, if the request had one).",
    )


def database_error_response(exc: InterfaceError | OperationalError) -> Response:
    """A retryable 503 for a database error (the transaction it hit was rolled back)."""
    logger.warning("API request failed on a database error (answered 503): %s", exc, exc_info=exc)
    code, message = database_error(exc)
    response = error_response(code, message, status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into {"lines[0].sku": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a list item's errors, keyed by index
                path = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, path))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(flatten_errors(item, f"{prefix}[{index}]"))
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def error_response(
    code: str, message: str, http_status: int, fields: dict | None = None, **extra
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return Response({"error": body}, status=http_status)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"error": exc.as_dict()}, status=exc.status)
    if isinstance(exc, InterfaceError | OperationalError):
        return database_error_response(exc)
    if isinstance(exc, DataError):
        # A backstop: input validation should have named the field (a NUL
        # character, a number out of range); the input, not the server, is at fault.
        logger.warning("API request refused by the database as bad data (answered 400): %s", exc)
        return error_response(
            "invalid",
            "A value in the request cannot be stored (e.g. a NUL character or a number out of range).",
            status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        first = next(iter(fields.items()), ("request", ["invalid"]))
        message = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        return error_response("invalid", message, status.HTTP_400_BAD_REQUEST, fields)
    if isinstance(exc, exceptions.ParseError):
        return error_response("malformed_request", f"The request body could not be parsed: {exc.detail}", 400)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return error_response("not_found", "Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        message = str(detail) if isinstance(detail, str) else str(exc.default_detail)
        response = error_response(code, message, exc.status_code)
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response
    return None
