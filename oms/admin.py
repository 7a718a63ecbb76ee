"""Admin for the kernel (channels, their API keys, the outbox), and the small
admin helpers the other apps' admins share.

Staff configure channels here. API keys are only ever issued by the "Issue a
new API key" action, because that is the one moment the raw key exists: it is
shown once and only its hash is stored.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import Count, Model, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from rest_framework.authtoken.models import Token, TokenProxy

from .models import AuditEntry, Channel, ChannelToken, OutboxEvent, PostalCode, StaffToken
from .money import UnknownCurrency, round_money
from .outbox import dispatch_pending
from .services import api_keys_revoke, outbox_events_retry

# --- Shared helpers ------------------------------------------------------------


class ReadOnlyAdminMixin:
    """For rows that only services write (ledgers, state machines, event history):
    staff can look, never add, edit or delete. Without the change permission
    Django renders the change page, and its inlines, as a read-only view."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        # Show every column, including the ones forms leave out (auto timestamps).
        if self.fields:
            return list(self.fields)
        names = [f.name for f in self.model._meta.concrete_fields if not f.primary_key]
        return list(dict.fromkeys([*names, *self.get_readonly_fields(request, obj)]))


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return list(dict.fromkeys([*(self.fields or ()), *self.readonly_fields]))


class IdSearchMixin:
    """A whole-number search term also matches the row id (an order number is
    the zero-padded order id), through the primary-key index rather than a cast."""

    id_search_field = "pk"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        term = search_term.strip().lstrip("#")
        if term.isdigit() and len(term) <= 18:
            results |= queryset.filter(**{self.id_search_field: int(term)})
        return results, may_have_duplicates


def admin_change_link(model: type[Model], pk: Any, text: object) -> str:
    """A link to a row's admin page, built from its id alone (no extra query)."""
    if pk is None:
        return "-"
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, text)


def admin_changelist_link(model: type[Model], text: str, **filters: Any) -> str:
    """A link to a filtered admin list, e.g. a customer's orders."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = urlencode(filters)
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def format_money(amount: Decimal | None, currency: str) -> str:
    """An amount rounded to its currency's minor units, for display."""
    if amount is None:
        return "-"
    try:
        return str(round_money(amount, currency))
    except UnknownCurrency:
        return str(amount)


def pretty_json(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


# --- Channels and API keys -----------------------------------------------------


class ChannelTokenInline(admin.TabularInline):
    model = ChannelToken
    fields = ["name", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A key added through a form would have no raw key to hand out: keys are
        # issued with the "Issue a new API key" action instead.
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "currency",
        "price_authority",
        "prices_include_tax",
        "is_active",
        "active_keys",
    ]
    list_filter = ["kind", "currency", "is_active", "price_authority"]
    search_fields = ["code", "name"]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "currency", "is_active", "created_at"]}),
        (
            "Pricing",
            {
                "fields": [
                    "price_authority",
                    "prices_include_tax",
                    "shipping_flat_rate",
                    "free_shipping_threshold",
                ]
            },
        ),
        ("Carts", {"fields": ["cart_ttl_minutes", "send_cart_reminders"]}),
        ("E-mail", {"fields": ["sender_email", "support_email"]}),
    ]
    inlines = [ChannelTokenInline]
    actions = ["issue_api_key"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Channel]:
        return (
            super()
            .get_queryset(request)
            .annotate(active_key_count=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Channel | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Integrations address the channel by code, and its price list and
            # open carts are in its currency: both are fixed once it exists.
            readonly += ["code", "currency"]
        return readonly

    @admin.display(description="Active API keys", ordering="active_key_count")
    def active_keys(self, channel: Channel) -> int:
        return channel.active_key_count

    def has_issue_key_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("oms.add_channeltoken")

    @admin.action(description="Issue a new API key", permissions=["issue_key"])
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        issued_on = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        for channel in queryset.order_by("code"):
            name = f"Issued in admin by {request.user.get_username()} on {issued_on}"[:80]
            token, raw_key = ChannelToken.issue(channel=channel, name=name)
            messages.success(
                request,
                f"New API key for channel {channel.code}: {raw_key} - copy it now. Only its hash is "
                f"stored, so it cannot be shown again (it is listed as {token.prefix}...).",
            )


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ChannelToken)
class ChannelTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "channel", "created_at", "revoked_at", "is_active"]
    list_filter = [TokenStatusFilter, "channel"]
    list_select_related = ["channel"]
    search_fields = ["prefix", "name", "channel__code"]
    fields = ["channel", "name", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["channel", "prefix", "created_at"]
    actions = ["revoke_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # see ChannelTokenInline

    @admin.display(description="Active", boolean=True)
    def is_active(self, token: ChannelToken) -> bool:
        return token.revoked_at is None

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ChannelToken]) -> None:
        revoked = api_keys_revoke(model=ChannelToken, token_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)


