import sys

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error

from oms.api.errors import DATABASE_RETRY_AFTER_SECONDS, database_error


@require_GET
def healthz(request):
    """Liveness and database check for load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    """The API's error body (oms.api.errors), for errors that never reach DRF."""
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def not_found(request, exception=None):
    """API paths answer with the API's JSON error body, as every other API error does."""
    if request.path.startswith("/api/"):
        return _api_error("not_found", "Not found.", 404)
    return page_not_found(request, exception)


def server_error(request):
    """An error nothing else handled (middleware, dashboard and admin pages).

    A database that is down, restarting or busy on a lock is a passing
    condition, as the API's own handler treats it: 503 with Retry-After, in
    JSON under /api/ and as a plain page elsewhere (rendered without the
    request, so nothing touches the database). Anything else is the usual 500.
    """
    exc = sys.exc_info()[1]
    api = request.path.startswith("/api/")
    if isinstance(exc, InterfaceError | OperationalError):
        code, message = database_error(exc)
        if api:
            response = _api_error(code, message, 503)
        else:
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if api:
        return _api_error("server_error", "The server failed; the error is logged.", 500)
    return django_server_error(request)
