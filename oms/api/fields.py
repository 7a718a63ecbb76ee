"""Shared serializer pieces: strict input, countries, money output, the `sku` query parameter."""

from __future__ import annotations

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from oms.errors import InvalidInput
from oms.geo import ISO_COUNTRIES
from oms.money import round_money


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo ("quantiy") is an error
    rather than a silently ignored value."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
            # PostgreSQL refuses NUL in text; fields that look rows up by a code
            # (SlugRelatedField) would pass it through to a query and fail there.
            with_nul = sorted(name for name, value in data.items() if _has_nul(value))
            if with_nul:
                raise serializers.ValidationError({name: [NUL_PROBLEM] for name in with_nul})
        return super().to_internal_value(data)


NUL_PROBLEM = "must not contain NUL characters"


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(isinstance(item, str) and "\x00" in item for item in value)
    return False


class CountryField(serializers.CharField):
    default_error_messages = {"country": "'{value}' is not an ISO 3166-1 alpha-2 country code."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("min_length", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).upper()
        if value not in ISO_COUNTRIES:
            self.fail("country", value=value)
        return value


@extend_schema_field({"type": "string", "format": "decimal", "example": "19.99"})
class MoneyOutField(serializers.Field):
    """An amount as a string rounded to the currency of the object it is read
    from (`currency` attribute of the instance)."""

    def __init__(self, currency_attr: str = "currency", **kwargs):
        self.currency_attr = currency_attr
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        return None if value is None else (value, getattr(instance, self.currency_attr))

    def to_representation(self, value):
        amount, currency = value
        return str(round_money(amount, currency))


SKU_CODES_PARAMETER = OpenApiParameter(
    "sku",
    OpenApiTypes.STR,
    many=True,
    required=True,
    description="SKU code; repeat, or comma-separate, for several.",
)


def text_params(params: QueryDict, *names: str) -> dict[str, str]:
    """The named query parameters that are given, as text a query can take:
    NUL (which PostgreSQL refuses in text) is a 400 naming the parameter."""
    values = {}
    for name in names:
        value = params.get(name)
        if value:
            if "\x00" in value:
                raise InvalidInput.field(name, NUL_PROBLEM)
            values[name] = value
    return values


def sku_codes_param(params: QueryDict, *, limit: int) -> list[str]:
    """The `sku` query parameter: codes repeated and/or comma-separated, in order, once each."""
    codes = list(
        dict.fromkeys(c.strip() for raw in params.getlist("sku") for c in raw.split(",") if c.strip())
    )
    if any("\x00" in code for code in codes):
        raise InvalidInput.field("sku", NUL_PROBLEM)
    if not codes:
        raise InvalidInput.field("sku", "give at least one SKU code, e.g. ?sku=ABC-1&sku=ABC-2")
    if len(codes) > limit:
        raise InvalidInput.field("sku", f"at most {limit} SKUs per request")
    return codes
