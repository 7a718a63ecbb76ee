"""Which locations a staff user may see and work (the warehouse role is scoped
to the locations it is assigned; see oms.roles)."""

from __future__ import annotations

from oms.roles import location_scoped

from .models import Warehouse


def location_ids(request) -> frozenset[int] | None:
    """The ids of the locations the request's user is limited to, or None when
    they are not limited (every role but warehouse). Looked up once per request."""
    if not location_scoped(request):
        return None
    cached = getattr(request, "_oms_location_ids", None)
    if cached is None:
        cached = frozenset(Warehouse.objects.filter(staff=request.user).values_list("id", flat=True))
        request._oms_location_ids = cached
    return cached


def scope(queryset, request, field: str = "location"):
    """`queryset` limited to the request user's locations through `field` (a
    foreign key or a path to one, e.g. "fulfillment_order__location")."""
    ids = location_ids(request)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})


def may_work(request, location_id: int | None) -> bool:
    ids = location_ids(request)
    return ids is None or location_id in ids
