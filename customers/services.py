from __future__ import annotations

from django.db import IntegrityError, transaction

from oms.errors import Conflict
from oms.models import Channel

from .models import Address, Customer

PROFILE_FIELDS = ("first_name", "last_name", "phone", "company")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def customer_for_order(
    *, channel: Channel, email: str, first_name: str = "", last_name: str = "", phone: str = ""
) -> Customer:
    """The channel's customer with this e-mail, created on first order.

    Existing records are only filled in where blank: customer service owns
    the profile once it exists.
    """
    email = normalize_email(email)
    given = {"first_name": first_name, "last_name": last_name, "phone": phone}
    customer = Customer.objects.filter(channel=channel, email__iexact=email).first()
    if customer is None:
        try:
            with transaction.atomic():
                return Customer.objects.create(channel=channel, email=email, **given)
        except IntegrityError:  # a concurrent order created it first
            customer = Customer.objects.get(channel=channel, email__iexact=email)
    blanks = [f for f, v in given.items() if v and not getattr(customer, f)]
    if blanks:
        for f in blanks:
            setattr(customer, f, given[f])
        customer.save(update_fields=[*blanks, "updated_at"])
    return customer


@transaction.atomic
def customer_create(
    *, channel: Channel | None, email: str, addresses: list[dict] | None = None, **profile: object
) -> Customer:
    email = normalize_email(email)
    if Customer.objects.filter(channel=channel, email__iexact=email).exists():
        raise Conflict(
            f"A customer with e-mail {email} already exists.",
            fields={"email": ["already exists"]},
            code="duplicate_customer",
        )
    try:
        with transaction.atomic():
            customer = Customer.objects.create(channel=channel, email=email, **profile)
    except IntegrityError:
        raise Conflict(
            f"A customer with e-mail {email} already exists.",
            fields={"email": ["already exists"]},
            code="duplicate_customer",
        ) from None
    for data in addresses or []:
        Address.objects.create(customer=customer, **data)
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, addresses: list[dict] | None = None, **changes: object
) -> Customer:
    if "email" in changes:
        changes["email"] = normalize_email(str(changes["email"]))
        clash = Customer.objects.filter(channel=customer.channel, email=changes["email"]).exclude(
            pk=customer.pk
        )
        if clash.exists():
            raise Conflict(
                "Another customer has that e-mail.",
                fields={"email": ["already exists"]},
                code="duplicate_customer",
            )
    for name, value in changes.items():
        setattr(customer, name, value)
    if changes:
        customer.save(update_fields=[*changes, "updated_at"])
    if addresses is not None:
        customer.addresses.all().delete()
        for data in addresses:
            Address.objects.create(customer=customer, **data)
    return customer
