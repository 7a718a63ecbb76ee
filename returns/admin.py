"""Returns admin: return policies are configuration (editable); return
requests, their lines and history, post-sale answers and follow-ups are
records the returns services write (read-only), moved along with admin
actions that call those services. Customer-service cases are the staff
queue: open first, with their status and assignee editable."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from customers.models import Customer
from oms.actors import Actor
from oms.admin import (
    IdSearchMixin,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    admin_change_link,
    format_money,
)
from oms.errors import DomainError
from orders.models import Order

from .api_cases import QUEUE_ORDER
from .models import (
    CustomerCase,
    DashboardDay,
    DashboardSales,
    FollowUp,
    PostSaleAnswer,
    ReturnEvent,
    ReturnLine,
    ReturnPolicy,
    ReturnRequest,
)
from .services import return_authorize, return_cancel

CANCEL_REASON = "Cancelled by staff in admin"


def _return_id(term: str) -> int | None:
    """'RMA00000012' (a return number) -> 12."""
    term = term.strip().upper()
    if term.startswith("RMA") and term[3:].isdigit() and len(term) <= 21:
        return int(term[3:])
    return None


def _order_link(obj: Model) -> str:
    return admin_change_link(Order, obj.order_id, f"{obj.order_id:08d}") if obj.order_id else "-"


# --- Policies ---------------------------------------------------------------------------


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "window_days",
        "restocking_fee_pct",
        "return_shipping_paid_by",
        "refund_original_shipping",
        "updated_at",
    ]
    list_filter = ["return_shipping_paid_by", "refund_original_shipping"]
    list_select_related = ["channel"]
    search_fields = ["channel__code", "channel__name"]
    filter_horizontal = ["locations"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["channel", "window_days", "instructions", "updated_at"]}),
        ("What cannot come back", {"fields": ["non_returnable_skus", "non_returnable_categories"]}),
        (
            "Money",
            {"fields": ["restocking_fee_pct", "return_shipping_paid_by", "refund_original_shipping"]},
        ),
        ("Where returns are taken (none chosen: every location)", {"fields": ["locations"]}),
    ]


# --- Return requests ----------------------------------------------------------------------


class ReturnLineInline(ReadOnlyTabularInline):
    model = ReturnLine
    fields = [
        "order_line",
        "sku",
        "quantity",
        "reason",
        "note",
        "quantity_received",
        "condition",
        "disposition",
    ]
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReturnLine]:
        return super().get_queryset(request).select_related("sku", "order_line__order")


class ReturnEventInline(ReadOnlyTabularInline):
    """The return's history: every status change and action, who and when."""

    model = ReturnEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor_type", "actor_user", "message"]
    verbose_name_plural = "history"
    show_change_link = False
    ordering = ["id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReturnEvent]:
        return super().get_queryset(request).select_related("actor_user")


@admin.register(ReturnRequest)
class ReturnRequestAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "order_link",
        "channel",
        "status",
        "resolution",
        "source",
        "location",
        "refunded",
        "created_at",
    ]
    list_filter = ["status", "resolution", "source", "channel", "location"]
    list_select_related = ["order", "channel", "location"]
    search_fields = ["order__email", "=label_tracking"]
    date_hierarchy = "created_at"
    inlines = [ReturnLineInline, ReturnEventInline]
    actions = ["authorize_returns", "cancel_returns"]
    readonly_fields = ["number", "order_link", "replacement_link", "fee", "shipping", "refunded"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "status",
                    "order_link",
                    "channel",
                    "customer",
                    "source",
                    "resolution",
                    "location",
                    "created_by",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        ("Customer and review", {"fields": ["customer_note", "review_reason", "label_tracking"]}),
        (
            "Money",
            {"fields": ["return_shipping_paid_by", "fee", "shipping", "refunded", "replacement_link"]},
        ),
        ("Progress", {"fields": ["received_at", "completed_at"]}),
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return_id = _return_id(search_term)
        if return_id is not None:
            results |= queryset.filter(pk=return_id)
        return results, may_have_duplicates

    @admin.display(description="Number", ordering="id")
    def number(self, request: ReturnRequest) -> str:
        return request.number

    @admin.display(description="Order", ordering="order")
    def order_link(self, request: ReturnRequest) -> str:
        return _order_link(request)

    @admin.display(description="Replacement order")
    def replacement_link(self, request: ReturnRequest) -> str:
        order_id = request.replacement_order_id
        return admin_change_link(Order, order_id, f"{order_id:08d}") if order_id else "-"

    @admin.display(description="Restocking fee")
    def fee(self, request: ReturnRequest) -> str:
        return format_money(request.restocking_fee, request.order.currency)

    @admin.display(description="Shipping refunded")
    def shipping(self, request: ReturnRequest) -> str:
        return format_money(request.shipping_refund, request.order.currency)

    @admin.display(description="Refunded", ordering="refund_total")
    def refunded(self, request: ReturnRequest) -> str:
        return format_money(request.refund_total, request.order.currency)

    def has_move_permission(self, request: HttpRequest) -> bool:
        # The change form stays off (returns move only through services); the
        # model's change permission is what lets staff act on them.
        return request.user.has_perm("returns.change_returnrequest")

    def _each(self, request: HttpRequest, queryset: QuerySet, act, done: str) -> None:
        # One service call (one short transaction) per return: one that cannot
        # move is reported and does not stop the others.
        moved = 0
        for return_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                act(return_id)
            except DomainError as exc:
                number = ReturnRequest(pk=return_id).number
                text = exc.message if number in exc.message else f"Return {number}: {exc.message}"
                messages.error(request, text)
            else:
                moved += 1
        if moved:
            messages.success(request, f"{done} {moved} return(s).")

    @admin.action(description="Authorize selected returns", permissions=["move"])
    def authorize_returns(self, request: HttpRequest, queryset: QuerySet[ReturnRequest]) -> None:
        actor = Actor.for_user(request.user)
        self._each(
            request,
            queryset,
            lambda pk: return_authorize(return_id=pk, actor=actor, message="Authorized by staff in admin"),
            "Authorized",
        )

    @admin.action(description="Cancel selected returns", permissions=["move"])
    def cancel_returns(self, request: HttpRequest, queryset: QuerySet[ReturnRequest]) -> None:
        actor = Actor.for_user(request.user)
        self._each(
            request,
            queryset,
            lambda pk: return_cancel(return_id=pk, actor=actor, reason=CANCEL_REASON),
            "Cancelled",
        )


@admin.register(ReturnLine)
class ReturnLineAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    id_search_field = "request_id"
    list_display = [
        "return_link",
        "sku",
        "quantity",
        "reason",
        "quantity_received",
        "condition",
        "disposition",
    ]
    list_display_links = ["sku"]
    list_filter = ["reason", "condition", "disposition"]
    list_select_related = ["sku"]
    search_fields = ["sku__code", "note"]

    @admin.display(description="Return", ordering="request")
    def return_link(self, line: ReturnLine) -> str:
        return admin_change_link(ReturnRequest, line.request_id, ReturnRequest(pk=line.request_id).number)


@admin.register(ReturnEvent)
class ReturnEventAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    id_search_field = "request_id"
    list_display = ["created_at", "return_link", "kind", "from_status", "to_status", "actor_type", "message"]
    list_display_links = ["created_at"]
    list_filter = ["kind", "actor_type", "to_status"]
    search_fields = ["message"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the history grows without bound

    @admin.display(description="Return", ordering="request")
    def return_link(self, event: ReturnEvent) -> str:
        return admin_change_link(ReturnRequest, event.request_id, ReturnRequest(pk=event.request_id).number)


# --- Post-sale ------------------------------------------------------------------------


class CaseQueueFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("todo", "Not resolved"),
            ("unassigned", "Not resolved, nobody on it"),
            ("mine", "Assigned to me"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        todo = queryset.exclude(status=CustomerCase.Status.RESOLVED)
        if self.value() == "todo":
            return todo
        if self.value() == "unassigned":
            return todo.filter(assigned_to__isnull=True)
        if self.value() == "mine":
            return queryset.filter(assigned_to=request.user)
        return queryset


@admin.register(CustomerCase)
class CustomerCaseAdmin(IdSearchMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "subject",
        "kind",
        "status",
        "customer_link",
        "order_link",
        "assigned_to",
        "created_at",
    ]
    list_display_links = ["id", "subject"]
    list_filter = [CaseQueueFilter, "status", "kind"]
    list_select_related = ["assigned_to"]
    search_fields = ["subject", "customer__email"]
    raw_id_fields = ["customer", "order"]
    date_hierarchy = "created_at"
    fields = [
        "subject",
        "kind",
        "status",
        "assigned_to",
        "customer",
        "order",
        "description",
        "created_at",
        "resolved_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerCase]:
        # Open first, then in progress, then resolved; the oldest first in each.
        queryset = self.model._default_manager.get_queryset().annotate(queue_rank=QUEUE_ORDER)
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["queue_rank", "created_at", "id"]

    def get_readonly_fields(self, request: HttpRequest, obj: CustomerCase | None = None) -> list[str]:
        if obj is None:
            return ["created_at", "resolved_at"]
        # What the customer reported stays as reported; staff work the status and who has it.
        return ["subject", "kind", "customer", "order", "description", "created_at", "resolved_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: CustomerCase | None = None) -> bool:
        return False  # resolve a case; its history stays

    def save_model(self, request: HttpRequest, obj: CustomerCase, form, change: bool) -> None:
        if obj.status == CustomerCase.Status.RESOLVED:
            obj.resolved_at = obj.resolved_at or timezone.now()
        else:
            obj.resolved_at = None
        super().save_model(request, obj, form, change)

    @admin.display(description="Customer", ordering="customer")
    def customer_link(self, case: CustomerCase) -> str:
        return admin_change_link(Customer, case.customer_id, f"customer {case.customer_id}")

    @admin.display(description="Order", ordering="order")
    def order_link(self, case: CustomerCase) -> str:
        return _order_link(case)


@admin.register(PostSaleAnswer)
class PostSaleAnswerAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    id_search_field = "order_id"
    list_display = ["order_link", "rating", "everything_arrived", "comment", "answered_at"]
    list_display_links = ["rating"]
    list_filter = ["rating", "everything_arrived"]
    search_fields = ["comment", "customer__email"]
    date_hierarchy = "answered_at"

    @admin.display(description="Order", ordering="order")
    def order_link(self, answer: PostSaleAnswer) -> str:
        return _order_link(answer)


class FollowUpSentFilter(admin.SimpleListFilter):
    title = "sent"
    parameter_name = "sent"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Sent"), ("no", "Not sent yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(sent_at__isnull=self.value() == "no")
        return queryset


@admin.register(FollowUp)
class FollowUpAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    id_search_field = "order_id"
    list_display = ["id", "order_link", "claimed_at", "sent_at"]
    list_filter = [FollowUpSentFilter]
    date_hierarchy = "claimed_at"

    @admin.display(description="Order", ordering="order")
    def order_link(self, follow_up: FollowUp) -> str:
        return _order_link(follow_up)


@admin.register(DashboardDay)
class DashboardDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The home dashboard's summary of closed days (filled by the hourly task)."""

    list_display = ["day", "base_currency", "units_shipped", "units_returned", "refreshed_at"]
    date_hierarchy = "day"


@admin.register(DashboardSales)
class DashboardSalesAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "channel", "currency", "orders", "revenue", "revenue_base", "unconverted"]
    list_filter = ["channel", "currency"]
    list_select_related = ["day", "channel"]
    date_hierarchy = "day__day"
