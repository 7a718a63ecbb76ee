"""What the stock operation endpoints share: error docs, code lookups, the actor."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request

from oms.actors import Actor
from oms.errors import NotFound

from ..bins import bin_by_code
from ..models import SKU, Warehouse

ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="No such transfer or count sheet"),  # those endpoints only
    409: OpenApiResponse(description="`insufficient_stock` or `invalid_transition`"),
}


def code_field(model: type[SKU] | type[Warehouse], label: str, **kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code",
        queryset=model.objects.all(),
        error_messages={"does_not_exist": f"unknown {label} '{{value}}'"},
        **kwargs,
    )


def bin_code_field(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        max_length=32, required=False, allow_null=True, default=None, help_text=help_text
    )


def bin_id(warehouse: Warehouse, code: str | None, field: str = "bin") -> int | None:
    return None if code is None else bin_by_code(warehouse=warehouse, code=code, field=field).pk


def staff(request: Request) -> Actor:
    return Actor.for_user(request.user)


def fetch(queryset, pk: int, what: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No {what} {pk}.")
    return found
