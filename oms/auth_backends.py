"""Password sign-in with a brake on guessing (the dashboard, the admin and any
other username/password login go through here).

Failed sign-ins are counted in the shared cache per client address and
username, and per address: after LOGIN_FAILURES_PER_ACCOUNT failures for one
username from one address, or LOGIN_FAILURES_PER_ADDRESS from one address
whatever the usernames, every password sign-in from there (for that username,
or at all) is refused, even with the right password, until the window of
LOGIN_FAILURE_WINDOW_SECONDS ends. A successful sign-in clears its username's
count. API tokens do not use passwords and are not affected."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from oms.ratelimit import window_clear, window_count, window_hit


def client_address(request) -> str:
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "unknown"


def _username(value) -> str:
    return str(value or "").strip().casefold()[:150]


def login_throttled(request, username) -> bool:
    """Whether password sign-ins for `username` from the request's address are
    refused for now."""
    address = client_address(request)
    return (
        window_count("login-account", address, _username(username)) >= settings.LOGIN_FAILURES_PER_ACCOUNT
        or window_count("login-address", address) >= settings.LOGIN_FAILURES_PER_ADDRESS
    )


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_username_field())
        if login_throttled(request, username):
            # Stops every backend; django.contrib.auth.authenticate reports it as a failure.
            raise PermissionDenied("too many failed sign-ins")
        return super().authenticate(request, username=username, password=password, **kwargs)


def get_username_field() -> str:
    from django.contrib.auth import get_user_model

    return get_user_model().USERNAME_FIELD


@receiver(user_login_failed, dispatch_uid="oms.login_failed")
def _count_failure(sender, credentials, request=None, **kwargs) -> None:
    address = client_address(request)
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    window_hit("login-account", address, _username(credentials.get("username")), window_seconds=window)
    window_hit("login-address", address, window_seconds=window)


@receiver(user_logged_in, dispatch_uid="oms.logged_in")
def _clear_failures(sender, request, user, **kwargs) -> None:
    window_clear("login-account", client_address(request), _username(user.get_username()))
