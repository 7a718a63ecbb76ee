"""Admin actions that print: the selected rows' documents as one PDF."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from oms.errors import DomainError


def print_pdf(
    model_admin: admin.ModelAdmin, request: HttpRequest, build: Callable[[], bytes], filename: str
) -> HttpResponse | None:
    """The PDF inline in the browser (to print), or the reason it cannot be
    made as an admin message (e.g. a selected shipment has no label yet)."""
    try:
        content = build()
    except DomainError as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
        return None
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
