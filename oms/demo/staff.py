"""Demo staff: one user per role (oms.roles), so the dashboard can be tried
as each. The warehouse user works the first distribution centre only."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from inventory.models import Warehouse
from oms.roles import ACCOUNTING, CUSTOMER_SERVICE, MANAGER, WAREHOUSE

# username -> (role, first name)
DEMO_STAFF = {
    "cs": (CUSTOMER_SERVICE, "Cass"),
    "warehouse": (WAREHOUSE, "Wade"),
    "accounting": (ACCOUNTING, "Ada"),
    "manager": (MANAGER, "Max"),
}


def demo_staff_ensure(*, password: str) -> list[str]:
    """Creates the demo staff users that are missing (existing ones keep their
    password and roles); returns the usernames."""
    users = get_user_model().objects
    first_dc = Warehouse.objects.filter(kind=Warehouse.Kind.DC, is_active=True).order_by("code").first()
    for username, (role, first_name) in DEMO_STAFF.items():
        if users.filter(username=username).exists():
            continue
        user = users.create_user(
            username, f"{username}@oms.localhost", password, is_staff=True, first_name=first_name
        )
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        if role == WAREHOUSE and first_dc is not None:
            first_dc.staff.add(user)
    return list(DEMO_STAFF)
