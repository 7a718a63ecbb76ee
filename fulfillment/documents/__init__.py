"""Printed documents, drawn with reportlab: shipping labels (PDF and ZPL),
packing slips, receipts, pick lists and a wave's whole print run."""

from .labels import label_pdf, label_zpl
from .picking import pick_list_pdf, pick_list_rows
from .slips import packing_slip_pdf, receipt_pdf
from .wave import wave_documents_pdf

__all__ = [
    "label_pdf",
    "label_zpl",
    "packing_slip_pdf",
    "pick_list_pdf",
    "pick_list_rows",
    "receipt_pdf",
    "wave_documents_pdf",
]
