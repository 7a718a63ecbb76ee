"""Domain errors: a small hierarchy with a stable `code` and an HTTP status.

Services raise these; the API's exception handler (oms.api.errors) turns them
into `{"error": {"code", "message", "fields"}}` and dashboard views into
messages. A `fields` mapping names the input field(s) at fault.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"
    status = 400
    default_message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        code: str | None = None,
        **details: Any,
    ) -> None:
        self.message = message or self.default_message
        self.fields = fields or {}
        if code:
            self.code = code
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    code = "invalid"
    status = 400
    default_message = "The request has invalid fields."

    @classmethod
    def field(cls, name: str, problem: str, *, code: str | None = None) -> InvalidInput:
        return cls(f"{name}: {problem}", fields={name: [problem]}, code=code)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."


class Gone(DomainError):
    code = "gone"
    status = 410
    default_message = "The resource has expired."


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    default_message = "Not enough stock to fulfil the request."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = "That change is not allowed in the current state."


class PaymentDeclined(DomainError):
    code = "payment_declined"
    status = 402
    default_message = "The payment was declined."


class PaymentUnavailable(DomainError):
    """The gateway could not be reached or failed: safe to retry later."""

    code = "payment_unavailable"
    status = 503
    default_message = "The payment service is unavailable; please retry."
