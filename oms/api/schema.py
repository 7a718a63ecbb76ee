"""OpenAPI extensions so the schema documents channel keys, money fields and
the error responses every operation can give."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class ChannelTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oms.api.auth.ChannelTokenAuthentication"
    name = "channelKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A channel's API key: `Bearer <key>`."}


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oms.api.auth.StaffTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A staff member's API key: `Token <key>`.",
        }


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `insufficient_stock`.")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='The fields at fault and their problems, e.g. `{"lines[0].quantity": ["..."]}`.',
    )
    details = serializers.DictField(required=False, help_text="Extra facts about the error, by code.")


class ErrorOut(serializers.Serializer):
    """The one error body of the API (oms.api.errors)."""

    error = ErrorDetailOut()


# Answers any operation can give, by what it takes; a view's own description wins.
_BAD_INPUT = "Invalid input, named in `error.fields`"
_UNAUTHENTICATED = "No or bad credentials"
_FORBIDDEN = "The channel or staff role may not do this"
_NOT_FOUND = "No such object (or another channel's)"
_UNSUPPORTED = "A body in a media type the operation does not take"


class AutoSchema(SpectacularAutoSchema):
    """Documents the error responses the exception handler gives, so clients
    (and the schema fuzzer) can rely on the documented statuses: 400 where the
    operation takes input, 415 where it takes a body, 401/403 where it needs
    credentials, 404 where the path names an object; every 4xx body is an `ErrorOut`."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        expected = {}
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            expected["400"] = _BAD_INPUT
        if "requestBody" in operation:
            expected["415"] = _UNSUPPORTED
        if {} not in operation.get("security", [{}]):
            expected["401"] = _UNAUTHENTICATED
            expected["403"] = _FORBIDDEN
        if any(p["in"] == "path" for p in parameters):
            expected["404"] = _NOT_FOUND
        responses = operation["responses"]
        for code, description in expected.items():
            responses.setdefault(code, {"description": description})
        error = self.resolve_serializer(ErrorOut, "response").ref
        for code, response in responses.items():
            if code.startswith("4") and "content" not in response:
                response["content"] = {"application/json": {"schema": error}}
        return operation
