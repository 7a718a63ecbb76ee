"""Prices and tax rates are configuration; carts, orders, payments and their
history are records.

An order's status moves only through orders.services (which checks the
transition, moves the stock, voids the payment and writes the event), so the
order admins are read-only and staff act on orders with admin actions that
call those services.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from customers.models import Customer
from inventory.models import Reservation
from oms.actors import Actor
from oms.admin import (
    IdSearchMixin,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    admin_change_link,
    format_money,
    pretty_json,
)
from oms.errors import DomainError
from oms.money import has_valid_precision

from .admin_staff_order import staff_order_urls
from .models import (
    Cart,
    CartLine,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentTransaction,
    PriceListEntry,
    TaxRate,
)
from .services import order_cancel

CANCEL_REASON = "Cancelled by staff in admin"


def money_column(field: str, description: str, currency: Callable[[Any], str]) -> Callable[[Any, Any], str]:
    """An admin column (list or view page) showing an amount rounded to the row's currency."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: Any, obj: Any) -> str:
        return format_money(getattr(obj, field), currency(obj))

    return column


def format_address(address: dict | None) -> str:
    if not address:
        return "-"
    city = " ".join(str(address[k]) for k in ("postal_code", "city", "region") if address.get(k))
    lines = [address.get(k) for k in ("name", "company", "line1", "line2") if address.get(k)] + [
        part for part in (city, address.get("country"), address.get("phone")) if part
    ]
    return format_html_join("", "{}<br>", ((line,) for line in lines))


def event_actor(event: OrderEvent) -> str:
    if event.actor_type == OrderEvent.Actor.STAFF and event.actor_user is not None:
        return f"staff {event.actor_user.get_username()}"
    if event.actor_type == OrderEvent.Actor.CHANNEL and event.actor_channel is not None:
        return f"channel {event.actor_channel.code}"
    return event.get_actor_type_display()


# --- Configuration: prices and taxes ------------------------------------------


class PriceListEntryForm(forms.ModelForm):
    def clean(self) -> dict:
        cleaned = super().clean()
        channel = cleaned.get("channel")
        if channel is None:
            return cleaned
        for name in ("unit_price", "compare_at_price"):
            amount = cleaned.get(name)
            if amount is not None and not has_valid_precision(amount, channel.currency):
                self.add_error(name, f"Has more decimals than {channel.currency} allows.")
        return cleaned


@admin.register(PriceListEntry)
class PriceListEntryAdmin(admin.ModelAdmin):
    form = PriceListEntryForm
    list_display = ["sku", "channel", "price", "compare_at", "updated_at"]
    list_filter = ["channel"]
    list_select_related = ["sku", "channel"]
    search_fields = ["sku__code", "sku__name", "sku__barcode"]
    autocomplete_fields = ["channel", "sku"]
    readonly_fields = ["updated_at"]

    price = money_column("unit_price", "Unit price", lambda entry: entry.channel.currency)
    compare_at = money_column("compare_at_price", "Compare at", lambda entry: entry.channel.currency)


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "region", "rate_percent", "applies_to_shipping"]
    list_filter = ["country", "applies_to_shipping"]
    search_fields = ["name", "=country", "region"]

    @admin.display(description="Rate", ordering="rate")
    def rate_percent(self, rate: TaxRate) -> str:
        percent = format(rate.rate * 100, "f").rstrip("0").rstrip(".")
        return f"{percent}%"


# --- Carts -----------------------------------------------------------------------


class UUIDSearchMixin:
    """A search term that is a UUID matches `public_id` exactly."""

    uuid_search_field = "public_id"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        try:
            public_id = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(**{self.uuid_search_field: public_id}), may_have_duplicates


class CartLineInline(ReadOnlyTabularInline):
    model = CartLine
    fields = ["sku", "quantity", "unit_price", "reservation", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CartLine]:
        return super().get_queryset(request).select_related("sku", "reservation")


@admin.register(Cart)
class CartAdmin(UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "public_id",
        "channel",
        "status",
        "email",
        "customer",
        "line_count",
        "expires_at",
        "abandoned_at",
        "order_link",
        "created_at",
    ]
    list_filter = ["status", "channel"]
    list_select_related = ["channel", "customer"]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    inlines = [CartLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cart]:
        return super().get_queryset(request).annotate(line_total=Count("lines"))

    @admin.display(description="Lines", ordering="line_total")
    def line_count(self, cart: Cart) -> int:
        return cart.line_total

    @admin.display(description="Order", ordering="order")
    def order_link(self, cart: Cart) -> str:
        return admin_change_link(Order, cart.order_id, f"{cart.order_id:08d}" if cart.order_id else "")


@admin.register(CartLine)
class CartLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "cart", "sku", "quantity", "price", "reservation_link", "created_at"]
    list_select_related = ["cart", "sku"]
    list_filter = ["cart__status", "cart__channel"]
    search_fields = ["sku__code", "cart__email"]

    price = money_column("unit_price", "Unit price", lambda line: line.cart.currency)

    @admin.display(description="Reservation")
    def reservation_link(self, line: CartLine) -> str:
        return admin_change_link(Reservation, line.reservation_id, line.reservation_id)


