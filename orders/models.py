"""Prices, carts, orders, payments and the order history.

Order status moves only along ORDER_TRANSITIONS (enforced by
orders.services.order_transition), and every move writes an OrderEvent with
who (staff user, channel or system) and when.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Lower

from customers.models import Customer
from inventory.models import SKU, Reservation, Warehouse
from oms.models import Channel
from oms.money import CURRENCY_CHOICES, MoneyField


class PriceListEntry(models.Model):
    """The price of a SKU on a channel, in the channel's currency."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="prices")
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="prices")
    unit_price = MoneyField()
    compare_at_price = MoneyField(null=True, blank=True, default=None)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel", "sku"]
        verbose_name = "price list entry"
        verbose_name_plural = "price list"
        constraints = [
            models.UniqueConstraint(fields=["channel", "sku"], name="price_unique_channel_sku"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="price_unit_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.sku_id}: {self.unit_price}"


class TaxRate(models.Model):
    """Sales tax / VAT by destination. A region-specific rate beats the country's."""

    country = models.CharField(max_length=2)
    region = models.CharField(max_length=100, blank=True, help_text="Blank: the whole country.")
    rate = models.DecimalField(max_digits=6, decimal_places=5, help_text="0.2 means 20%.")
    name = models.CharField(max_length=60)
    applies_to_shipping = models.BooleanField(default=True)

    class Meta:
        ordering = ["country", "region"]
        constraints = [
            models.UniqueConstraint(fields=["country", "region"], name="taxrate_unique_country_region"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lt=1), name="taxrate_rate_range"),
        ]

    def __str__(self) -> str:
        where = f"{self.country}-{self.region}" if self.region else self.country
        return f"{self.name} {where} {self.rate:%}"


class Cart(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        CHECKED_OUT = "checked_out", "Checked out"
        ABANDONED = "abandoned"

    public_id = models.UUIDField(unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="carts")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="carts"
    )
    email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    ship_country = models.CharField(max_length=2, blank=True)
    expires_at = models.DateTimeField()
    abandoned_at = models.DateTimeField(null=True, blank=True)
    abandoned_value = MoneyField(null=True, blank=True, default=None)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    order = models.OneToOneField(
        "Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="cart"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["expires_at"], name="cart_open_expiry_idx", condition=Q(status="open")),
            models.Index(fields=["abandoned_at"], name="cart_abandoned_idx", condition=Q(status="abandoned")),
        ]

    def __str__(self) -> str:
        return f"cart {self.public_id} ({self.status})"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    unit_price = MoneyField()
    reservation = models.OneToOneField(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="cart_line"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="cartline_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cartline_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id}"


class Order(models.Model):
    class Status(models.TextChoices):
        ON_HOLD = "on_hold", "On hold"
        BACKORDERED = "backordered"
        ALLOCATED = "allocated"
        FULFILLING = "fulfilling"
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CLOSED = "closed"
        CANCELLED = "cancelled"

    class Source(models.TextChoices):
        API = "api", "API"
        CART = "cart", "Cart checkout"
        STAFF = "staff", "Staff entry"
        IMPORT = "import", "Channel import"

    # channel and customer have no single-column index: order_channel_recent_idx and
    # order_customer_recent_idx lead with them, and every order placed writes each index.
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders", db_index=False)
    # NULL, not "", when absent: the unique (channel, external_id) must not clash on blanks.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    status = models.CharField(max_length=20, choices=Status.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", db_index=False)
    email = models.EmailField()
    shipping_address = models.JSONField()
    billing_address = models.JSONField(null=True, blank=True)
    ship_country = models.CharField(max_length=2, db_index=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    subtotal = MoneyField(help_text="Merchandise before discounts.")
    discount_total = MoneyField()
    shipping_total = MoneyField()
    tax_total = MoneyField()
    grand_total = MoneyField()
    prices_include_tax = models.BooleanField(default=False)
    payment_terms_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Billed on account: each shipment is invoiced, due net N days. Empty: paid by card.",
    )
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        help_text="Where the order was allocated (the sourcing engine may split per line).",
    )

    class ShippingSpeed(models.TextChoices):
        STANDARD = "standard"
        EXPRESS = "express"
        OVERNIGHT = "overnight"

    shipping_speed = models.CharField(
        max_length=10, choices=ShippingSpeed.choices, default=ShippingSpeed.STANDARD
    )
    deliver_by = models.DateField(
        null=True, blank=True, help_text="Delivery date promised to the customer; rate shopping must meet it."
    )
    pickup_location = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pickup_orders",
        help_text="Click and collect: the store the customer collects from.",
    )
    is_gift = models.BooleanField(default=False)
    gift_message = models.CharField(max_length=500, blank=True)
    is_vip = models.BooleanField(default=False)
    is_replacement = models.BooleanField(default=False)
    special_code = models.CharField(
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        help_text="Unique code of a gift / VIP / replacement order, for the retention team.",
    )
    priority = models.SmallIntegerField(default=0, help_text="Higher is allocated first.")
    hold_reason = models.CharField(max_length=255, blank=True)
    promised_at = models.DateField(
        null=True, blank=True, help_text="Backordered: when it should ship, from incoming purchase orders."
    )
    notes = models.TextField(blank=True)
    placed_at = models.DateTimeField(db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(
        null=True, blank=True, help_text="Last parcel delivered or collected: starts the post-sale clock."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="order_unique_external_id_per_channel"
            ),
            models.CheckConstraint(condition=Q(grand_total__gte=0), name="order_grand_total_gte_0"),
        ]
        indexes = [
            models.Index(fields=["channel", "-id"], name="order_channel_recent_idx"),
            models.Index(fields=["status", "-id"], name="order_status_recent_idx"),
            models.Index(fields=["customer", "-id"], name="order_customer_recent_idx"),
            # The post-sale follow-up looks for orders delivered in a window of days.
            models.Index(
                fields=["delivered_at"], name="order_delivered_idx", condition=Q(delivered_at__isnull=False)
            ),
            # The dashboard's order search: a channel's order reference, and the
            # start of the ship-to name (case-insensitive prefix, LIKE 'abc%').
            models.Index(
                fields=["external_id"], name="order_external_id_idx", condition=Q(external_id__isnull=False)
            ),
            models.Index(
                OpClass(Lower(KT("shipping_address__name")), name="text_pattern_ops"),
                name="order_ship_name_idx",
            ),
            # The dashboard's flag filters, newest first: small partial indexes
            # (only flagged orders), so a rare flag is not found by scanning them all.
            *(
                models.Index(fields=["-id"], name=f"order_{flag}_recent_idx", condition=condition)
                for flag, condition in (
                    ("vip", Q(is_vip=True)),
                    ("gift", Q(is_gift=True)),
                    ("replacement", Q(is_replacement=True)),
                    ("account", Q(payment_terms_days__isnull=False)),
                    ("credit_hold", Q(status="on_hold", hold_reason__startswith="Credit limit:")),
                )
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.number}"

    @property
    def number(self) -> str:
        """Customer-facing order number."""
        return f"{self.pk:08d}" if self.pk else "(unsaved)"


# The only moves an order can make; orders.services.order_transition enforces them.
ORDER_TRANSITIONS: dict[str, set[str]] = {
    Order.Status.ON_HOLD: {Order.Status.ALLOCATED, Order.Status.BACKORDERED, Order.Status.CANCELLED},
    Order.Status.BACKORDERED: {Order.Status.ALLOCATED, Order.Status.ON_HOLD, Order.Status.CANCELLED},
    Order.Status.ALLOCATED: {
        Order.Status.FULFILLING,
        Order.Status.ON_HOLD,
        Order.Status.BACKORDERED,
        Order.Status.CANCELLED,
    },
    Order.Status.FULFILLING: {Order.Status.PARTIALLY_SHIPPED, Order.Status.SHIPPED, Order.Status.CANCELLED},
    Order.Status.PARTIALLY_SHIPPED: {Order.Status.SHIPPED},
    Order.Status.SHIPPED: {Order.Status.DELIVERED},
    Order.Status.DELIVERED: {Order.Status.CLOSED},
    Order.Status.CLOSED: set(),
    Order.Status.CANCELLED: set(),
}
CANCELLABLE = {Order.Status.ON_HOLD, Order.Status.BACKORDERED, Order.Status.ALLOCATED}


class OrderLine(models.Model):
    # No single-column index: orderline_unique_number (order, line_number) leads with it.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_number = models.PositiveSmallIntegerField()
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="order_lines")
    external_id = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = MoneyField()
    discount = MoneyField(help_text="Discount on the whole line.")
    tax_rate = models.DecimalField(max_digits=6, decimal_places=5, default=0)
    tax_amount = MoneyField()
    line_total = MoneyField(help_text="quantity x unit price - discount (+ tax when prices exclude it).")
    unit_cost = MoneyField(help_text="SKU cost when ordered, for margin.")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="orderline_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_gt_0"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="orderline_discount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_number}: {self.quantity} x {self.sku_id}"


