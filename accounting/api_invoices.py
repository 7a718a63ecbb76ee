"""Receivables and payables API (staff): customer invoices (list, detail,
PDF, payments received) and supplier invoices (list, record, payments made).

Writes go through accounting.invoicing, which posts the journal entry in the
same transaction as the document; recording the same bank reference (or the
same supplier invoice number) again returns the first record with 200.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import MoneyOutField, StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import NotFound
from oms.money import MINOR_UNITS, round_money

from .documents import invoice_pdf
from .invoicing import invoice_payment_record, supplier_invoice_record, supplier_payment_record
from .models import Invoice, InvoiceLine, InvoicePayment, SupplierInvoice, SupplierPayment

PDF = "application/pdf"
AMOUNT = {"max_digits": 16, "decimal_places": 4, "max_value": 10**11}
ERRORS = {
    400: OpenApiResponse(description="Invalid input naming the field"),
    404: OpenApiResponse(description="Not found"),
    409: OpenApiResponse(description="`not_open`: the document takes no more payments"),
}


def _fetch(queryset: QuerySet, pk: int, what: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"{what} {pk} does not exist.")
    return found


class OverdueFilter(django_filters.FilterSet):
    # A choice rather than a BooleanFilter: "overdue=maybe" is a 400, not silently ignored.
    overdue = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_overdue",
        help_text="true: open and past the due date; false: the others.",
    )

    def filter_overdue(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        late = Q(status="open", due_date__lt=timezone.localdate())
        return queryset.filter(late) if value == "true" else queryset.exclude(late)


# --- Customer invoices -------------------------------------------------------------------


class InvoiceLineOut(serializers.ModelSerializer):
    unit_price = MoneyOutField(currency_attr="invoice_currency")
    tax = MoneyOutField(currency_attr="invoice_currency")
    net_amount = MoneyOutField(currency_attr="invoice_currency")

    class Meta:
        model = InvoiceLine
        fields = ["line_number", "sku", "description", "quantity", "unit_price", "net_amount", "tax"]


class InvoicePaymentOut(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField(source="invoice.currency")
    entry = serializers.IntegerField(source="entry_id")

    class Meta:
        model = InvoicePayment
        fields = ["id", "invoice", "day", "amount", "currency", "rate", "reference", "entry", "created_at"]

    def get_amount(self, payment: InvoicePayment) -> str:
        return str(round_money(payment.amount, payment.invoice.currency))


class InvoiceOut(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code", default=None, allow_null=True)
    net_total = MoneyOutField()
    shipping_total = MoneyOutField()
    tax_total = MoneyOutField()
    total = MoneyOutField()
    amount_paid = MoneyOutField()
    outstanding = MoneyOutField()
    days_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "order_ref",
            "customer_id",
            "customer_name",
            "customer_email",
            "channel",
            "currency",
            "issue_date",
            "terms_days",
            "due_date",
            "net_total",
            "shipping_total",
            "tax_total",
            "total",
            "amount_paid",
            "outstanding",
            "days_overdue",
            "paid_at",
        ]

    def get_days_overdue(self, invoice: Invoice) -> int:
        if invoice.status != Invoice.Status.OPEN:
            return 0
        return max(0, (timezone.localdate() - invoice.due_date).days)


class InvoiceDetailOut(InvoiceOut):
    lines = serializers.SerializerMethodField()
    payments = InvoicePaymentOut(many=True)

    class Meta(InvoiceOut.Meta):
        fields = [
            *InvoiceOut.Meta.fields,
            "source_ref",
            "billing_address",
            "rate",
            "entry",
            "lines",
            "payments",
        ]

    def get_lines(self, invoice: Invoice) -> list[dict]:
        lines = list(invoice.lines.all())
        for line in lines:
            line.invoice_currency = invoice.currency
        return InvoiceLineOut(lines, many=True).data


class InvoiceFilter(OverdueFilter):
    status = django_filters.MultipleChoiceFilter(choices=Invoice.Status.choices)
    customer_id = django_filters.NumberFilter(field_name="customer_id")

    class Meta:
        model = Invoice
        fields = []


def invoices(*, detail: bool = False) -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("channel")
    if detail:
        qs = qs.prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("line_number")),
            Prefetch("payments", queryset=InvoicePayment.objects.select_related("invoice").order_by("id")),
        )
    return qs


class InvoiceList(generics.ListAPIView):
    """Customer invoices, newest first; `overdue=true` lists the open ones past due."""

    permission_classes = [IsStaff]
    serializer_class = InvoiceOut
    filterset_class = InvoiceFilter

    def get_queryset(self):
        return invoices().order_by("-issue_date", "-id")


class InvoiceDetail(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: InvoiceDetailOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(InvoiceDetailOut(_fetch(invoices(detail=True), pk, "Invoice")).data)


@extend_schema(responses={(200, PDF): OpenApiResponse(OpenApiTypes.BINARY), 404: ERRORS[404]})
class InvoicePdf(APIView):
    """The invoice as the customer receives it."""

    permission_classes = [IsStaff]

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # "Accept: application/pdf" must not be refused: errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request: Request, pk: int) -> HttpResponse:
        invoice = _fetch(invoices(), pk, "Invoice")
        response = HttpResponse(invoice_pdf(invoice), content_type=PDF)
        response["Content-Disposition"] = f'inline; filename="invoice-{invoice.number}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


class DocumentPaymentIn(StrictSerializer):
    amount = serializers.DecimalField(**AMOUNT, help_text="In the document's currency.")
    day = serializers.DateField(help_text="The day the money moved (its exchange rate applies).")
    reference = serializers.CharField(max_length=100, help_text="Bank reference; once per document.")


def _created(model, **lookup) -> int:
    """201 for a new record, 200 when the same reference was recorded before."""
    return status.HTTP_200_OK if model.objects.filter(**lookup).exists() else status.HTTP_201_CREATED


class InvoicePayments(APIView):
    """Record money received against an invoice (partly or in full)."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=DocumentPaymentIn, responses={201: InvoicePaymentOut, 200: InvoicePaymentOut, **ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        data = DocumentPaymentIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        code = _created(InvoicePayment, invoice_id=pk, reference=v["reference"])
        payment = invoice_payment_record(
            invoice_id=pk,
            amount=v["amount"],
            day=v["day"],
            reference=v["reference"],
            actor=Actor.for_user(request.user),
        )
        return Response(InvoicePaymentOut(payment).data, status=code)


