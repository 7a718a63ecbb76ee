"""What the purchasing endpoints share: error docs, the cost format, active codes."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from oms.money import DECIMAL_PLACES, MAX_DIGITS

from ..api_operations.common import ERRORS
from ..models import Supplier, Warehouse

NOT_FOUND = OpenApiResponse(description="No such supplier or purchase order")
PO_ERRORS = {400: ERRORS[400], 404: NOT_FOUND, 409: ERRORS[409]}

# A unit cost keeps the four places it is stored with: it may be finer than the
# currency's minor unit (totals are rounded, costs are not).
COST = {"max_digits": MAX_DIGITS, "decimal_places": DECIMAL_PLACES}


def active_code_field(
    model: type[Supplier] | type[Warehouse], label: str, **kwargs
) -> serializers.SlugRelatedField:
    """The code of an active row. The services refuse inactive ones too, but
    name them by id; refusing here names them by the code the caller sent."""
    kwargs.setdefault("help_text", f"{label.capitalize()} code.")
    return serializers.SlugRelatedField(
        slug_field="code",
        queryset=model.objects.filter(is_active=True),
        error_messages={"does_not_exist": f"unknown or inactive {label} '{{value}}'"},
        **kwargs,
    )
