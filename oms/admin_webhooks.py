"""Admin for outbound webhooks: subscriptions (the secret is shown once, when
one is added) and the read-only delivery log with a replay action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .admin import ReadOnlyAdminMixin, pretty_json
from .errors import DomainError, InvalidInput
from .models_webhooks import WebhookDelivery, WebhookSubscription
from .webhooks import (
    EVENT_TYPES,
    webhook_replay,
    webhook_subscription_clean,
    webhook_subscription_create,
    webhook_subscription_update,
)


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "event_types", "is_active"]

    def clean(self) -> dict[str, Any]:
        # The service's rules, reported on the form rather than as an error page.
        data = super().clean()
        try:
            webhook_subscription_clean(**{k: data[k] for k in ("name", "url", "event_types") if k in data})
        except InvalidInput as exc:
            for field, problems in exc.fields.items():
                self.add_error(field if field in self.fields else None, problems)
        return data


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "event_list", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]

    @admin.display(description="Event types")
    def event_list(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.event_types)

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in ("name", "url", "event_types", "is_active")}
        if change:
            saved = webhook_subscription_update(subscription_id=obj.pk, **data)
        else:
            saved = webhook_subscription_create(**data)
            messages.warning(
                request,
                f"Signing secret of {saved.name}: {saved.secret} - give it to the subscriber now; "
                "it is not shown again.",
            )
        obj.pk = saved.pk


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "subscription",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type", "subscription"]
    list_select_related = ["subscription"]
    search_fields = ["=event_id"]
    show_full_result_count = False  # the log grows without bound
    readonly_fields = ["payload_display"]
    fields = [
        "subscription",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "payload_display",
    ]
    actions = ["replay"]

    @admin.display(description="Payload")
    def payload_display(self, delivery: WebhookDelivery) -> str:
        return pretty_json(delivery.payload)

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("oms.change_webhookdelivery")

    @admin.action(description="Replay selected failed deliveries", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        replayed, refused = 0, []
        for delivery_id in queryset.order_by("id").values_list("id", flat=True):
            try:
                webhook_replay(delivery_id=delivery_id)
            except DomainError as exc:
                refused.append(f"#{delivery_id}: {exc.message}")
            else:
                replayed += 1
        if replayed:
            self.message_user(request, f"Replaying {replayed} delivery(ies).", messages.SUCCESS)
        for problem in refused:
            self.message_user(request, problem, messages.WARNING)
