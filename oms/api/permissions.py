from rest_framework.permissions import BasePermission

from .auth import ChannelPrincipal


def is_staff(user) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))


class IsChannelOrStaff(BasePermission):
    """A channel (scoped to its own data by the views) or an active staff user."""

    message = "Authenticate with a channel API key or as staff."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ChannelPrincipal) or is_staff(request.user)


class IsStaff(BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return is_staff(request.user)
