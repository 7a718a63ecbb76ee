"""Staff API: import and export of products, stock counts and reorder rules.

    POST /api/v1/inventory/import/<kind>/        multipart: file, partial, dry_run, approve
    GET  /api/v1/inventory/export/<kind>.csv     (or .xlsx; ?warehouse=CODE where it applies)

An import answers with its report: 200 when it went through (a partial
import lists the rows it skipped), 400 when nothing was imported, with every
problem as {row, field, problem}.
"""

from __future__ import annotations

import tempfile

from django.http import FileResponse
from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import StrictSerializer, text_params
from oms.api.permissions import IsStaff
from oms.api.schema import ErrorOut

from .importexport import (
    CONTENT_TYPES,
    FORMATS,
    KINDS,
    MAX_FILE_BYTES,
    ImportReport,
    export_filename,
    inventory_export,
    inventory_import,
)

MAX_REPORTED_ERRORS = 1000
KIND_PATTERN = "|".join(KINDS)
KIND_PARAMETER = OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(KINDS))


class ImportInput(StrictSerializer):
    file = serializers.FileField(help_text=f"A .csv (UTF-8) or .xlsx file, at most {MAX_FILE_BYTES:,} bytes.")
    partial = serializers.BooleanField(default=False, help_text="Import the valid rows, report the others.")
    dry_run = serializers.BooleanField(default=False, help_text="Check and report; write nothing.")
    approve = serializers.BooleanField(
        default=False, help_text="stock_counts: approve the count sheets, applying the variances to stock."
    )


class RowErrorOutput(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="Row in the file (the header is row 1).")
    field = serializers.CharField(help_text="The column at fault, or 'file' / 'row'.")
    problem = serializers.CharField()


class CountSheetOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null in a dry run.")
    warehouse = serializers.CharField()
    status = serializers.CharField()
    lines = serializers.IntegerField()
    variances = serializers.IntegerField()


class ImportReportOutput(serializers.Serializer):
    kind = serializers.CharField()
    filename = serializers.CharField()
    format = serializers.CharField(source="file_format")
    rows = serializers.IntegerField(help_text="Data rows in the file.")
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    partial = serializers.BooleanField()
    applied = serializers.BooleanField(help_text="The changes are committed.")
    rejected = serializers.BooleanField(help_text="Nothing was imported because of the errors.")
    summary = serializers.CharField()
    error_count = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()
    count_sheets = CountSheetOutput(many=True)

    @extend_schema_field(OpenApiTypes.INT)
    def get_error_count(self, report: ImportReport) -> int:
        return len(report.errors)

    @extend_schema_field(RowErrorOutput(many=True))
    def get_errors(self, report: ImportReport) -> list[dict]:
        return RowErrorOutput(report.errors[:MAX_REPORTED_ERRORS], many=True).data


class InventoryImport(APIView):
    """Import a file of products, stock counts or reorder rules. Nothing is
    written from a file with errors unless `partial` is set."""

    permission_classes = [IsStaff]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="inventory_import",
        parameters=[KIND_PARAMETER],
        request={"multipart/form-data": ImportInput},
        responses={
            200: ImportReportOutput,
            # A rejected file's report carries an `error` too; bad form fields get the plain error body.
            400: OpenApiResponse(
                {
                    "anyOf": [
                        {"$ref": "#/components/schemas/ImportReportOutput"},
                        {"$ref": "#/components/schemas/ErrorOut"},
                    ]
                },
                description="The file was rejected (its report, with `error`), or a form field is invalid",
            ),
            403: OpenApiResponse(ErrorOut, description="Staff whose role covers stock only"),
        },
    )
    def post(self, request, kind: str):
        params = ImportInput(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        report = inventory_import(
            kind=kind,
            data=upload.read(MAX_FILE_BYTES + 1),  # one byte over is enough to refuse it
            filename=upload.name or "",
            actor=Actor.from_request(request),
            partial=params.validated_data["partial"],
            dry_run=params.validated_data["dry_run"],
            approve=params.validated_data["approve"],
        )
        body = dict(ImportReportOutput(report).data)
        if report.rejected:
            body["error"] = {"code": "import_rejected", "message": report.summary}
            return Response(body, status=400)
        return Response(body)


class InventoryExport(APIView):
    """Download every product, stock count line or reorder rule, in the
    columns the import reads back."""

    permission_classes = [IsStaff]

    def perform_content_negotiation(self, request, force=False):
        # A browser asks for the file with Accept: text/csv or */*; errors still answer in JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="inventory_export",
        parameters=[
            KIND_PARAMETER,
            OpenApiParameter("file_format", str, OpenApiParameter.PATH, enum=list(FORMATS)),
            OpenApiParameter(
                "warehouse", str, description="Warehouse code (stock_counts and reorder_rules only)."
            ),
        ],
        responses={
            (200, CONTENT_TYPES["csv"].split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY),
            (200, CONTENT_TYPES["xlsx"]): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    def get(self, request, kind: str, file_format: str):
        warehouse = text_params(request.query_params, "warehouse").get("warehouse")
        # Spooled: small exports stay in memory, large ones go to a temporary file.
        out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
        try:
            inventory_export(kind=kind, file_format=file_format, out=out, warehouse=warehouse)
        except BaseException:
            out.close()
            raise
        out.seek(0)
        return FileResponse(
            out,
            as_attachment=True,
            filename=export_filename(kind, file_format, warehouse),
            content_type=CONTENT_TYPES[file_format],
        )


urlpatterns = [
    re_path(
        rf"^inventory/import/(?P<kind>{KIND_PATTERN})/$", InventoryImport.as_view(), name="inventory-import"
    ),
    re_path(
        rf"^inventory/export/(?P<kind>{KIND_PATTERN})\.(?P<file_format>{'|'.join(FORMATS)})$",
        InventoryExport.as_view(),
        name="inventory-export",
    ),
]
