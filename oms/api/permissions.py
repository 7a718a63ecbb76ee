from rest_framework.permissions import SAFE_METHODS, BasePermission

from oms.roles import AREAS, can

from .auth import ChannelPrincipal

# The area (oms.roles) of a staff API view, by the app its module is in, unless
# the view names its own with `staff_area = "..."`.
_AREA_OF_APP = {
    "orders": "orders",
    "inventory": "stock",
    "fulfillment": "warehouse",
    "returns": "returns",
    "customers": "customers",
    "accounting": "accounting",
    "oms": "settings",
}
# Modules whose views belong to another area than their app's.
_AREA_OF_MODULE = {
    "fulfillment.api.edits": "orders",
    "returns.api_customers": "customers",
    "returns.api_metrics": "customers",
    "returns.api_policies": "settings",
}


def is_staff(user) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))


def staff_area(view) -> str:
    module = type(view).__module__
    area = (
        getattr(view, "staff_area", None)
        or _AREA_OF_MODULE.get(module)
        or _AREA_OF_APP.get(module.split(".")[0])
    )
    if area not in AREAS:
        raise LookupError(f"{type(view).__name__} has no staff area (set staff_area)")
    return area


def staff_may(request, view) -> bool:
    """A staff user may read a view's area with `<area>.view` and act on it
    (any unsafe method) with `<area>.change`; a view may name the capability
    of its unsafe methods itself with `staff_change = "<area>.change"`."""
    if not is_staff(request.user):
        return False
    area = staff_area(view)
    if request.method in SAFE_METHODS:
        return can(request, f"{area}.view")
    return can(request, getattr(view, "staff_change", None) or f"{area}.change")


class IsChannelOrStaff(BasePermission):
    """A channel (scoped to its own data by the views) or a staff user whose role
    covers the view's area."""

    message = "Authenticate with a channel API key or as staff with a role that covers this."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ChannelPrincipal) or staff_may(request, view)


class IsStaff(BasePermission):
    message = "Only staff whose role covers this may do it."

    def has_permission(self, request, view) -> bool:
        return staff_may(request, view)
