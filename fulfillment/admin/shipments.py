"""Fulfillment admin: shipments, their history and the carriers' scans,
read-only (the fulfillment services write them), with a "Mark as handed to
carrier" action that calls shipment_ship for each selected shipment."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from oms.actors import Actor
from oms.admin import IdSearchMixin, ReadOnlyAdminMixin, ReadOnlyTabularInline, admin_change_link
from oms.errors import DomainError
from orders.models import Order

from ..documents import label_pdf, packing_slip_pdf
from ..models import FulfillmentEvent, FulfillmentOrder, FulfillmentOrderLine, TrackingEvent
from ..shipping import shipment_ship
from ..shipping.selectors import carrier_tracking_url, shipments
from .printing import print_pdf


def _shipment_id(term: str) -> int | None:
    """'F00000042' (a shipment number) -> 42."""
    term = term.strip()
    if len(term) > 1 and term[0] in "fF" and term[1:].isdigit() and len(term) <= 19:
        return int(term[1:])
    return None


class FulfillmentOrderLineInline(ReadOnlyTabularInline):
    model = FulfillmentOrderLine
    fields = ["order_line", "sku", "quantity", "quantity_picked", "quantity_packed", "quantity_short"]
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[FulfillmentOrderLine]:
        return super().get_queryset(request).select_related("sku", "order_line")


class FulfillmentEventInline(ReadOnlyTabularInline):
    model = FulfillmentEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor_type", "actor_user", "message"]
    show_change_link = False
    ordering = ["id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FulfillmentEvent]:
        return super().get_queryset(request).select_related("actor_user")


class TrackingEventInline(ReadOnlyTabularInline):
    model = TrackingEvent
    fields = ["occurred_at", "status", "description", "location", "carrier_event_id", "received_at"]
    show_change_link = False
    ordering = ["occurred_at", "id"]


@admin.register(FulfillmentOrder)
class FulfillmentOrderAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "order_link",
        "warehouse",
        "method",
        "status",
        "service",
        "tracking_number",
        "ship_by",
        "promised_delivery",
        "shipped_at",
        "delivered_at",
    ]
    list_filter = ["status", "method", "warehouse", ("service__carrier", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["tracking_number"]
    # A whole-number search is an order number (the zero-padded order id).
    id_search_field = "order_id"
    inlines = [FulfillmentOrderLineInline, FulfillmentEventInline, TrackingEventInline]
    actions = ["mark_shipped", "print_labels", "print_packing_slips"]
    readonly_fields = ["number", "carrier_link"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FulfillmentOrder]:
        return shipments()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, duplicates = super().get_search_results(request, queryset, search_term)
        pk = _shipment_id(search_term)
        if pk is not None:
            results |= queryset.filter(pk=pk)
        return results, duplicates

    @admin.display(description="Shipment", ordering="id")
    def number(self, fo: FulfillmentOrder) -> str:
        return fo.number

    @admin.display(description="Order", ordering="order_id")
    def order_link(self, fo: FulfillmentOrder) -> str:
        return admin_change_link(Order, fo.order_id, Order(pk=fo.order_id).number)

    @admin.display(description="Carrier tracking page")
    def carrier_link(self, fo: FulfillmentOrder) -> str:
        url = carrier_tracking_url(fo)
        return format_html('<a href="{}" rel="noopener">{}</a>', url, url) if url else "-"

    def has_ship_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fulfillment.change_fulfillmentorder")

    @admin.action(description="Mark as handed to carrier", permissions=["ship"])
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[FulfillmentOrder]) -> None:
        actor = Actor.for_user(request.user)
        done = 0
        for pk in queryset.order_by("id").values_list("pk", flat=True):
            try:
                shipment_ship(fulfillment_order_id=pk, actor=actor)
            except DomainError as exc:
                self.message_user(request, f"{FulfillmentOrder(pk=pk).number}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} shipment(s) handed to the carrier.", messages.SUCCESS)

    @admin.action(description="Print shipping labels (PDF, 4 x 6 in)")
    def print_labels(self, request: HttpRequest, queryset: QuerySet[FulfillmentOrder]):
        return print_pdf(self, request, lambda: label_pdf(queryset.order_by("id")), "labels.pdf")

    @admin.action(description="Print packing slips (PDF)")
    def print_packing_slips(self, request: HttpRequest, queryset: QuerySet[FulfillmentOrder]):
        return print_pdf(
            self, request, lambda: packing_slip_pdf(queryset.order_by("id")), "packing-slips.pdf"
        )


@admin.register(FulfillmentEvent)
class FulfillmentEventAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "shipment", "kind", "from_status", "to_status", "actor_type", "message"]
    list_filter = ["kind", "to_status", "actor_type"]
    search_fields = ["kind", "message"]
    id_search_field = "fulfillment_order_id"
    list_select_related = ["actor_user"]

    @admin.display(description="Shipment", ordering="fulfillment_order_id")
    def shipment(self, event: FulfillmentEvent) -> str:
        fo_id = event.fulfillment_order_id
        return admin_change_link(FulfillmentOrder, fo_id, FulfillmentOrder(pk=fo_id).number)


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "shipment", "tracking_number", "status", "location", "received_at"]
    list_filter = ["status"]
    search_fields = ["fulfillment_order__tracking_number", "carrier_event_id", "location"]
    list_select_related = ["fulfillment_order"]
    date_hierarchy = "occurred_at"

    @admin.display(description="Shipment", ordering="fulfillment_order_id")
    def shipment(self, event: TrackingEvent) -> str:
        fo_id = event.fulfillment_order_id
        return admin_change_link(FulfillmentOrder, fo_id, FulfillmentOrder(pk=fo_id).number)

    @admin.display(description="Tracking number", ordering="fulfillment_order__tracking_number")
    def tracking_number(self, event: TrackingEvent) -> str:
        return event.fulfillment_order.tracking_number or "-"


@admin.register(FulfillmentOrderLine)
class FulfillmentOrderLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "fulfillment_order",
        "sku",
        "quantity",
        "quantity_picked",
        "quantity_packed",
        "quantity_short",
    ]
    list_select_related = ["fulfillment_order", "sku"]
    list_filter = ["fulfillment_order__status"]
    search_fields = ["=fulfillment_order__id", "sku__code"]
    raw_id_fields = ["fulfillment_order", "order_line", "sku"]