class OrderEvent(models.Model):
    class Actor(models.TextChoices):
        STAFF = "staff"
        CHANNEL = "channel"
        SYSTEM = "system"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor_type = models.CharField(max_length=8, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} by {self.actor_type}"


class Payment(models.Model):
    class Status(models.TextChoices):
        AUTHORIZED = "authorized"
        CAPTURED = "captured"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded"
        VOIDED = "voided"
        NOT_REQUIRED = "not_required", "Not required"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=32)
    reference = models.CharField(max_length=100, help_text="The gateway's authorization id.")
    token = models.CharField(
        max_length=100, blank=True, help_text="Gateway card token; never the card number."
    )
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_authorized = MoneyField()
    amount_captured = MoneyField()
    amount_refunded = MoneyField()
    status = models.CharField(max_length=20, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "reference"], name="payment_unique_gateway_reference"),
            models.CheckConstraint(
                condition=Q(amount_captured__lte=models.F("amount_authorized")),
                name="payment_capture_lte_auth",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=models.F("amount_captured")),
                name="payment_refund_lte_capture",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.reference} {self.amount_authorized} {self.currency} ({self.status})"


class PaymentTransaction(models.Model):
    """Every call made to a gateway, successful or not."""

    class Kind(models.TextChoices):
        AUTHORIZE = "authorize"
        CAPTURE = "capture"
        VOID = "void"
        REFUND = "refund"

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="transactions", null=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+", null=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    success = models.BooleanField()
    gateway_reference = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {'ok' if self.success else 'failed'}"


class IdempotencyKey(models.Model):
    """Binds a client's Idempotency-Key (or a channel's external order id) to the
    one order it created. The row is claimed before any work starts, in its own
    committed transaction, so concurrent duplicates wait for the first."""

    # No single-column index: idempotency_unique_key (channel, key) leads with it.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="idempotency_unique_key")]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.key}"


from .models_intake import ChannelIntegration, InboundOrder  # noqa: E402, F401
from .models_quotes import QUOTE_TRANSITIONS, Quote, QuoteEvent, QuoteLine  # noqa: E402, F401
