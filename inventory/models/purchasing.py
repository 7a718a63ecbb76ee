"""Suppliers and purchasing: who sells us each SKU (cost, lead time, minimum
order quantity, pack size) and the purchase orders that bring stock in.

A purchase order moves only along PO_TRANSITIONS (enforced in one place,
inventory.purchasing._move) and every move writes a PurchaseOrderEvent in the
same transaction. Receiving adds stock through the ledger helpers of
inventory.services, so received goods always show up as RECEIPT movements.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from oms.money import CURRENCY_CHOICES, MoneyField

from .catalog import SKU
from .locations import Warehouse


class Supplier(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, help_text="Where purchase orders are sent.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, help_text="Currency it invoices in.")
    default_lead_time_days = models.PositiveIntegerField(
        default=14, help_text="Days from sending a PO to the goods arriving, unless a SKU says otherwise."
    )
    contact_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SupplierSKU(models.Model):
    """What one supplier charges for one SKU, and how it must be ordered."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="supplier_items")
    supplier_sku_code = models.CharField(max_length=64, blank=True, help_text="The supplier's own code.")
    unit_cost = MoneyField(help_text="In the supplier's currency.")
    lead_time_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the supplier's default lead time."
    )
    min_order_qty = models.PositiveIntegerField(default=1, verbose_name="minimum order quantity")
    pack_size = models.PositiveIntegerField(default=1, help_text="Ordered quantities are a multiple of it.")
    is_preferred = models.BooleanField(
        default=False, help_text="Reorder rules buy from the preferred supplier (at most one per SKU)."
    )

    class Meta:
        ordering = ["sku", "supplier"]
        verbose_name = "supplier SKU"
        constraints = [
            models.UniqueConstraint(fields=["supplier", "sku"], name="suppliersku_unique_supplier_sku"),
            models.UniqueConstraint(
                fields=["sku"], condition=Q(is_preferred=True), name="suppliersku_one_preferred_per_sku"
            ),
            models.CheckConstraint(condition=Q(min_order_qty__gte=1), name="suppliersku_moq_gte_1"),
            models.CheckConstraint(condition=Q(pack_size__gte=1), name="suppliersku_pack_size_gte_1"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="suppliersku_unit_cost_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} from {self.supplier_id}"

    @property
    def effective_lead_time_days(self) -> int:
        if self.lead_time_days is not None:
            return self.lead_time_days
        return self.supplier.default_lead_time_days


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SENT = "sent"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received"
        CLOSED = "closed"
        CANCELLED = "cancelled"

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="purchase_orders",
        help_text="Where it is delivered.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    expected_at = models.DateField(null=True, blank=True, verbose_name="ETA")
    over_receipt_tolerance_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        help_text="How far (in %) a line may be over-received.",
    )
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True, help_text="When the last line was received.")
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "purchase order"
        constraints = [
            models.CheckConstraint(
                condition=Q(over_receipt_tolerance_pct__gte=0, over_receipt_tolerance_pct__lte=100),
                name="purchaseorder_tolerance_range",
            )
        ]
        indexes = [
            # The incoming-stock selector reads only open orders.
            models.Index(
                fields=["warehouse", "expected_at"],
                name="po_open_idx",
                condition=Q(status__in=["sent", "partially_received"]),
            )
        ]

    def __str__(self) -> str:
        return f"PO{self.pk:06d} ({self.status})" if self.pk else "new purchase order"


PO_TRANSITIONS: dict[str, set[str]] = {
    PurchaseOrder.Status.DRAFT: {PurchaseOrder.Status.SENT, PurchaseOrder.Status.CANCELLED},
    PurchaseOrder.Status.SENT: {
        PurchaseOrder.Status.PARTIALLY_RECEIVED,
        PurchaseOrder.Status.RECEIVED,
        PurchaseOrder.Status.CANCELLED,
    },
    PurchaseOrder.Status.PARTIALLY_RECEIVED: {PurchaseOrder.Status.RECEIVED, PurchaseOrder.Status.CLOSED},
    PurchaseOrder.Status.RECEIVED: {PurchaseOrder.Status.CLOSED},
    PurchaseOrder.Status.CLOSED: set(),
    PurchaseOrder.Status.CANCELLED: set(),
}

# Goods can arrive against these (and they count as incoming stock).
PO_OPEN_STATUSES = (PurchaseOrder.Status.SENT, PurchaseOrder.Status.PARTIALLY_RECEIVED)


class PurchaseOrderLine(models.Model):
    po = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="purchase_order_lines")
    quantity_ordered = models.PositiveIntegerField()
    unit_cost = MoneyField(help_text="In the order's currency.")
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["po", "id"]
        verbose_name = "purchase order line"
        constraints = [
            models.UniqueConstraint(fields=["po", "sku"], name="purchaseorderline_unique_sku"),
            models.CheckConstraint(condition=Q(quantity_ordered__gt=0), name="purchaseorderline_qty_gt_0"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="purchaseorderline_unit_cost_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} x {self.sku_id} on {self.po_id}"

    @property
    def outstanding(self) -> int:
        return max(self.quantity_ordered - self.quantity_received, 0)


class PurchaseOrderEvent(models.Model):
    """The history of a purchase order: one row per transition or receipt.

    Inventory is a leaf app and cannot use orders.OrderEvent, so the actor is
    kept as its text (oms.actors.Actor's str) plus the staff user when there is one.
    """

    po = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor = models.CharField(max_length=80, help_text="Who: staff user, channel or system.")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["po", "id"]
        verbose_name = "purchase order event"

    def __str__(self) -> str:
        return f"{self.po_id} {self.kind} by {self.actor}"
