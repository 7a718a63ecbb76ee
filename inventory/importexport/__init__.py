"""Import / export of products, stock counts and reorder rules as CSV and XLSX.

    inventory_import(kind=..., data=..., actor=...) -> ImportReport
    inventory_export(kind=..., file_format=..., out=...) -> rows written

The management commands (inventory_import, inventory_export), the staff API
(inventory.api_importexport) and the admin page (inventory.admin_importexport)
all call these two services.
"""

from .cells import RowError
from .services import KINDS, ImportReport, export_filename, inventory_export, inventory_import
from .tables import CONTENT_TYPES, FORMATS, MAX_FILE_BYTES

__all__ = [
    "CONTENT_TYPES",
    "FORMATS",
    "KINDS",
    "MAX_FILE_BYTES",
    "ImportReport",
    "RowError",
    "export_filename",
    "inventory_export",
    "inventory_import",
]