# --- Supplier invoices -------------------------------------------------------------------


class SupplierPaymentOut(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField(source="supplier_invoice.currency")
    entry = serializers.IntegerField(source="entry_id")

    class Meta:
        model = SupplierPayment
        fields = [
            "id",
            "supplier_invoice",
            "day",
            "amount",
            "currency",
            "rate",
            "reference",
            "entry",
            "created_at",
        ]

    def get_amount(self, payment: SupplierPayment) -> str:
        return str(round_money(payment.amount, payment.supplier_invoice.currency))


class SupplierInvoiceOut(serializers.ModelSerializer):
    net_total = MoneyOutField()
    tax_total = MoneyOutField()
    total = MoneyOutField()
    amount_paid = MoneyOutField()
    outstanding = MoneyOutField()
    entry = serializers.IntegerField(source="entry_id")

    class Meta:
        model = SupplierInvoice
        fields = [
            "id",
            "supplier_id",
            "supplier_name",
            "number",
            "po_ref",
            "status",
            "currency",
            "issue_date",
            "due_date",
            "net_total",
            "tax_total",
            "total",
            "amount_paid",
            "outstanding",
            "rate",
            "entry",
            "paid_at",
        ]


class SupplierInvoiceIn(StrictSerializer):
    supplier_id = serializers.IntegerField(min_value=1, help_text="inventory Supplier id.")
    supplier_name = serializers.CharField(max_length=200)
    number = serializers.CharField(max_length=60, help_text="The supplier's invoice number.")
    po_ref = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    currency = serializers.ChoiceField(choices=sorted(MINOR_UNITS))
    issue_date = serializers.DateField()
    due_date = serializers.DateField()
    net_total = serializers.DecimalField(**AMOUNT)
    tax_total = serializers.DecimalField(**AMOUNT, required=False, default=0)
    received_value = serializers.DecimalField(
        **AMOUNT,
        required=False,
        allow_null=True,
        default=None,
        help_text="What the goods receipts booked (default: the net total); the difference goes to COGS.",
    )


class SupplierInvoiceFilter(OverdueFilter):
    status = django_filters.MultipleChoiceFilter(choices=SupplierInvoice.Status.choices)
    supplier_id = django_filters.NumberFilter(field_name="supplier_id")

    class Meta:
        model = SupplierInvoice
        fields = []


class SupplierInvoiceList(generics.ListAPIView):
    """Supplier invoices, newest first; or record one (clears goods received not invoiced)."""

    permission_classes = [IsStaff]
    serializer_class = SupplierInvoiceOut
    filterset_class = SupplierInvoiceFilter

    def get_queryset(self):
        return SupplierInvoice.objects.order_by("-issue_date", "-id")

    @extend_schema(
        request=SupplierInvoiceIn, responses={201: SupplierInvoiceOut, 200: SupplierInvoiceOut, **ERRORS}
    )
    def post(self, request: Request) -> Response:
        data = SupplierInvoiceIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        code = _created(SupplierInvoice, supplier_id=v["supplier_id"], number=v["number"].strip())
        invoice = supplier_invoice_record(
            supplier_id=v["supplier_id"],
            supplier_name=v["supplier_name"],
            number=v["number"],
            currency=v["currency"],
            issue_date=v["issue_date"],
            due_date=v["due_date"],
            net_total=v["net_total"],
            tax_total=v["tax_total"],
            received_value=v["received_value"],
            po_ref=v["po_ref"],
            actor=Actor.for_user(request.user),
        )
        return Response(SupplierInvoiceOut(invoice).data, status=code)


class SupplierInvoicePayments(APIView):
    """Record a payment made against a supplier invoice."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=DocumentPaymentIn, responses={201: SupplierPaymentOut, 200: SupplierPaymentOut, **ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        data = DocumentPaymentIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        code = _created(SupplierPayment, supplier_invoice_id=pk, reference=v["reference"])
        payment = supplier_payment_record(
            supplier_invoice_id=pk,
            amount=v["amount"],
            day=v["day"],
            reference=v["reference"],
            actor=Actor.for_user(request.user),
        )
        return Response(SupplierPaymentOut(payment).data, status=code)


urlpatterns = [
    path("accounting/invoices/", InvoiceList.as_view(), name="accounting-invoice-list"),
    path("accounting/invoices/<int:pk>/", InvoiceDetail.as_view(), name="accounting-invoice-detail"),
    path("accounting/invoices/<int:pk>/pdf/", InvoicePdf.as_view(), name="accounting-invoice-pdf"),
    path(
        "accounting/invoices/<int:pk>/payments/",
        InvoicePayments.as_view(),
        name="accounting-invoice-payments",
    ),
    path(
        "accounting/supplier-invoices/",
        SupplierInvoiceList.as_view(),
        name="accounting-supplier-invoice-list",
    ),
    path(
        "accounting/supplier-invoices/<int:pk>/payments/",
        SupplierInvoicePayments.as_view(),
        name="accounting-supplier-invoice-payments",
    ),
]
