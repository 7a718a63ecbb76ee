"""Input and output shapes of the orders and carts API."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from oms.api.fields import CountryField, MoneyOutField, StrictSerializer
from oms.api.render import render_many
from oms.money import MINOR_UNITS, ZERO, round_money

from ..models import Cart, CartLine, Order, OrderEvent, OrderLine, Payment
from ..payments import CardDetails
from ..services import CustomerInput, LineInput, OrderInput, PaymentInput

AMOUNT = {"max_digits": 16, "decimal_places": 4, "min_value": 0, "max_value": 10**11}


class AddressIn(StrictSerializer):
    name = serializers.CharField(max_length=200)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = CountryField()
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
        required=False,
        allow_null=True,
        default=None,
    )
    longitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
        required=False,
        allow_null=True,
        default=None,
    )

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if (value["latitude"] is None) != (value["longitude"] is None):
            raise serializers.ValidationError({"longitude": ["give both latitude and longitude, or neither"]})
        value["region"] = value["region"].upper()
        for key in ("latitude", "longitude"):  # JSON-safe snapshot
            value[key] = None if value[key] is None else str(value[key])
        return value


class CustomerIn(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class CardIn(StrictSerializer):
    number = serializers.RegexField(
        r"^[0-9][0-9 -]{10,22}[0-9]$",
        error_messages={"invalid": "must be 12 to 19 digits (spaces or dashes allowed)"},
    )
    exp_month = serializers.IntegerField(min_value=1, max_value=12)
    exp_year = serializers.IntegerField(min_value=2000, max_value=2100)
    cvc = serializers.RegexField(r"^[0-9]{3,4}$", error_messages={"invalid": "must be 3 or 4 digits"})
    holder = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class PaymentIn(StrictSerializer):
    gateway = serializers.CharField(max_length=32, default=settings.DEFAULT_PAYMENT_GATEWAY)
    card = CardIn(required=False)
    token = serializers.CharField(max_length=200, required=False)

    def validate(self, attrs):
        if ("card" in attrs) == ("token" in attrs):
            raise serializers.ValidationError({"card": ["give either card details or a card token"]})
        return attrs


class LineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=settings.MAX_LINE_QUANTITY)
    unit_price = serializers.DecimalField(
        **AMOUNT, required=False, help_text="Only from channels that set their own prices."
    )
    discount = serializers.DecimalField(**AMOUNT, required=False, help_text="Discount on the whole line.")
    tax_amount = serializers.DecimalField(
        **AMOUNT, required=False, help_text="Only from channels that set their own prices."
    )
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class OrderIn(StrictSerializer):
    channel = serializers.CharField(
        max_length=32,
        required=False,
        help_text="Channel code; staff only (a channel key implies its channel).",
    )
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=False,
        help_text="The channel's own order id; unique per channel.",
    )
    currency = serializers.ChoiceField(choices=sorted(MINOR_UNITS))
    customer = CustomerIn()
    shipping_address = AddressIn()
    billing_address = AddressIn(required=False, allow_null=True)
    lines = LineIn(many=True, allow_empty=False, max_length=settings.MAX_ORDER_LINES)
    payment = PaymentIn(required=False, allow_null=True)
    on_account = serializers.BooleanField(
        default=False,
        help_text="B2B: bill on account (invoiced with the customer's payment terms, no card). The "
        "customer must have terms; an order over its credit limit is held for approval.",
    )
    shipping_amount = serializers.DecimalField(
        **AMOUNT, required=False, help_text="Only from channels that set their own prices."
    )
    total = serializers.DecimalField(
        **AMOUNT, required=False, help_text="The grand total the client expects; checked against the OMS's."
    )
    is_gift = serializers.BooleanField(default=False)
    gift_message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    shipping_speed = serializers.ChoiceField(choices=Order.ShippingSpeed.choices, default="standard")
    deliver_by = serializers.DateField(
        required=False, allow_null=True, help_text="Delivery date promised to the customer."
    )
    pickup_store = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="",
        help_text="Click and collect: code of the store the customer collects from.",
    )  # fmt: skip
    is_vip = serializers.BooleanField(default=False)
    is_replacement = serializers.BooleanField(default=False)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CheckoutIn(StrictSerializer):
    customer = CustomerIn()
    shipping_address = AddressIn()
    billing_address = AddressIn(required=False, allow_null=True)
    payment = PaymentIn(required=False, allow_null=True)
    total = serializers.DecimalField(**AMOUNT, required=False)
    is_gift = serializers.BooleanField(default=False)
    gift_message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    shipping_speed = serializers.ChoiceField(choices=Order.ShippingSpeed.choices, default="standard")
    deliver_by = serializers.DateField(
        required=False, allow_null=True, help_text="Delivery date promised to the customer."
    )
    pickup_store = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="",
        help_text="Click and collect: code of the store the customer collects from.",
    )  # fmt: skip
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


def payment_input(data: dict | None) -> PaymentInput | None:
    if not data:
        return None
    card = data.get("card")
    return PaymentInput(
        gateway=data["gateway"],
        card=CardDetails(
            number=card["number"].replace(" ", "").replace("-", ""),
            exp_month=card["exp_month"],
            exp_year=card["exp_year"],
            cvc=card["cvc"],
            holder=card.get("holder", ""),
        )
        if card
        else None,
        token=data.get("token"),
    )


def order_input(
    data: dict, *, channel, actor, lines: list[LineInput] | None = None, source: str
) -> OrderInput:
    """Validated API data -> the placement service's input."""
    return OrderInput(
        channel=channel,
        actor=actor,
        currency=data.get("currency", channel.currency),
        customer=CustomerInput(**data["customer"]),
        shipping_address=dict(data["shipping_address"]),
        billing_address=dict(data["billing_address"]) if data.get("billing_address") else None,
        lines=lines
        if lines is not None
        else [
            LineInput(
                sku=ln["sku"],
                quantity=ln["quantity"],
                unit_price=ln.get("unit_price"),
                discount=ln.get("discount") or ZERO,
                tax_amount=ln.get("tax_amount"),
                external_id=ln.get("external_id", ""),
            )
            for ln in data["lines"]
        ],
        payment=payment_input(data.get("payment")),
        on_account=data.get("on_account", False),
        external_id=data.get("external_id"),
        shipping_amount=data.get("shipping_amount"),
        expected_total=data.get("total"),
        is_gift=data.get("is_gift", False),
        gift_message=data.get("gift_message", ""),
        is_vip=data.get("is_vip", False),
        is_replacement=data.get("is_replacement", False),
        notes=data.get("notes", ""),
        shipping_speed=data.get("shipping_speed", "standard"),
        deliver_by=data.get("deliver_by"),
        pickup_store=data.get("pickup_store", ""),
        source=source,
    )


class OrderLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    warehouse = serializers.CharField(source="warehouse.code", default=None, allow_null=True)
    unit_price = MoneyOutField(currency_attr="order_currency")
    discount = MoneyOutField(currency_attr="order_currency")
    tax_amount = MoneyOutField(currency_attr="order_currency")
    line_total = MoneyOutField(currency_attr="order_currency")

    class Meta:
        model = OrderLine
        fields = [
            "line_number",
            "sku",
            "name",
            "external_id",
            "quantity",
            "unit_price",
            "discount",
            "tax_rate",
            "tax_amount",
            "line_total",
            "warehouse",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_cancelled",
        ]


class PaymentOut(serializers.ModelSerializer):
    amount_authorized = MoneyOutField()
    amount_captured = MoneyOutField()
    amount_refunded = MoneyOutField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "gateway",
            "reference",
            "token",
            "brand",
            "last4",
            "currency",
            "amount_authorized",
            "amount_captured",
            "amount_refunded",
            "status",
            "created_at",
        ]


class OrderEventOut(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = ["kind", "from_status", "to_status", "actor", "message", "created_at"]

    def get_actor(self, event: OrderEvent) -> str:
        if event.actor_type == OrderEvent.Actor.CHANNEL and event.actor_channel_id:
            return f"channel:{event.actor_channel.code}"
        if event.actor_type == OrderEvent.Actor.STAFF and event.actor_user_id:
            return f"staff:{event.actor_user.get_username()}"
        return event.actor_type


class OrderOut(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    channel = serializers.CharField(source="channel.code")
    customer = serializers.SerializerMethodField()
    warehouse = serializers.CharField(source="warehouse.code", default=None, allow_null=True)
    pickup_store = serializers.CharField(source="pickup_location.code", default=None, allow_null=True)
    subtotal = MoneyOutField()
    discount_total = MoneyOutField()
    shipping_total = MoneyOutField()
    tax_total = MoneyOutField()
    grand_total = MoneyOutField()
    lines = serializers.SerializerMethodField()
    payments = PaymentOut(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "channel",
            "external_id",
            "source",
            "status",
            "customer",
            "email",
            "shipping_address",
            "billing_address",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "grand_total",
            "prices_include_tax",
            "warehouse",
            "is_gift",
            "gift_message",
            "is_vip",
            "is_replacement",
            "special_code",
            "priority",
            "hold_reason",
            "payment_terms_days",
            "promised_at",
            "shipping_speed",
            "deliver_by",
            "pickup_store",
            "placed_at",
            "cancelled_at",
            "delivered_at",
            "lines",
            "payments",
        ]

    def get_customer(self, order: Order) -> dict:
        c = order.customer
        return {"id": c.pk, "email": c.email, "first_name": c.first_name, "last_name": c.last_name}

    def get_lines(self, order: Order) -> list[dict]:
        lines = list(order.lines.all())
        for line in lines:
            line.order_currency = order.currency
        return render_many(OrderLineOut, lines)


class OrderDetailOut(OrderOut):
    events = OrderEventOut(many=True)

    class Meta(OrderOut.Meta):
        fields = [*OrderOut.Meta.fields, "events"]


class CartLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    unit_price = MoneyOutField(currency_attr="cart_currency")
    warehouse = serializers.CharField(source="reservation.warehouse.code", default=None, allow_null=True)
    reserved = serializers.SerializerMethodField()

    class Meta:
        model = CartLine
        fields = ["sku", "name", "quantity", "unit_price", "warehouse", "reserved"]

    def get_reserved(self, line: CartLine) -> bool:
        return bool(line.reservation and line.reservation.status == "active")


class CartOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    channel = serializers.CharField(source="channel.code")
    lines = serializers.SerializerMethodField()
    subtotal = serializers.SerializerMethodField()
    order_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Cart
        fields = [
            "id",
            "channel",
            "status",
            "email",
            "currency",
            "ship_country",
            "expires_at",
            "lines",
            "subtotal",
            "order_id",
            "created_at",
            "updated_at",
        ]

    def get_lines(self, cart: Cart) -> list[dict]:
        lines = list(cart.lines.all())
        for line in lines:
            line.cart_currency = cart.currency
        return CartLineOut(lines, many=True).data

    def get_subtotal(self, cart: Cart) -> str:
        return str(
            round_money(sum((ln.unit_price * ln.quantity for ln in cart.lines.all()), 0), cart.currency)
        )


class CartLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=settings.MAX_LINE_QUANTITY)


class CartIn(StrictSerializer):
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    ship_country = CountryField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Destination country, to reserve from the nearest warehouse.",
    )
    lines = CartLineIn(many=True, required=False, max_length=200)


class CartLineQuantityIn(StrictSerializer):
    quantity = serializers.IntegerField(
        min_value=0, max_value=settings.MAX_LINE_QUANTITY, help_text="0 removes the line."
    )


class CancelIn(StrictSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