# --- Orders ---------------------------------------------------------------------


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = [
        "line_number",
        "sku",
        "quantity",
        "price",
        "line_discount",
        "tax",
        "total",
        "warehouse",
        "quantity_allocated",
        "quantity_shipped",
        "quantity_cancelled",
    ]

    price = money_column("unit_price", "Unit price", lambda line: line.order.currency)
    line_discount = money_column("discount", "Discount", lambda line: line.order.currency)
    tax = money_column("tax_amount", "Tax", lambda line: line.order.currency)
    total = money_column("line_total", "Line total", lambda line: line.order.currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("order", "sku", "warehouse")


class OrderEventInline(ReadOnlyTabularInline):
    """The order's history: every status change and action, who and when."""

    model = OrderEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "message"]
    verbose_name_plural = "history"

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor_user", "actor_channel")

    @admin.display(description="By")
    def actor(self, event: OrderEvent) -> str:
        return event_actor(event)


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ["gateway", "reference", "brand", "last4", "status", "authorized", "captured", "refunded"]

    authorized = money_column("amount_authorized", "Authorized", lambda p: p.currency)
    captured = money_column("amount_captured", "Captured", lambda p: p.currency)
    refunded = money_column("amount_refunded", "Refunded", lambda p: p.currency)


@admin.register(Order)
class OrderAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "number",
        "channel",
        "status",
        "customer_email",
        "total",
        "currency",
        "placed_at",
        "flags",
    ]
    list_display_links = ["id", "number"]
    list_filter = ["status", "channel", "is_vip", "is_gift", "is_replacement", "source"]
    list_select_related = ["channel"]
    search_fields = ["=external_id", "email", "=special_code"]
    date_hierarchy = "placed_at"
    readonly_fields = [
        "number",
        "payment_terms_days",
        "subtotal_amount",
        "discount_amount",
        "shipping_amount",
        "tax_amount",
        "total",
        "shipping_address_display",
        "billing_address_display",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "status",
                    "channel",
                    "source",
                    "external_id",
                    "customer",
                    "email",
                    "placed_at",
                    "cancelled_at",
                    "created_by",
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
                    "payment_terms_days",
                ]
            },
        ),
        (
            "Delivery",
            {"fields": ["shipping_address_display", "billing_address_display", "ship_country", "warehouse"]},
        ),
        (
            "Special order",
            {"fields": ["is_vip", "is_gift", "gift_message", "is_replacement", "special_code", "priority"]},
        ),
        ("Notes", {"fields": ["hold_reason", "notes", "updated_at"]}),
    ]
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]

    def get_urls(self) -> list:
        return [*staff_order_urls(self.admin_site, self.opts), *super().get_urls()]

    actions = ["cancel_orders"]

    subtotal_amount = money_column("subtotal", "Subtotal", lambda order: order.currency)
    discount_amount = money_column("discount_total", "Discounts", lambda order: order.currency)
    shipping_amount = money_column("shipping_total", "Shipping", lambda order: order.currency)
    tax_amount = money_column("tax_total", "Tax", lambda order: order.currency)
    total = money_column("grand_total", "Grand total", lambda order: order.currency)

    @admin.display(description="Number", ordering="id")
    def number(self, order: Order) -> str:
        return order.number

    @admin.display(description="Customer e-mail", ordering="email")
    def customer_email(self, order: Order) -> str:
        return admin_change_link(Customer, order.customer_id, order.email)

    @admin.display(description="Flags")
    def flags(self, order: Order) -> str | None:
        labels = [
            label
            for flag, label in (("is_vip", "VIP"), ("is_gift", "gift"), ("is_replacement", "replacement"))
            if getattr(order, flag)
        ]
        if not labels:
            return None
        return f"{', '.join(labels)} ({order.special_code})" if order.special_code else ", ".join(labels)

    @admin.display(description="Shipping address")
    def shipping_address_display(self, order: Order) -> str:
        return format_address(order.shipping_address)

    @admin.display(description="Billing address")
    def billing_address_display(self, order: Order) -> str:
        return format_address(order.billing_address)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        # The change form stays off (orders move only through services); the
        # model's change permission is what lets staff cancel through order_cancel.
        return request.user.has_perm("orders.change_order")

    @admin.action(description="Cancel selected orders", permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        actor = Actor.for_user(request.user)
        cancelled = 0
        # One service call (one short transaction) per order: an order that
        # cannot be cancelled is reported and does not stop the others.
        for order_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                order_cancel(order_id=order_id, actor=actor, reason=CANCEL_REASON)
            except DomainError as exc:
                number = Order(pk=order_id).number
                text = exc.message if number in exc.message else f"Order {number}: {exc.message}"
                messages.error(request, text)
            else:
                cancelled += 1
        if cancelled:
            messages.success(request, f"Cancelled {cancelled} order(s).")


@admin.register(OrderLine)
class OrderLineAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    id_search_field = "order_id"
    list_display = [
        "order_link",
        "line_number",
        "sku",
        "quantity",
        "price",
        "total",
        "warehouse",
        "quantity_allocated",
        "quantity_shipped",
        "quantity_cancelled",
    ]
    list_display_links = ["line_number"]
    list_filter = ["warehouse"]
    list_select_related = ["order", "sku", "warehouse"]
    search_fields = ["sku__code", "=external_id"]

    price = money_column("unit_price", "Unit price", lambda line: line.order.currency)
    total = money_column("line_total", "Line total", lambda line: line.order.currency)

    @admin.display(description="Order", ordering="order")
    def order_link(self, line: OrderLine) -> str:
        return admin_change_link(Order, line.order_id, f"{line.order_id:08d}")


@admin.register(OrderEvent)
class OrderEventAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    id_search_field = "order_id"
    list_display = ["created_at", "order_link", "kind", "from_status", "to_status", "actor", "message"]
    list_display_links = ["created_at"]
    list_filter = ["kind", "actor_type", "to_status"]
    list_select_related = ["actor_user", "actor_channel"]
    search_fields = ["message"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the history grows without bound
    readonly_fields = ["data_display"]
    fields = [
        "order",
        "kind",
        "from_status",
        "to_status",
        "actor_type",
        "actor_user",
        "actor_channel",
        "message",
        "data_display",
        "created_at",
    ]

    @admin.display(description="Order", ordering="order")
    def order_link(self, event: OrderEvent) -> str:
        return admin_change_link(Order, event.order_id, f"{event.order_id:08d}")

    @admin.display(description="By")
    def actor(self, event: OrderEvent) -> str:
        return event_actor(event)

    @admin.display(description="Data")
    def data_display(self, event: OrderEvent) -> str:
        return pretty_json(event.data)


# --- Payments -------------------------------------------------------------------


class PaymentTransactionInline(ReadOnlyTabularInline):
    model = PaymentTransaction
    fk_name = "payment"
    fields = ["created_at", "kind", "amount_display", "currency", "success", "gateway_reference", "message"]

    amount_display = money_column("amount", "Amount", lambda t: t.currency)


@admin.register(Payment)
class PaymentAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    id_search_field = "order_id"
    list_display = [
        "id",
        "order_link",
        "gateway",
        "reference",
        "brand",
        "last4",
        "status",
        "authorized",
        "captured",
        "refunded",
        "currency",
        "created_at",
    ]
    list_filter = ["status", "gateway", "currency"]
    search_fields = ["=reference", "=last4"]
    date_hierarchy = "created_at"
    fields = [
        "order",
        "gateway",
        "reference",
        "token",
        "brand",
        "last4",
        "status",
        "currency",
        "authorized",
        "captured",
        "refunded",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["authorized", "captured", "refunded"]
    inlines = [PaymentTransactionInline]

    authorized = money_column("amount_authorized", "Authorized", lambda p: p.currency)
    captured = money_column("amount_captured", "Captured", lambda p: p.currency)
    refunded = money_column("amount_refunded", "Refunded", lambda p: p.currency)

    @admin.display(description="Order", ordering="order")
    def order_link(self, payment: Payment) -> str:
        return admin_change_link(Order, payment.order_id, f"{payment.order_id:08d}")


@admin.register(PaymentTransaction)
class PaymentTransactionAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    id_search_field = "order_id"
    list_display = [
        "created_at",
        "kind",
        "payment_link",
        "order_link",
        "amount_display",
        "currency",
        "success",
        "gateway_reference",
        "message",
    ]
    list_display_links = ["created_at"]
    list_filter = ["kind", "success"]
    search_fields = ["=gateway_reference"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    amount_display = money_column("amount", "Amount", lambda t: t.currency)

    @admin.display(description="Payment", ordering="payment")
    def payment_link(self, txn: PaymentTransaction) -> str:
        return admin_change_link(Payment, txn.payment_id, txn.payment_id)

    @admin.display(description="Order", ordering="order")
    def order_link(self, txn: PaymentTransaction) -> str:
        return admin_change_link(Order, txn.order_id, f"{txn.order_id:08d}" if txn.order_id else "")


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "channel", "order_link", "created_at"]
    list_filter = ["channel"]
    list_select_related = ["channel"]
    search_fields = ["=key"]
    date_hierarchy = "created_at"

    @admin.display(description="Order", ordering="order")
    def order_link(self, key: IdempotencyKey) -> str:
        return admin_change_link(Order, key.order_id, f"{key.order_id:08d}" if key.order_id else "")


from . import admin_intake  # noqa: E402, F401, I001  (registers the channel intake admins)
from . import admin_quotes  # noqa: E402, F401  (registers the quote admins)
