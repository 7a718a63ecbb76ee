"""The audit trail of staff actions: one row per state-changing request a staff
user made (dashboard, admin, staff API), and per sign-in, failed sign-in and
sign-out. oms.audit writes the rows; nothing updates or deletes them (a
database trigger refuses it: see the migration that adds it).

The actor is copied (username, roles) rather than only referenced, so an entry
still says who did it after the account is renamed, loses its roles or is
deleted (the foreign key is then set to NULL, the one change the trigger lets
through)."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        REQUEST = "request", "Request"
        LOGIN = "login", "Sign-in"
        LOGIN_FAILED = "login_failed", "Failed sign-in"
        LOGOUT = "logout", "Sign-out"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(
        max_length=150, blank=True, help_text="As it was at the time; for a failed sign-in, the name tried."
    )
    roles = models.JSONField(default=list, blank=True, help_text="Role codes (oms.roles) at the time.")
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=500, blank=True)
    url_name = models.CharField(max_length=120, blank=True, help_text="The resolved URL name.")
    target_type = models.CharField(
        max_length=64, blank=True, help_text="Model label of the object acted on, e.g. orders.order."
    )
    target_id = models.CharField(max_length=64, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status of the answer.")
    submitted = models.JSONField(
        default=dict, blank=True, help_text="What was submitted, secrets redacted, capped at about 4 KB."
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["username", "-at"], name="audit_username_idx"),
            models.Index(fields=["target_type", "target_id", "-at"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        what = f"{self.method} {self.path}" if self.action == self.Action.REQUEST else self.action
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {what}"

    @property
    def target_label(self) -> str:
        """The target's model name in words, e.g. "order" (no query)."""
        if not self.target_type:
            return ""
        try:
            return str(apps.get_model(self.target_type)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.target_type
