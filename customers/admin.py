"""Customer service's view of customers and their addresses.

Customers are editable, but saves go through customers.services so that an
e-mail is normalized and unique per channel however it was entered (order
intake finds a returning customer by that normalized e-mail).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import F, Func, QuerySet
from django.http import HttpRequest

from oms.admin import admin_changelist_link

from .models import Address, Consent, Contact, Customer, CustomerMetrics
from .services import customer_create, customer_update, normalize_email


class CustomerForm(forms.ModelForm):
    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])

    def clean(self) -> dict:
        cleaned = super().clean()
        email = cleaned.get("email")
        if email and "email" not in self.errors:
            # Also catches a duplicate without a channel, which the database's
            # unique constraint lets through (NULLs are distinct) but the service refuses.
            clash = Customer.objects.filter(channel=cleaned.get("channel"), email=email).exclude(
                pk=self.instance.pk
            )
            if clash.exists():
                self.add_error("email", "Another customer of this channel has this e-mail.")
        return cleaned


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        tags = (
            Customer.objects.annotate(tag=Func(F("tags"), function="unnest"))
            .values_list("tag", flat=True)
            .distinct()
            .order_by("tag")[:200]
        )
        return [(tag, tag) for tag in tags]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(tags__contains=[self.value()])
        return queryset


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = [
        ("name", "company"),
        ("line1", "line2"),
        ("city", "region", "postal_code", "country"),
        "phone",
        ("latitude", "longitude"),
        ("is_default_shipping", "is_default_billing"),
    ]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "email", "phone", "role", "is_primary"]


class ConsentInline(admin.TabularInline):
    """The consent history: answers are added (newest counts), never edited."""

    model = Consent
    extra = 0
    fields = ["purpose", "granted", "source", "recorded_at"]
    readonly_fields = ["recorded_at"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


METRIC_FIELDS = [
    "segment",
    "revenue",
    "margin",
    "order_count",
    "average_order_value",
    "return_rate",
    "last_order_at",
    "refreshed_at",
]


class CustomerMetricsInline(admin.StackedInline):
    """Value metrics, refreshed by a beat task (read-only)."""

    model = CustomerMetrics
    can_delete = False
    extra = 0
    max_num = 0
    fields = METRIC_FIELDS
    readonly_fields = METRIC_FIELDS


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = ["email", "full_name", "phone", "company", "channel", "is_vip", "tag_list", "created_at"]
    list_filter = ["channel", "is_vip", TagFilter]
    list_select_related = ["channel"]
    search_fields = ["email", "first_name", "last_name", "phone", "company", "=external_id"]
    autocomplete_fields = ["channel"]
    readonly_fields = ["orders_link", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {"fields": ["channel", "external_id", "email", ("first_name", "last_name"), "phone", "company"]},
        ),
        ("Service", {"fields": ["is_vip", "tags", "notes", "orders_link"]}),
        ("B2B account", {"fields": ["payment_terms_days", "credit_limit"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [CustomerMetricsInline, AddressInline, ContactInline, ConsentInline]

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, customer: Customer) -> str:
        return customer.full_name

    @admin.display(description="Tags")
    def tag_list(self, customer: Customer) -> str:
        return ", ".join(customer.tags)

    @admin.display(description="Orders")
    def orders_link(self, customer: Customer) -> str:
        if customer.pk is None:
            return "-"
        from orders.models import Order  # orders depends on customers, not the reverse

        return admin_changelist_link(Order, "This customer's orders", customer__id__exact=customer.pk)

    def save_model(self, request: HttpRequest, obj: Customer, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            customer_update(customer=obj, **{name: data[name] for name in form.changed_data})
            return
        profile = {name: value for name, value in data.items() if name not in ("channel", "email")}
        created = customer_create(channel=data.get("channel"), email=data["email"], **profile)
        # The admin goes on with `obj` (address inlines, log entry, redirect):
        # make it the row the service created.
        obj.pk = created.pk
        obj.created_at, obj.updated_at = created.created_at, created.updated_at
        obj._state.adding = False
        obj._state.db = created._state.db


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "customer",
        "line1",
        "city",
        "postal_code",
        "country",
        "is_default_shipping",
        "is_default_billing",
    ]
    list_filter = ["country", "is_default_shipping", "is_default_billing"]
    list_select_related = ["customer"]
    search_fields = ["name", "company", "line1", "city", "postal_code", "customer__email"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["created_at"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "role", "email", "phone", "is_primary"]
    list_filter = ["role", "is_primary"]
    list_select_related = ["customer"]
    search_fields = ["name", "email", "phone", "customer__email", "customer__company"]
    autocomplete_fields = ["customer"]


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """The consent history, read-only: a new answer is a new row (customer page or API)."""

    list_display = ["customer", "purpose", "granted", "source", "recorded_at"]
    list_filter = ["purpose", "granted"]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "source"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CustomerMetrics)
class CustomerMetricsAdmin(admin.ModelAdmin):
    """The most profitable customers first (refreshed by a beat task; read-only)."""

    list_display = ["customer", "segment", "margin", "revenue", "order_count", "return_rate", "refreshed_at"]
    list_filter = ["segment"]
    list_select_related = ["customer"]
    search_fields = ["customer__email", "customer__company"]
    ordering = ["-margin"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
