"""Admin for B2B quotes. Quotes are created through the API (priced by the
placement's own pricing) and move only through orders.services.quotes, so
the pages are read-only and staff send, accept or reject them with actions
that call those services."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from customers.models import Customer
from oms.actors import Actor
from oms.admin import IdSearchMixin, ReadOnlyAdminMixin, ReadOnlyTabularInline, admin_change_link
from oms.errors import DomainError

from .admin import event_actor, format_address, money_column
from .models import Order, Quote, QuoteEvent, QuoteLine
from .services.quotes import quote_accept, quote_reject, quote_send


class QuoteLineInline(ReadOnlyTabularInline):
    model = QuoteLine
    fields = ["line_number", "sku", "quantity", "price", "line_discount", "tax", "total"]

    price = money_column("unit_price", "Unit price", lambda line: line.quote.currency)
    line_discount = money_column("discount", "Discount", lambda line: line.quote.currency)
    tax = money_column("tax_amount", "Tax", lambda line: line.quote.currency)
    total = money_column("line_total", "Line total", lambda line: line.quote.currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[QuoteLine]:
        return super().get_queryset(request).select_related("quote", "sku")


class QuoteEventInline(ReadOnlyTabularInline):
    model = QuoteEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "message"]
    verbose_name_plural = "history"

    def get_queryset(self, request: HttpRequest) -> QuerySet[QuoteEvent]:
        return super().get_queryset(request).select_related("actor_user", "actor_channel")

    @admin.display(description="By")
    def actor(self, event: QuoteEvent) -> str:
        return event_actor(event)  # type: ignore[arg-type]


@admin.register(Quote)
class QuoteAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "channel", "customer_link", "status", "total", "valid_until", "order_link"]
    list_filter = ["status", "channel"]
    list_select_related = ["channel", "customer"]
    search_fields = ["=number", "customer__email", "customer__company"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "subtotal_amount",
        "discount_amount",
        "shipping_amount",
        "tax_amount",
        "total",
        "shipping_address_display",
        "billing_address_display",
        "order_link",
        "pdf_link",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "status",
                    "channel",
                    "customer",
                    "valid_until",
                    "order_link",
                    "pdf_link",
                    "created_by",
                    "created_at",
                ]
            },
        ),
        (
            "Totals",
            {
                "fields": [
                    "currency",
                    "subtotal_amount",
                    "discount_amount",
                    "shipping_amount",
                    "tax_amount",
                    "total",
                    "prices_include_tax",
                ]
            },
        ),
        ("Addresses", {"fields": ["shipping_address_display", "billing_address_display"]}),
        (
            "History",
            {"fields": ["sent_at", "accepted_at", "rejected_at", "rejection_reason", "expired_at", "notes"]},
        ),
    ]
    inlines = [QuoteLineInline, QuoteEventInline]
    actions = ["send_quotes", "accept_quotes", "reject_quotes"]

    subtotal_amount = money_column("subtotal", "Subtotal", lambda quote: quote.currency)
    discount_amount = money_column("discount_total", "Discounts", lambda quote: quote.currency)
    shipping_amount = money_column("shipping_total", "Shipping", lambda quote: quote.currency)
    tax_amount = money_column("tax_total", "Tax", lambda quote: quote.currency)
    total = money_column("grand_total", "Total", lambda quote: quote.currency)

    @admin.display(description="Customer", ordering="customer__email")
    def customer_link(self, quote: Quote) -> str:
        return admin_change_link(Customer, quote.customer_id, quote.customer.email)

    @admin.display(description="Order", ordering="order")
    def order_link(self, quote: Quote) -> str:
        return admin_change_link(Order, quote.order_id, f"{quote.order_id:08d}" if quote.order_id else "")

    @admin.display(description="PDF")
    def pdf_link(self, quote: Quote) -> str:
        return format_html(
            '<a href="{}">quote-{}.pdf</a>', reverse("quote-pdf", args=[quote.pk]), quote.number
        )

    @admin.display(description="Shipping address")
    def shipping_address_display(self, quote: Quote) -> str:
        return format_address(quote.shipping_address)

    @admin.display(description="Billing address")
    def billing_address_display(self, quote: Quote) -> str:
        return format_address(quote.billing_address)

    def has_act_permission(self, request: HttpRequest) -> bool:
        # The change form stays off (quotes move only through services); the
        # change permission is what lets staff act on them.
        return request.user.has_perm("orders.change_quote")

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Quote], act: Callable[..., object], done: str
    ) -> None:
        actor = Actor.for_user(request.user)
        count = 0
        # One service call per quote: one that cannot move is reported and
        # does not stop the others.
        for quote_id, number in queryset.order_by("pk").values_list("pk", "number"):
            try:
                act(quote_id=quote_id, actor=actor)
            except DomainError as exc:
                messages.error(
                    request, exc.message if number in exc.message else f"Quote {number}: {exc.message}"
                )
            else:
                count += 1
        if count:
            messages.success(request, f"{done} {count} quote(s).")

    @admin.action(description="Send selected quotes to the customer", permissions=["act"])
    def send_quotes(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        self._each(request, queryset, quote_send, "Sent")

    @admin.action(description="Accept selected quotes (place the orders on account)", permissions=["act"])
    def accept_quotes(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        self._each(request, queryset, quote_accept, "Accepted")

    @admin.action(description="Mark selected quotes as rejected by the customer", permissions=["act"])
    def reject_quotes(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        self._each(request, queryset, quote_reject, "Rejected")


@admin.register(QuoteLine)
class QuoteLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["quote", "line_number", "sku", "quantity", "price", "total"]
    list_display_links = ["line_number"]
    list_select_related = ["quote", "sku"]
    search_fields = ["sku__code", "=quote__number"]

    price = money_column("unit_price", "Unit price", lambda line: line.quote.currency)
    total = money_column("line_total", "Line total", lambda line: line.quote.currency)


@admin.register(QuoteEvent)
class QuoteEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "quote", "kind", "from_status", "to_status", "actor", "message"]
    list_display_links = ["created_at"]
    list_filter = ["kind", "actor_type", "to_status"]
    list_select_related = ["quote", "actor_user", "actor_channel"]
    search_fields = ["message", "=quote__number"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="By")
    def actor(self, event: QuoteEvent) -> str:
        return event_actor(event)  # type: ignore[arg-type]
