"""Location scoping of the fulfillment staff API: a warehouse user sees and
works only the locations they are assigned (inventory.access); every other
role is unrestricted and pays no extra query.

Another location's wave, pick list or shipment answers 404, exactly as one
that does not exist: a scoped user learns nothing about other locations'
work, not even that it exists. Making work (waves, pick lists) at a location
that is not theirs is refused with 403.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from rest_framework.exceptions import PermissionDenied

from inventory.access import location_ids, may_work, scope
from inventory.models import Warehouse
from oms.errors import NotFound


def scoped(queryset: QuerySet, request, field: str = "warehouse") -> QuerySet:
    """`queryset` limited to the request user's locations through `field`."""
    return scope(queryset, request, field=field)


def check_visible(request, model: type[Model], pk: int, what: str, field: str = "warehouse_id") -> None:
    """404 when the row `pk` belongs to a location the user may not see. A
    row that does not exist is left to the service, which says so itself."""
    if location_ids(request) is None:
        return
    location = model.objects.filter(pk=pk).values_list(field, flat=True).first()
    if location is not None and not may_work(request, location):
        raise NotFound(f"{what} {pk} does not exist.")


def check_workplace(request, warehouse: Warehouse) -> None:
    """403 when the user may not work at `warehouse` (to make waves and lists there)."""
    if not may_work(request, warehouse.pk):
        raise PermissionDenied(f"You do not work at {warehouse.code}; you may not plan its work.")
