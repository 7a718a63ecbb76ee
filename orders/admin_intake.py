"""Admin for channel order intake: the deliveries (read-only, retried or
rejected through orders.integrations.services) and each channel's platform
integration with its webhook secret, which is write-only here."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from oms.actors import Actor
from oms.admin import IdSearchMixin, ReadOnlyAdminMixin, admin_change_link, pretty_json
from oms.errors import DomainError

from .integrations.services import inbound_order_reject, inbound_order_retry
from .models import ChannelIntegration, InboundOrder, Order


@admin.register(InboundOrder)
class InboundOrderAdmin(IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "channel",
        "platform",
        "external_id",
        "status",
        "reason",
        "order_link",
        "created_at",
    ]
    list_filter = ["status", "platform", "channel"]
    list_select_related = ["channel"]
    search_fields = ["=external_id", "reason"]
    date_hierarchy = "created_at"
    readonly_fields = ["order_link", "problems_display", "payload_display"]
    fields = [
        "channel",
        "platform",
        "external_id",
        "status",
        "reason",
        "problems_display",
        "order_link",
        "deliveries",
        "attempts",
        "created_at",
        "updated_at",
        "payload_display",
    ]
    actions = ["retry", "reject"]

    @admin.display(description="Order", ordering="order")
    def order_link(self, inbound: InboundOrder) -> str:
        return admin_change_link(
            Order, inbound.order_id, f"{inbound.order_id:08d}" if inbound.order_id else ""
        )

    @admin.display(description="Problems")
    def problems_display(self, inbound: InboundOrder) -> str:
        return pretty_json(inbound.problems) if inbound.problems else "-"

    @admin.display(description="Payload as received")
    def payload_display(self, inbound: InboundOrder) -> str:
        return pretty_json(inbound.payload)

    def has_act_permission(self, request: HttpRequest) -> bool:
        # The change form stays off (deliveries are what the platform sent); the
        # change permission is what lets staff act on them.
        return request.user.has_perm("orders.change_inboundorder")

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[InboundOrder],
        act: Callable[..., InboundOrder],
        done: str,
    ) -> None:
        actor = Actor.for_user(request.user)
        outcomes: dict[str, int] = {}
        # One service call each: one that cannot move is reported and does not stop the others.
        for pk, external_id in queryset.order_by("pk").values_list("pk", "external_id"):
            try:
                inbound = act(inbound_order_id=pk, actor=actor)
            except DomainError as exc:
                messages.error(request, f"{external_id}: {exc.message}")
                continue
            outcomes[inbound.status] = outcomes.get(inbound.status, 0) + 1
            if inbound.status == InboundOrder.Status.HELD:
                messages.warning(request, f"{external_id} is still held: {inbound.reason}")
        if outcomes:
            summary = ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items()))
            messages.success(request, f"{done}: {summary}.")

    @admin.action(description="Retry placing the selected held orders", permissions=["act"])
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundOrder]) -> None:
        self._each(request, queryset, inbound_order_retry, "Retried")

    @admin.action(description="Reject the selected held orders (never place them)", permissions=["act"])
    def reject(self, request: HttpRequest, queryset: QuerySet[InboundOrder]) -> None:
        self._each(request, queryset, inbound_order_reject, "Rejected")


class ChannelIntegrationForm(forms.ModelForm):
    webhook_secret = forms.CharField(
        required=False,
        max_length=255,
        widget=forms.PasswordInput(render_value=False),
        help_text="Shopify: the app's client secret; WooCommerce: the webhook's secret. "
        "Leave blank to keep the current one.",
    )

    class Meta:
        model = ChannelIntegration
        fields = ["channel", "platform", "webhook_secret", "is_active"]

    def clean_webhook_secret(self) -> str:
        # Never shown back, so a blank field means "unchanged".
        return self.cleaned_data["webhook_secret"] or (
            self.instance.webhook_secret if self.instance.pk else ""
        )


@admin.register(ChannelIntegration)
class ChannelIntegrationAdmin(admin.ModelAdmin):
    form = ChannelIntegrationForm
    list_display = ["channel", "platform", "is_active", "has_secret", "updated_at"]
    list_filter = ["platform", "is_active"]
    list_select_related = ["channel"]
    search_fields = ["channel__code", "channel__name"]

    @admin.display(description="Secret set", boolean=True)
    def has_secret(self, integration: ChannelIntegration) -> bool:
        return bool(integration.webhook_secret)
