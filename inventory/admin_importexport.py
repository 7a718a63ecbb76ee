"""Admin page to import and export products, stock counts and reorder rules.

The page hangs off the SKU admin's URLs (admin/inventory/sku/import-export/):
inventory.admin's SKUAdmin takes ImportExportViews as a mixin. The changelists
of SKUs, products, reorder rules and count sheets link to it
(templates/admin/inventory/<model>/change_list.html). Both views only parse the
request and call inventory.importexport.
"""

from __future__ import annotations

import io

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header

from oms.actors import Actor
from oms.errors import DomainError

from .importexport import (
    CONTENT_TYPES,
    FORMATS,
    KINDS,
    MAX_FILE_BYTES,
    export_filename,
    inventory_export,
    inventory_import,
)
from .models import Warehouse

MAX_SHOWN_ERRORS = 500
IMPORT_PERMISSIONS = {
    "products": (
        "inventory.add_sku",
        "inventory.change_sku",
        "inventory.add_product",
        "inventory.change_product",
    ),
    "stock_counts": ("inventory.change_countsheet",),
    "reorder_rules": ("inventory.add_reorderrule", "inventory.change_reorderrule"),
}
EXPORT_PERMISSIONS = {
    "products": ("inventory.view_sku",),
    "stock_counts": ("inventory.view_stocklevel",),
    "reorder_rules": ("inventory.view_reorderrule",),
}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(name, kind.label) for name, kind in KINDS.items()])
    file = forms.FileField(help_text=f"A .csv (UTF-8) or .xlsx file, at most {MAX_FILE_BYTES // 2**20} MB.")
    partial = forms.BooleanField(
        required=False, label="Partial import", help_text="Import the valid rows and list the others."
    )
    dry_run = forms.BooleanField(required=False, label="Dry run", help_text="Check the file; write nothing.")
    approve = forms.BooleanField(
        required=False,
        label="Approve the counts",
        help_text="Stock counts only: approve the count sheets, which applies the variances to stock.",
    )

    def clean(self):
        data = super().clean()
        if data.get("approve") and data.get("kind") != "stock_counts":
            self.add_error("approve", "Only stock counts have anything to approve.")
        return data


class ImportExportViews:
    """ModelAdmin mixin: the import / export page and the export downloads."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import-export/", view(self.import_export_view), name="inventory_import_export"),
            path("export/<str:kind>.<str:file_format>", view(self.export_view), name="inventory_export"),
            *super().get_urls(),
        ]

    def import_export_view(self, request: HttpRequest) -> TemplateResponse:
        if not any(
            request.user.has_perms(p) for p in (*IMPORT_PERMISSIONS.values(), *EXPORT_PERMISSIONS.values())
        ):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                report = self._import(request, form)
        else:
            form = ImportForm(initial={"kind": request.GET.get("kind", "products")})
        context = {
            **self.admin_site.each_context(request),
            "title": "Import / export inventory",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "errors": report.errors[:MAX_SHOWN_ERRORS] if report else [],
            "hidden_errors": max(0, len(report.errors) - MAX_SHOWN_ERRORS) if report else 0,
            "kinds": self._kinds(request),
            "warehouses": Warehouse.objects.order_by("code").values_list("code", flat=True),
        }
        return TemplateResponse(request, "admin/inventory/import_export.html", context)

    def _import(self, request: HttpRequest, form: ImportForm):
        kind = form.cleaned_data["kind"]
        if not request.user.has_perms(IMPORT_PERMISSIONS[kind]):
            raise PermissionDenied
        upload = form.cleaned_data["file"]
        try:
            return inventory_import(
                kind=kind,
                data=upload.read(MAX_FILE_BYTES + 1),
                filename=upload.name or "",
                actor=Actor.for_user(request.user),
                partial=form.cleaned_data["partial"],
                dry_run=form.cleaned_data["dry_run"],
                approve=form.cleaned_data["approve"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return None

    def _kinds(self, request: HttpRequest) -> list[dict]:
        return [
            {
                "name": name,
                "label": kind.label,
                "columns": kind.columns,
                "filters": kind.filters,
                "links": [
                    (fmt.upper(), reverse("admin:inventory_export", args=[name, fmt])) for fmt in FORMATS
                ],
            }
            for name, kind in KINDS.items()
            if request.user.has_perms(EXPORT_PERMISSIONS[name])
        ]

    def export_view(self, request: HttpRequest, kind: str, file_format: str) -> HttpResponse:
        if kind not in KINDS or file_format not in FORMATS:
            raise Http404("No such export.")
        if not request.user.has_perms(EXPORT_PERMISSIONS[kind]):
            raise PermissionDenied
        warehouse = request.GET.get("warehouse") or None
        out = io.BytesIO()
        try:
            inventory_export(kind=kind, file_format=file_format, out=out, warehouse=warehouse)
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("admin:inventory_import_export"))
        response = HttpResponse(out.getvalue(), content_type=CONTENT_TYPES[file_format])
        response["Content-Disposition"] = content_disposition_header(
            True, export_filename(kind, file_format, warehouse)
        )
        return response
