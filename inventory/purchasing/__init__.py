"""Suppliers and purchasing: writes in .services, reads in .selectors.

Import from here (inventory.purchasing); the split is an implementation detail.
"""

from .selectors import (
    incoming_by_sku_warehouse,
    incoming_quantity_subquery,
    open_po_lines,
    preferred_supplier_sku,
    purchase_order_detail,
    purchase_order_lines_summary,
    purchase_orders,
    supplier_detail,
)
from .services import (
    PO_RECEIVED_TOPIC,
    OrderLineInput,
    PurchaseReceipt,
    max_receivable,
    purchase_order_cancel,
    purchase_order_check_lines,
    purchase_order_close,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
    purchase_order_update,
)

__all__ = [
    "PO_RECEIVED_TOPIC",
    "OrderLineInput",
    "PurchaseReceipt",
    "incoming_by_sku_warehouse",
    "incoming_quantity_subquery",
    "max_receivable",
    "open_po_lines",
    "preferred_supplier_sku",
    "purchase_order_cancel",
    "purchase_order_check_lines",
    "purchase_order_close",
    "purchase_order_create",
    "purchase_order_detail",
    "purchase_order_lines_summary",
    "purchase_order_receive",
    "purchase_order_send",
    "purchase_order_update",
    "purchase_orders",
    "supplier_detail",
]
