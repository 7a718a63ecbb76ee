"""Sourcing admin: the policies and order rules staff edit, the decision
record of every run, and on the order page its decisions and shipments with
a "re-run sourcing" action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from oms.actors import Actor
from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from oms.errors import DomainError
from orders.models import Order

from ..models import FulfillmentOrder, LocationPolicy, RoutingRule, SourcingDecision, SourcingPolicy
from ..sourcing.services import order_source


@admin.register(SourcingPolicy)
class SourcingPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "max_shipments",
        "split_penalty",
        "cost_per_100km",
        "ship_from_store",
        "store_penalty",
        "store_safety_stock",
    ]
    list_select_related = ["channel"]
    search_fields = ["channel__code", "channel__name"]


@admin.register(LocationPolicy)
class LocationPolicyAdmin(admin.ModelAdmin):
    list_display = ["warehouse", "cutoff_time", "daily_capacity", "priority", "works_weekends"]
    list_filter = ["works_weekends"]
    list_select_related = ["warehouse"]
    search_fields = ["warehouse__code", "warehouse__name"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "sequence", "action", "is_active", "stop", "updated_at"]
    list_editable = ["sequence", "is_active"]
    list_filter = ["is_active", "action"]
    search_fields = ["name", "hold_reason"]
    filter_horizontal = ["channels", "locations"]
    fieldsets = [
        (None, {"fields": ["name", "sequence", "is_active", "stop"]}),
        (
            "When (every condition set must match; empty means any)",
            {
                "fields": [
                    "channels",
                    "min_order_value",
                    "max_order_value",
                    "countries",
                    "postal_prefixes",
                    "customer_tag",
                    "sku_codes",
                    "flag",
                ]
            },
        ),
        ("Then", {"fields": ["action", "hold_reason", "priority", "locations", "max_shipments"]}),
    ]


def candidates_table(decision: SourcingDecision) -> str:
    """The candidates of a run as an HTML table: location or plan, score, why it lost."""
    rows = [
        (
            c.get("location") or c.get("plan", ""),
            c.get("outcome", ""),
            c.get("score", ""),
            c.get("reason", ""),
        )
        for c in decision.candidates
    ]
    if not rows:
        return "—"
    body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
    return format_html(
        "<table><thead><tr><th>Candidate</th><th>Outcome</th><th>Score</th><th>Why</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        body,
    )


@admin.register(SourcingDecision)
class SourcingDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "outcome", "summary", "total_cost", "trigger", "actor_user"]
    list_filter = ["outcome", "trigger"]
    list_select_related = ["order", "actor_user"]
    search_fields = ["=order__id", "summary"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = ["candidates_display"]
    fields = [
        "order",
        "outcome",
        "summary",
        "total_cost",
        "trigger",
        "actor_user",
        "created_at",
        "candidates_display",
        "chosen",
        "rules_fired",
    ]

    @admin.display(description="Candidates")
    def candidates_display(self, decision: SourcingDecision) -> str:
        return candidates_table(decision)


class SourcingDecisionInline(ReadOnlyTabularInline):
    model = SourcingDecision
    fields = ["created_at", "outcome", "summary", "trigger", "candidates_display"]
    readonly_fields = ["candidates_display"]
    verbose_name_plural = "routing decisions"
    ordering = ["-id"]

    @admin.display(description="Candidates and why they lost")
    def candidates_display(self, decision: SourcingDecision) -> str:
        return candidates_table(decision)


class FulfillmentOrderInline(ReadOnlyTabularInline):
    model = FulfillmentOrder
    fields = ["number", "warehouse", "method", "status", "service", "ship_by", "tracking_number"]
    readonly_fields = ["number"]
    verbose_name_plural = "shipments"

    def get_queryset(self, request: HttpRequest) -> QuerySet[FulfillmentOrder]:
        return super().get_queryset(request).select_related("warehouse", "service__carrier")


# The order page shows its routing: the orders app knows nothing of
# fulfillment, so its admin is extended here rather than edited there.
_OrderAdmin = type(admin.site._registry[Order])
admin.site.unregister(Order)


@admin.register(Order)
class OrderWithRoutingAdmin(_OrderAdmin):
    inlines = [*_OrderAdmin.inlines, FulfillmentOrderInline, SourcingDecisionInline]
    actions = [*_OrderAdmin.actions, "rerun_sourcing", "release_and_source"]

    def has_source_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.change_order")

    @admin.action(description="Re-run sourcing", permissions=["source"])
    def rerun_sourcing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._source(request, queryset, ignore_holds=False)

    @admin.action(description="Release hold and source", permissions=["source"])
    def release_and_source(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._source(request, queryset, ignore_holds=True)

    def _source(self, request: HttpRequest, queryset: QuerySet[Order], *, ignore_holds: bool) -> None:
        actor = Actor.for_user(request.user)
        done = 0
        for order_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                decision = order_source(
                    order_id=order_id, actor=actor, trigger="staff", ignore_holds=ignore_holds
                )
            except DomainError as exc:
                messages.error(request, f"Order {Order(pk=order_id).number}: {exc.message}")
            else:
                done += 1
                if decision is not None:
                    messages.info(request, f"Order {Order(pk=order_id).number}: {decision.summary}")
        if done:
            messages.success(request, f"Sourced {done} order(s).")
