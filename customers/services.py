from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Lower

from oms.compiled import CompiledQuery, insert_unless_taken, instance, model_columns
from oms.errors import Conflict, InvalidInput
from oms.models import Channel

from .models import Address, Consent, Contact, Customer

PROFILE_FIELDS = ("first_name", "last_name", "phone", "company")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def customers_with_email(*, channel: Channel | None, email: str):
    """The channel's customers with this e-mail, whatever its case. Filters on
    lower(email), the expression the unique index is on (`email__iexact`
    compiles to UPPER(...) and read every customer of the channel)."""
    return _with_lower_email(channel=channel, email=normalize_email(email))


def _with_lower_email(*, channel: Channel | int | None, email: str):
    return Customer.objects.alias(email_lower=Lower("email")).filter(channel=channel, email_lower=email)


def _customer_by_email(_shape: None, *, channel: int, email: str):
    return _with_lower_email(channel=channel, email=email).order_by("pk").values(*model_columns(Customer))[:1]


# Compiled once: every order runs it, and building it cost more than running it.
_CUSTOMER_BY_EMAIL = CompiledQuery(_customer_by_email)


def customer_for_order(
    *, channel: Channel, email: str, first_name: str = "", last_name: str = "", phone: str = ""
) -> Customer:
    """The channel's customer with this e-mail, created on first order.

    Existing records are only filled in where blank: customer service owns
    the profile once it exists.
    """
    email = normalize_email(email)
    given = {"first_name": first_name, "last_name": last_name, "phone": phone}
    found = _CUSTOMER_BY_EMAIL.rows(channel=channel.pk, email=email)
    customer = instance(Customer, found[0]) if found else None
    if customer is None:
        customer = Customer(channel=channel, email=email, **given)
        if insert_unless_taken(customer):
            return customer
        # A concurrent order created it first (the insert waited for its commit).
        customer = customers_with_email(channel=channel, email=email).get()
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
    if customers_with_email(channel=channel, email=email).exists():
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


# --- Consents, contacts, duplicates ----------------------------------------------------


def consent_record(*, customer: Customer, purpose: str, granted: bool, source: str) -> Consent:
    """Record a yes or no; the newest answer per purpose is the current one."""
    if purpose not in Consent.Purpose.values:
        raise InvalidInput.field("purpose", f"must be one of: {', '.join(Consent.Purpose.values)}")
    if not source.strip():
        raise InvalidInput.field("source", "say where it was given (checkout, phone, form, ...)")
    return Consent.objects.create(customer=customer, purpose=purpose, granted=granted, source=source[:60])


def consents_current(customer: Customer) -> dict[str, bool]:
    """Purpose -> the newest answer (purposes never answered are left out)."""
    rows = (
        Consent.objects.filter(customer=customer)
        .order_by("purpose", "-recorded_at", "-id")
        .distinct("purpose")
        .values_list("purpose", "granted")
    )
    return dict(rows)


@transaction.atomic
def contact_add(
    *,
    customer: Customer,
    name: str,
    email: str = "",
    phone: str = "",
    role: str = "purchasing",
    is_primary: bool = False,
) -> Contact:
    if not name.strip():
        raise InvalidInput.field("name", "is required")
    if role not in Contact.Role.values:
        raise InvalidInput.field("role", f"must be one of: {', '.join(Contact.Role.values)}")
    if is_primary:
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    return Contact.objects.create(
        customer=customer,
        name=name,
        email=normalize_email(email),
        phone=phone,
        role=role,
        is_primary=is_primary,
    )


def phone_key(phone: str) -> str:
    """The digits that identify a phone number whatever its formatting (the
    last nine, so +44 7700 900123 and 07700 900123 match)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[-9:] if len(digits) >= 7 else ""


def customer_duplicates(customer: Customer) -> list[Customer]:
    """Other customer records of the same person: the same e-mail (any
    channel) or the same phone number, oldest first."""
    key = phone_key(customer.phone)
    same = Q(email__iexact=customer.email)
    if key:
        same |= Q(phone_digits__endswith=key)
    return list(
        Customer.objects.annotate(
            phone_digits=Func(F("phone"), Value(r"\D"), Value(""), Value("g"), function="regexp_replace")
        )
        .filter(same)
        .exclude(pk=customer.pk)
        .select_related("channel")
        .order_by("created_at", "id")
    )
