"""Accounting API (staff): trial balance, the journal export for ERPs, period
close and reversals.

Journal export layout (CSV, UTF-8, one row per journal line, header row):
entry, date, source_type, source_ref, memo, account, account_name, debit,
credit, base_currency, amount, currency, rate, channel, line_memo. Debit and
credit are in the base currency (one of them is zero); amount / currency /
rate are the line's original figures. Rows come in entry then line order.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from django.conf import settings
from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput

from .api_reports import TrialBalanceReport
from .models import JournalLine
from .services import journal_reverse, period_close

EXPORT_COLUMNS = [
    "entry",
    "date",
    "source_type",
    "source_ref",
    "memo",
    "account",
    "account_name",
    "debit",
    "credit",
    "base_currency",
    "amount",
    "currency",
    "rate",
    "channel",
    "line_memo",
]
ERRORS = {400: OpenApiResponse(description="Invalid input naming the field")}


def _day(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput.field(name, f"{raw[:20]!r} is not a date (YYYY-MM-DD)") from None


def _period(raw: str | None) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        date(year, month, 1)
    except ValueError:
        raise InvalidInput.field("period", f"{(raw or '')[:20]!r} is not a period (YYYY-MM)") from None
    return year, month


class JournalExport(APIView):
    """The journal of one period as CSV for ERP import (layout in the module note)."""

    permission_classes = [IsStaff]

    def perform_content_negotiation(self, request: Request, force: bool = False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[OpenApiParameter("period", OpenApiTypes.STR, required=True, description="YYYY-MM")],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERRORS},
    )
    def get(self, request: Request) -> HttpResponse:
        year, month = _period(request.query_params.get("period"))
        lines = (
            JournalLine.objects.filter(entry__date__year=year, entry__date__month=month)
            .select_related("entry", "account", "channel")
            .order_by("entry__date", "entry_id", "id")
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for ln in lines.iterator(chunk_size=2000):
            e = ln.entry
            writer.writerow(
                [
                    e.pk,
                    e.date.isoformat(),
                    e.source_type,
                    e.source_ref,
                    e.memo,
                    ln.account.code,
                    ln.account.name,
                    ln.debit,
                    ln.credit,
                    settings.BASE_CURRENCY,
                    ln.amount,
                    ln.currency,
                    ln.rate,
                    ln.channel.code if ln.channel_id else "",
                    ln.memo,
                ]
            )
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="journal-{year}-{month:02d}.csv"'
        return response


class PeriodOut(serializers.Serializer):
    period = serializers.SerializerMethodField()
    closed_at = serializers.DateTimeField()

    def get_period(self, obj) -> str:
        return f"{obj.year}-{obj.month:02d}"


class PeriodClose(APIView):
    """Close a month: it takes no new entries (corrections go in an open period)."""

    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={200: PeriodOut, **ERRORS})
    def post(self, request: Request, period: str) -> Response:
        year, month = _period(period)
        closed = period_close(year=year, month=month, actor=Actor.for_user(request.user))
        return Response(PeriodOut(closed).data)


class ReverseIn(StrictSerializer):
    day = serializers.DateField(help_text="The reversal's date, in an open period.")
    memo = serializers.CharField(max_length=300, required=False, default="")


class EntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    memo = serializers.CharField()
    source_type = serializers.CharField()
    source_ref = serializers.CharField()
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)


class EntryReverse(APIView):
    """Correct a posted entry with its reversal (debits and credits swapped)."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=ReverseIn,
        responses={
            201: EntryOut,
            **ERRORS,
            404: OpenApiResponse(description="No such entry"),
            409: OpenApiResponse(description="`period_closed` or `already_reversed`"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        data = ReverseIn(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = journal_reverse(
            entry_id=pk,
            day=data.validated_data["day"],
            actor=Actor.for_user(request.user),
            memo=data.validated_data["memo"],
        )
        return Response(EntryOut(reversal).data, status=201)


urlpatterns = [
    # The trial balance report (reports/trial-balance/) at its first address too.
    path("accounting/trial-balance/", TrialBalanceReport.as_view(), name="accounting-trial-balance"),
    path("accounting/journal-export/", JournalExport.as_view(), name="accounting-journal-export"),
    path("accounting/periods/<str:period>/close/", PeriodClose.as_view(), name="accounting-period-close"),
    path(
        "accounting/journal-entries/<int:pk>/reverse/",
        EntryReverse.as_view(),
        name="accounting-entry-reverse",
    ),
    path("", include("accounting.api_invoices")),
]
urlpatterns += [path("", include("accounting.api_reports"))]  # the reports
