"""Answers to the post-sale follow-up, given through signed links (no login).

A link names the order in its path and carries a token signed with
SECRET_KEY (django.core.signing, one salt per question) holding the same
order id and the answer. So a link cannot be made up, changed to another
answer, or pointed at another order; it expires after
ANSWER_LINK_MAX_AGE_DAYS. Opening a link changes nothing (mail scanners
open every link in a message); the page it shows records the answer when
the customer presses its button.

"Something is missing" opens a customer-service case once per order,
however often the link is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from oms.errors import Gone, InvalidInput, NotFound
from orders.models import Order

from .models import CustomerCase, PostSaleAnswer

RATING = "rating"
ARRIVED = "arrived"
YES = "yes"
MISSING = "missing"
# The questions and the answers each takes.
ANSWERS: dict[str, tuple[str, ...]] = {
    RATING: ("1", "2", "3", "4", "5"),
    ARRIVED: (YES, MISSING),
}
MAX_TOKEN_LENGTH = 200
MAX_COMMENT_LENGTH = 2000


@dataclass(frozen=True)
class Answer:
    order: Order
    kind: str
    value: str


def _salt(kind: str) -> str:
    return f"returns.post-sale-answer.{kind}"


def answer_token(*, order_id: int, kind: str, value: str) -> str:
    return signing.dumps([order_id, value], salt=_salt(kind))


def answer_url(*, order_id: int, kind: str, value: str) -> str:
    """The absolute link that answers `kind` with `value` for the order."""
    token = answer_token(order_id=order_id, kind=kind, value=value)
    path = reverse("returns:answers:answer", kwargs={"order_id": order_id, "kind": kind, "token": token})
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def answer_links(order: Order) -> dict:
    """The follow-up e-mail's links: one per rating, and the two arrival answers."""
    return {
        "ratings": [
            (int(value), answer_url(order_id=order.pk, kind=RATING, value=value)) for value in ANSWERS[RATING]
        ],
        "arrived": answer_url(order_id=order.pk, kind=ARRIVED, value=YES),
        "missing": answer_url(order_id=order.pk, kind=ARRIVED, value=MISSING),
    }


def answer_from_link(*, order_id: int, kind: str, token: str) -> Answer:
    """The answer a link gives, or NotFound (forged, altered, another
    order's, unknown question) / Gone (expired)."""
    if kind not in ANSWERS or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("This link is not valid.")
    try:
        signed_order_id, value = signing.loads(
            token, salt=_salt(kind), max_age=timedelta(days=settings.ANSWER_LINK_MAX_AGE_DAYS)
        )
    except signing.SignatureExpired:
        raise Gone("This link has expired.") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound("This link is not valid.") from None
    if signed_order_id != order_id or value not in ANSWERS[kind]:
        raise NotFound("This link is not valid.")
    order = Order.objects.select_related("channel", "customer").filter(pk=order_id).first()
    if order is None:
        raise NotFound("This link is not valid.")
    return Answer(order=order, kind=kind, value=value)


@transaction.atomic
def post_sale_answer_record(*, order_id: int, kind: str, value: str, comment: str = "") -> PostSaleAnswer:
    """Store an answer (and the optional comment) on the order's
    PostSaleAnswer; a missing item opens a case, once per order."""
    if kind not in ANSWERS:
        raise InvalidInput.field("kind", f"must be one of: {', '.join(ANSWERS)}")
    if value not in ANSWERS[kind]:
        raise InvalidInput.field("answer", f"must be one of: {', '.join(ANSWERS[kind])}")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidInput.field("comment", f"at most {MAX_COMMENT_LENGTH} characters")
    order = Order.objects.select_related("customer").filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.")
    created = PostSaleAnswer.objects.get_or_create(order=order, defaults={"customer": order.customer})[0]
    # The answer row serialises answers to one order (a double click, two
    # tabs): the case below is opened by whoever holds it first, once.
    answer = PostSaleAnswer.objects.select_for_update().get(pk=created.pk)
    if kind == RATING:
        answer.rating = int(value)
    else:
        answer.everything_arrived = value == YES
    if comment and comment not in answer.comment:
        answer.comment = f"{answer.comment}\n\n{comment}".strip()
    answer.save()
    if kind == ARRIVED and value == MISSING:
        _missing_item_case(order, comment)
    return answer


def _missing_item_case(order: Order, comment: str) -> CustomerCase:
    case = CustomerCase.objects.filter(order=order, kind=CustomerCase.Kind.MISSING_ITEM).first()
    if case is None:
        return CustomerCase.objects.create(
            customer=order.customer,
            order=order,
            kind=CustomerCase.Kind.MISSING_ITEM,
            subject=f"Order {order.number}: the customer says something is missing",
            description=comment or "Answered the post-sale follow-up: not everything arrived.",
        )
    if comment and comment not in case.description:
        case.description = f"{case.description}\n\n{comment}".strip()
        case.save(update_fields=["description"])
    return case
