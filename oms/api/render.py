"""Render output serializers (and parse input ones) without building their
fields on every call.

A DRF serializer builds its fields each time it is instantiated: a
ModelSerializer introspects its model and deep-copies its declared fields,
then binds every one. For the order placed by `POST /api/v1/orders/` that was
about a third of the response's CPU, spent before a single value is read.

`render(OrderDetailOut, order)` instead keeps one instance of the serializer
class, its fields built and bound once, and calls its `to_representation`,
which reads only the fields and the object: the same dict `.data` gives.

`parse(OrderIn, request.data)` does the same for input: the shared
instance's `run_validation` returns the validated data or raises the
ValidationError `is_valid(raise_exception=True)` would (same detail, so the
same error body); nothing is stored on the instance.

Only for serializers whose work does not depend on the request or on an
instance (no `self.context` in their fields, methods or validators, no
hyperlinks, no ModelSerializer unique checks): the shared instance has an
empty context. The fields are never changed after they are built, so
threads can share them.
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings

_PROTOTYPES: dict[type[serializers.Serializer], serializers.Serializer] = {}


def _prototype(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    proto = _PROTOTYPES.get(serializer_class)
    if proto is None:
        proto = serializer_class(context={})
        proto.fields  # noqa: B018 - builds and binds the fields (a cached property) before sharing
        # Two threads may both build one; the last one stored wins, both are right.
        _PROTOTYPES[serializer_class] = proto
    return proto


def parse(serializer_class: type[serializers.Serializer], data) -> dict:
    """`serializer_class(data=data)`'s validated data; raises ValidationError."""
    try:
        return _prototype(serializer_class).run_validation(data)
    except serializers.ValidationError as exc:
        detail = exc.detail
        if isinstance(detail, list) and len(detail) == 1 and getattr(detail[0], "code", None) == "null":
            # A JSON `null` body: what Serializer.errors says for it.
            detail = {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail("No data provided", code="null")]}
        raise serializers.ValidationError(detail) from None


def render(serializer_class: type[serializers.Serializer], instance) -> dict:
    """`serializer_class(instance).data`, as a plain dict."""
    return _prototype(serializer_class).to_representation(instance)


def render_many(serializer_class: type[serializers.Serializer], instances: Iterable) -> list[dict]:
    """`serializer_class(instances, many=True).data`, as a list of dicts."""
    proto = _prototype(serializer_class)
    return [proto.to_representation(item) for item in instances]
