"""Staff roles and what each may do, for the dashboard pages and the staff API.

A staff user's roles are the Django groups they belong to, named by the role
codes below (the migration oms/0005 creates the groups). What a role may do
is a set of capabilities ``<area>.<verb>``: ``view`` reads an area, ``change``
acts on it. A superuser may do everything; a staff user in no group may do
nothing but log in.

    area        what it covers
    orders      orders, quotes, payments, order edits, holds, cancels, phone orders
    stock       inventory: stock levels, adjustments, counts, transfers, purchasing
    warehouse   fulfillment: routing, waves, pick lists, packing, labels, shipments
    returns     returns and refunds, the case queue
    receiving   receiving and inspecting returned parcels at a location
    customers   customers, contacts, consents, value metrics, merges
    accounting  journal, invoices, supplier bills, reports, periods
    settings    channels, policies, integrations, webhooks (otherwise the admin), the audit trail

Warehouse users are also scoped to the locations they are assigned
(inventory.access): they see and work only those locations' stock and work.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CUSTOMER_SERVICE = "customer_service"
WAREHOUSE = "warehouse"
ACCOUNTING = "accounting"
MANAGER = "manager"

ROLE_LABELS = {
    CUSTOMER_SERVICE: _("Customer service"),
    WAREHOUSE: _("Warehouse"),
    ACCOUNTING: _("Accounting"),
    MANAGER: _("Manager"),
}

AREAS = ("orders", "stock", "warehouse", "returns", "receiving", "customers", "accounting", "settings")

_ALL = {f"{area}.{verb}" for area in AREAS for verb in ("view", "change")}

CAPABILITIES: dict[str, frozenset[str]] = {
    CUSTOMER_SERVICE: frozenset(
        {
            "orders.view",
            "orders.change",
            "stock.view",
            "warehouse.view",
            "returns.view",
            "returns.change",
            "receiving.view",
            "customers.view",
            "customers.change",
        }
    ),
    WAREHOUSE: frozenset(
        {
            "orders.view",
            "stock.view",
            "stock.change",
            "warehouse.view",
            "warehouse.change",
            "returns.view",
            "receiving.view",
            "receiving.change",
        }
    ),
    ACCOUNTING: frozenset(
        {
            "orders.view",
            "stock.view",
            "returns.view",
            "customers.view",
            "accounting.view",
            "accounting.change",
        }
    ),
    MANAGER: frozenset(_ALL),
}


def _is_staff(user) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))


def user_roles(user) -> frozenset[str]:
    """The role codes of a staff user (one query)."""
    if not _is_staff(user):
        return frozenset()
    names = user.groups.filter(name__in=CAPABILITIES).values_list("name", flat=True)
    return frozenset(names)


def request_roles(request) -> frozenset[str]:
    # Looked up once per request: a request's user does not change roles mid-way.
    cached = getattr(request, "_oms_roles", None)
    if cached is None or cached[0] is not request.user:
        cached = (request.user, user_roles(request.user))
        request._oms_roles = cached
    return cached[1]


def capabilities(request) -> frozenset[str]:
    """What the request's user may do."""
    user = request.user
    if not _is_staff(user):
        return frozenset()
    if getattr(user, "is_superuser", False):
        return frozenset(_ALL)
    found: set[str] = set()
    for role in request_roles(request):
        found |= CAPABILITIES[role]
    return frozenset(found)


def can(request, capability: str) -> bool:
    if capability not in _ALL:
        raise ValueError(f"unknown capability {capability!r}")
    return capability in capabilities(request)


def location_scoped(request) -> bool:
    """Whether the request's user works only their assigned locations: a
    warehouse user who is not also a manager (nor a superuser)."""
    if getattr(request.user, "is_superuser", False):
        return False
    roles = request_roles(request)
    return WAREHOUSE in roles and MANAGER not in roles


# The Django app whose models each area covers, for the admin: a role gets the
# admin's view permission on an area's models with `<area>.view` and add,
# change and delete with `<area>.change` (roles_permissions_sync).
ADMIN_APPS_OF_AREA = {
    "orders": ("orders",),
    "stock": ("inventory",),
    "warehouse": ("fulfillment",),
    "returns": ("returns",),
    "customers": ("customers",),
    "accounting": ("accounting",),
    "settings": ("oms",),
}


def roles_permissions_sync(**kwargs) -> None:
    """Gives each role group exactly the admin model permissions its areas
    imply (run after every migrate, when Django has created the permissions)."""
    from django.contrib.auth.models import Group, Permission

    for role, granted in CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted: set[int] = set()
        for area, apps in ADMIN_APPS_OF_AREA.items():
            verbs = (["view"] if f"{area}.view" in granted else []) + (
                ["add", "change", "delete"] if f"{area}.change" in granted else []
            )
            if not verbs:
                continue
            permissions = Permission.objects.filter(content_type__app_label__in=apps)
            wanted |= {
                pk
                for pk, codename in permissions.values_list("pk", "codename")
                if codename.split("_", 1)[0] in verbs
            }
        if role == MANAGER:  # managers also manage staff accounts and their roles
            wanted |= set(
                Permission.objects.filter(content_type__app_label="auth").values_list("pk", flat=True)
            )
        group.permissions.set(wanted)