@admin.register(StaffToken)
class StaffTokenAdmin(admin.ModelAdmin):
    """Staff API keys. Adding one generates the key and shows it once; only its
    hash is stored, so a lost key is revoked and a new one issued."""

    list_display = ["prefix", "name", "user", "created_at", "revoked_at", "is_active"]
    list_filter = [TokenStatusFilter]
    list_select_related = ["user"]
    search_fields = ["prefix", "name", "user__username"]
    autocomplete_fields = ["user"]
    actions = ["revoke_keys"]

    def get_fields(self, request: HttpRequest, obj: StaffToken | None = None) -> list[str]:
        return ["user", "name"] if obj is None else ["user", "name", "prefix", "created_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: StaffToken | None = None) -> list[str]:
        return [] if obj is None else ["user", "prefix", "created_at"]

    def save_model(self, request: HttpRequest, obj: StaffToken, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        raw_key = obj.assign_key()
        super().save_model(request, obj, form, change)
        messages.success(
            request,
            f"New staff API key for {obj.user}: {raw_key} - copy it now. Only its hash is stored, so "
            f"it cannot be shown again (it is listed as {obj.prefix}...). Send it as "
            "Authorization: Token <key>.",
        )

    @admin.display(description="Active", boolean=True)
    def is_active(self, token: StaffToken) -> bool:
        return token.revoked_at is None

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[StaffToken]) -> None:
        revoked = api_keys_revoke(model=StaffToken, token_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)


# DRF's own tokens are stored in plain text and no longer authenticate: not offered.
for _model in (Token, TokenProxy):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


# --- Outbox ----------------------------------------------------------------------


class OutboxStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("pending", "Pending"), ("dispatched", "Dispatched"), ("failed", "Failed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "pending":
            return queryset.filter(dispatched_at__isnull=True, failed_at__isnull=True)
        if self.value() == "dispatched":
            return queryset.filter(dispatched_at__isnull=False)
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "topic",
        "aggregate",
        "state",
        "attempts",
        "created_at",
        "available_at",
        "dispatched_at",
        "failed_at",
    ]
    list_filter = [OutboxStateFilter, "topic"]
    search_fields = ["topic", "=aggregate"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the outbox grows without bound
    readonly_fields = ["payload_display", "done_handlers_display"]
    fieldsets = [
        (None, {"fields": ["topic", "aggregate", "payload_display", "created_at"]}),
        (
            "Delivery",
            {
                "fields": [
                    "available_at",
                    "claimed_until",
                    "attempts",
                    "done_handlers_display",
                    "dispatched_at",
                    "failed_at",
                    "last_error",
                ]
            },
        ),
    ]
    actions = ["dispatch_due_events", "retry_failed_events"]

    @admin.display(description="State")
    def state(self, event: OutboxEvent) -> str:
        if event.dispatched_at:
            return "dispatched"
        if event.failed_at:
            return "failed"
        if event.attempts:
            return "retrying"
        return "pending"

    @admin.display(description="Payload")
    def payload_display(self, event: OutboxEvent) -> str:
        return pretty_json(event.payload)

    @admin.display(description="Handlers done")
    def done_handlers_display(self, event: OutboxEvent) -> str:
        return ", ".join(event.done_handlers) or "-"

    def has_dispatch_permission(self, request: HttpRequest) -> bool:
        # The admin never edits events; the model's change permission is what
        # lets staff push delivery along.
        return request.user.has_perm("oms.change_outboxevent")

    @admin.action(description="Dispatch due events now", permissions=["dispatch"])
    def dispatch_due_events(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        # Delivers every due event, not only the selected ones: the dispatcher
        # claims its own batch so it never races the Celery workers.
        delivered = dispatch_pending()
        still_due = OutboxEvent.objects.filter(
            dispatched_at__isnull=True, failed_at__isnull=True, available_at__lte=timezone.now()
        ).count()
        self.message_user(
            request,
            f"Delivered {delivered} event(s); {still_due} due event(s) still waiting "
            "(in progress elsewhere, or their handlers failed and will be retried).",
            messages.SUCCESS if not still_due else messages.WARNING,
        )

    @admin.action(description="Retry failed events", permissions=["dispatch"])
    def retry_failed_events(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        retried = outbox_events_retry(event_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request, f"{retried} failed event(s) queued for another delivery attempt.", messages.SUCCESS
        )


@admin.register(PostalCode)
class PostalCodeAdmin(admin.ModelAdmin):
    """Postal-code centroids (loaded by `load_postal_codes`), used by routing
    and rating to place a destination that has no coordinates."""

    list_display = ["country", "postal_code", "place_name", "admin_name", "latitude", "longitude", "accuracy"]
    list_filter = ["country"]
    search_fields = ["=postal_code", "place_name"]
    show_full_result_count = False  # a full GeoNames load is millions of rows


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail of staff actions (oms.audit): read-only for everyone,
    the database itself refuses changes."""

    list_display = ["at", "username", "action", "method", "path", "target", "status", "address"]
    list_filter = ["action", "user", "at"]
    search_fields = ["path", "=username", "=target_id"]
    show_full_result_count = False  # the trail only grows
    fields = [
        "at",
        "user",
        "username",
        "roles",
        "action",
        "method",
        "path",
        "url_name",
        "target_type",
        "target_id",
        "status",
        "address",
        "user_agent",
        "submitted_display",
    ]
    readonly_fields = fields

    @admin.display(description="Target")
    def target(self, entry: AuditEntry) -> str:
        return f"{entry.target_label} {entry.target_id}".strip()

    @admin.display(description="Submitted")
    def submitted_display(self, entry: AuditEntry) -> str:
        return pretty_json(entry.submitted)


from . import admin_webhooks  # noqa: E402, F401 - outbound webhooks
