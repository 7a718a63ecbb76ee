"""Customer e-mails after the parcel: delivered, return authorized / rejected /
received / completed, refund issued, each once per event, in the channel's
branding and the customer's language (English, Traditional Chinese, Greek);
the post-sale follow-up, once and at the right time even with two runs at
once; and its answer links, which cannot be forged, moved to another order
or used after they expire."""

# ruff: noqa: RUF001 - the translated e-mails are asserted on in Chinese and Greek.

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.db import connection, connections
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone, translation

from customers.models import Customer
from fulfillment.carriers import TrackingUpdate
from fulfillment.notifications import order_shipped
from fulfillment.shipping import shipment_ship
from fulfillment.shipping.capture import capture_shipment
from fulfillment.tracking import tracking_apply
from inventory.models import Warehouse
from oms.actors import Actor
from oms.errors import InvalidInput
from oms.mail import customer_language
from oms.models import OutboxEvent
from oms.outbox import deliver, dispatch_pending
from orders.models import Order
from returns.answers import answer_links, answer_token, post_sale_answer_record
from returns.models import CustomerCase, FollowUp, PostSaleAnswer, ReturnEvent, ReturnLine, ReturnPolicy
from returns.notifications import (
    FOLLOW_UP_TOPIC,
    follow_up_email,
    follow_ups_queue,
    order_delivered_email,
    return_status_email,
)
from returns.services import (
    REFUNDED_TOPIC,
    STATUS_TOPIC,
    Inspection,
    ReturnLineInput,
    return_exchange,
    return_receive,
    return_refund,
    return_reject,
    return_request,
)
from returns.tasks import send_follow_ups
from tests.factories import sku_in_stock
from tests.fulfillment.conftest import place_order, release_whole_order
from tests.fulfillment.shipping_world import pack, shipped_events

pytestmark = pytest.mark.django_db
SITE = "https://shop.example.com"
SYSTEM = Actor.system()
R = ReturnLine.Reason


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.SITE_URL = SITE
    settings.BASE_CURRENCY = "USD"
    settings.LANGUAGE_CODE = "en-us"
    settings.FOLLOW_UP_DAYS = 7
    settings.ANSWER_LINK_MAX_AGE_DAYS = 60


@pytest.fixture
def shop(channel):
    channel.name = "Aurora Home"
    channel.sender_email = "hello@aurora.example"
    channel.support_email = "care@aurora.example"
    channel.save()
    return channel


@pytest.fixture
def delivered(shop, warehouse, carrier, boxes, materials):
    """Two mugs, shipped by carrier, captured, and delivered (tracking scan) just now."""
    Warehouse.objects.filter(pk=warehouse.pk).update(line1="1 Dock Road", postal_code="08817")
    mug = sku_in_stock(channel=shop, warehouse=warehouse, quantity=10, price="20.00", name="Stoneware mug")
    order = place_order(shop, [(mug.code, 2)])
    fo = pack(release_whole_order(order, service_id=carrier.services.get(code="ground").pk))
    shipment_ship(fulfillment_order_id=fo.pk, actor=SYSTEM)
    capture_shipment(shipped_events()[-1])
    fo.refresh_from_db()
    scan = TrackingUpdate(
        "d1", fo.tracking_number, "delivered", "Delivered", "New York, NY", timezone.now(), {}
    )
    tracking_apply(carrier=carrier, updates=[scan])
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    return order


def speaks(order, language: str) -> None:
    Customer.objects.filter(pk=order.customer_id).update(language=language)


def run(*topics: str) -> list[OutboxEvent]:
    """Deliver the pending outbox events of these topics, as the dispatcher does."""
    events = list(OutboxEvent.objects.filter(topic__in=topics, dispatched_at=None).order_by("id"))
    assert all(deliver(event) for event in events)
    return events


def redeliver(events: list[OutboxEvent]) -> None:
    """As if the outbox had lost every handler's success (a crash after sending)."""
    for event in events:
        event.done_handlers = []
        deliver(event)


def bodies(mail) -> tuple[str, str]:
    return mail.body, mail.alternatives[0][0]


def ask(order, reason=R.DEFECTIVE, **kwargs):
    line = order.lines.get()
    return return_request(
        order_id=order.pk,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=1, reason=reason)],
        actor=SYSTEM,
        source="customer",
        **kwargs,
    )


def inspect_all(request, disposition=ReturnLine.Disposition.RESTOCK):
    return return_receive(
        return_id=request.pk,
        inspections=[Inspection(ln.pk, ln.quantity, "new", disposition) for ln in request.lines.all()],
        actor=SYSTEM,
    )


# --- Delivered ------------------------------------------------------------------------


def test_delivered_email_is_branded_with_the_return_window_and_sent_once(delivered, mailoutbox):
    order = delivered
    ReturnPolicy.objects.create(channel=order.channel, window_days=30)
    events = run("order.delivered")

    [mail] = mailoutbox
    assert mail.from_email == "hello@aurora.example" and mail.to == [order.email]
    assert mail.subject == f"Aurora Home: order {order.number} has been delivered"
    return_by = timezone.localdate(order.delivered_at) + timedelta(days=30)
    policy = f"{SITE}/returns/policy/{order.channel.code}/"
    text, html = bodies(mail)
    for body in (text, html):
        assert "Hello Ada," in body and "has been delivered" in body
        assert "2 x Stoneware mug" in body.replace(" &times; ", " x ")
        assert f"within 30 days of delivery, until {return_by.day} {return_by:%B %Y}." in body
        assert policy in body and "care@aurora.example" in body and "Aurora Home" in body
    assert f'href="{policy}"' in html and 'href="mailto:care@aurora.example"' in html

    redeliver(events)
    order_delivered_email(events[0])
    assert len(mailoutbox) == 1
    assert order.events.filter(kind="delivered_email_sent").count() == 1


# --- Returns and refunds ---------------------------------------------------------------

RETURN_TEXTS = {
    "en": {
        "authorized": "Aurora Home: return {rma} authorized",
        "received": "Aurora Home: we have received your return {rma}",
        "refunded": "Aurora Home: {amount} refunded for return {rma}",
        "hello": "Hello Ada,",
        "on_us": "Return shipping is on us.",
        "refund_later": "we will refund you to your original payment method",
        "refunded_body": "We have refunded {amount} for your return {rma}",
    },
    "zh-hant": {
        "authorized": "Aurora Home：退貨 {rma} 已獲核准",
        "received": "Aurora Home：我們已收到您的退貨 {rma}",
        "refunded": "Aurora Home：退貨 {rma} 已退款 {amount}",
        "hello": "Ada 您好：",
        "on_us": "退貨運費由我們負擔。",
        "refund_later": "就會將款項退回您原本的付款方式",
        "refunded_body": "的款項 {amount} 退回您原本的付款方式",
    },
    "el": {
        "authorized": "Aurora Home: η επιστροφή {rma} εγκρίθηκε",
        "received": "Aurora Home: παραλάβαμε την επιστροφή σας {rma}",
        "refunded": "Aurora Home: επιστροφή χρημάτων {amount} για την επιστροφή {rma}",
        "hello": "Γεια σας Ada,",
        "on_us": "Τα έξοδα αποστολής της επιστροφής τα αναλαμβάνουμε εμείς.",
        "refund_later": "θα σας επιστρέψουμε τα χρήματα στον αρχικό τρόπο πληρωμής σας",
        "refunded_body": "Σας επιστρέψαμε {amount} για την επιστροφή {rma}",
    },
}


@pytest.mark.parametrize("language", ["en", "zh-hant", "el"])
def test_return_emails_follow_the_return_in_the_customers_language(delivered, mailoutbox, language):
    order = delivered
    speaks(order, language)
    ReturnPolicy.objects.create(
        channel=order.channel, instructions="Pack it in its box.\nDrop it at the front desk."
    )
    request = ask(order)  # inside the policy: authorized at once; a defect: shipping on us
    rma = request.number
    inspect_all(request)
    request = return_refund(return_id=request.pk, actor=SYSTEM)
    events = run(STATUS_TOPIC, REFUNDED_TOPIC)  # authorized, received, completed; refunded
    texts = {
        k: v.format(rma=rma, amount=f"{request.refund_total:.2f} USD")
        for k, v in RETURN_TEXTS[language].items()
    }

    # A refund completes the return: one e-mail says both, not two.
    authorized, received, refunded = mailoutbox
    assert [m.subject for m in mailoutbox] == [texts["authorized"], texts["received"], texts["refunded"]]
    assert {m.from_email for m in mailoutbox} == {"hello@aurora.example"}
    for body in bodies(authorized):
        assert texts["hello"] in body and rma in body and order.number in body
        assert "Warehouse DC-NJ" in body and "1 Dock Road" in body and "08817 Edison, NJ" in body
        assert "Pack it in its box." in body and "Drop it at the front desk." in body
        assert texts["on_us"] in body and texts["refund_later"] in body
        assert f"{SITE}/returns/policy/{order.channel.code}/" in body
    for body in bodies(received):
        assert rma in body and "1 x Stoneware mug" in body.replace(" &times; ", " x ")
    for body in bodies(refunded):
        assert texts["refunded_body"] in body.replace("<strong>", "").replace("</strong>", "")
    if language != "en":
        for mail in mailoutbox:
            assert "Hello" not in mail.body and "Questions? Write to" not in mail.body
    assert f'<html lang="{language}">' in authorized.alternatives[0][0]

    redeliver(events)
    assert len(mailoutbox) == 3
    assert ReturnEvent.objects.filter(request=request, kind="customer_emailed").count() == 3


def test_a_rejected_return_says_why_and_an_exchange_names_the_replacement(delivered, mailoutbox):
    order = delivered
    sku_code = order.lines.get().sku.code
    policy = ReturnPolicy.objects.create(channel=order.channel, non_returnable_skus=[sku_code])
    request = ask(order, R.NO_LONGER_NEEDED, allow_review=True)  # outside: waits for review, no e-mail
    return_reject(return_id=request.pk, actor=SYSTEM, reason="Opened mugs cannot be returned.")
    run(STATUS_TOPIC)
    [rejected] = mailoutbox
    assert rejected.subject == f"Aurora Home: about your return {request.number}"
    for body in bodies(rejected):
        assert "we cannot accept your return" in body and "Opened mugs cannot be returned." in body
        assert "Please do not send the items back." in body

    policy.non_returnable_skus = []
    policy.save()
    exchange = ask(order, R.WRONG_ITEM, resolution="exchange")
    inspect_all(exchange)
    exchange = return_exchange(return_id=exchange.pk, actor=SYSTEM)
    run(STATUS_TOPIC)
    subjects = [m.subject for m in mailoutbox[1:]]
    assert subjects == [
        f"Aurora Home: return {exchange.number} authorized",
        f"Aurora Home: we have received your return {exchange.number}",
        f"Aurora Home: your return {exchange.number} is complete",
    ]
    assert "we will send you the replacement" in mailoutbox[1].body
    replacement = exchange.replacement_order
    assert f"Your replacement goes out as order {replacement.number}, free of charge" in mailoutbox[3].body


def test_a_status_email_renders_the_status_the_event_announced(delivered, mailoutbox):
    """Authorized and received before the outbox runs: both e-mails, in order."""
    order = delivered
    request = inspect_all(ask(order))
    run(STATUS_TOPIC)
    assert [m.subject.split(": ", 1)[1] for m in mailoutbox] == [
        f"return {request.number} authorized",
        f"we have received your return {request.number}",
    ]
    event = OutboxEvent.objects.filter(topic=STATUS_TOPIC, payload__status="authorized").get()
    return_status_email(event)  # redelivered by hand
    assert len(mailoutbox) == 2


# --- Follow-up ---------------------------------------------------------------------------


def answer_urls(body: str, order) -> list[str]:
    return re.findall(rf"{re.escape(SITE)}/returns/answers/{order.pk}/[a-z]+/[^\s\"<]+/", body)


def test_follow_up_goes_once_follow_up_days_after_delivery(delivered, mailoutbox):
    order = delivered
    t0 = order.delivered_at
    assert follow_ups_queue(now=t0 + timedelta(days=7) - timedelta(minutes=1)) == 0
    assert not FollowUp.objects.exists()
    assert follow_ups_queue(now=t0 + timedelta(days=7)) == 1
    assert follow_ups_queue(now=t0 + timedelta(days=7, hours=1)) == 0
    events = run(FOLLOW_UP_TOPIC)

    [mail] = mailoutbox
    assert mail.subject == f"Aurora Home: how was your order {order.number}?"
    assert mail.from_email == "hello@aurora.example" and mail.to == [order.email]
    text, html = bodies(mail)
    for body in (text, html):
        assert "How would you rate your order?" in body and "Did everything arrive?" in body
        assert "Yes, everything arrived" in body and "No, something is missing" in body
        assert "Our customer service team is happy to help" in body and "care@aurora.example" in body
        urls = answer_urls(body, order)
        kinds = [u.split("/")[-3] for u in urls]
        assert kinds == ["rating"] * 5 + ["arrived"] * 2
    assert html.count(f'href="{SITE}/returns/answers/{order.pk}/rating/') == 5
    assert FollowUp.objects.get(order=order).sent_at is not None

    redeliver(events)
    follow_up_email(events[0])
    assert len(mailoutbox) == 1
    assert follow_ups_queue(now=t0 + timedelta(days=20)) == 0
    assert OutboxEvent.objects.filter(topic=FOLLOW_UP_TOPIC).count() == 1


def test_follow_up_days_is_a_setting_and_stale_orders_are_left_alone(delivered, settings):
    order = delivered
    settings.FOLLOW_UP_DAYS = 3
    long_ago = place_order(order.channel, [(order.lines.get().sku.code, 1)])
    cancelled = place_order(order.channel, [(order.lines.get().sku.code, 1)])
    Order.objects.filter(pk=long_ago.pk).update(delivered_at=order.delivered_at - timedelta(days=60))
    Order.objects.filter(pk=cancelled.pk).update(
        delivered_at=order.delivered_at, status=Order.Status.CANCELLED
    )
    assert follow_ups_queue(now=order.delivered_at + timedelta(days=3)) == 1
    assert list(FollowUp.objects.values_list("order_id", flat=True)) == [order.pk]


def test_the_beat_task_queues_due_follow_ups(delivered):
    Order.objects.filter(pk=delivered.pk).update(delivered_at=timezone.now() - timedelta(days=8))
    assert send_follow_ups.apply().get() == 1
    assert send_follow_ups.apply().get() == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_queue_each_follow_up_once(channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=20, price="5.00")
    orders = [place_order(channel, [(sku.code, 1)]) for _ in range(5)]
    first = min(o.pk for o in orders)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        delivered_at=timezone.now() - timedelta(days=8)
    )
    # A third session holds an uncommitted claim on the first order, so both
    # runs read all five as due and then meet at the claim.
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FollowUp._meta.db_table} (order_id, claimed_at) VALUES (%s, now())",  # noqa: S608
            [first],
        )
    results: list[int] = []
    errors: list[Exception] = []

    def queue() -> None:
        try:
            results.append(follow_ups_queue())
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=queue) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 4
        waiting = 0
        while waiting < 2 and time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                waiting = cursor.fetchone()[0]
            time.sleep(0.02)
        assert waiting == 2, "both runs should be waiting at the claim"
    finally:
        blocker.rollback()
        blocker.close()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [0, 5]
    assert FollowUp.objects.count() == 5
    assert OutboxEvent.objects.filter(topic=FOLLOW_UP_TOPIC).count() == 5


# --- Answers through signed links ------------------------------------------------------


def local(url: str) -> str:
    assert url.startswith(SITE)
    return url.removeprefix(SITE)


def signed_days_ago(days: int, salt: str, value) -> str:
    """A token Django's own signer dated `days` ago."""

    class SignedThen(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - days * 86400)

    return SignedThen(salt=salt).sign_object(value)


def test_a_link_shows_the_answer_and_records_it_only_when_sent(delivered, client):
    order = delivered
    four = local(answer_links(order)["ratings"][3][1])
    page = client.get(four)
    assert page.status_code == 200 and page["X-Robots-Tag"] == "noindex"
    content = page.content.decode()
    assert (
        "You are rating your order 4 stars out of 5." in content and 'name="csrfmiddlewaretoken"' in content
    )
    assert not PostSaleAnswer.objects.exists()  # a mail scanner opening links changes nothing

    done = client.post(four, {"comment": "Lovely glaze."})
    assert (
        done.status_code == 200
        and f"We have recorded your rating of order {order.number}" in done.content.decode()
    )
    answer = PostSaleAnswer.objects.get(order=order)
    assert (answer.rating, answer.everything_arrived, answer.comment) == (4, None, "Lovely glaze.")
    assert answer.customer_id == order.customer_id

    client.post(local(answer_links(order)["arrived"]))
    answer.refresh_from_db()
    assert (answer.rating, answer.everything_arrived) == (4, True)
    assert not CustomerCase.objects.exists()


def test_posting_needs_the_pages_csrf_token(delivered):
    url = local(answer_links(delivered)["ratings"][4][1])
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(url, {"comment": ""}).status_code == 403
    page = browser.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert browser.post(url, {"comment": "", "csrfmiddlewaretoken": token}).status_code == 200
    assert PostSaleAnswer.objects.get(order=delivered).rating == 5


def test_something_missing_opens_one_case_however_often_it_is_sent(delivered, client):
    order = delivered
    missing = local(answer_links(order)["missing"])
    assert "something is missing from your order" in client.get(missing).content.decode()
    client.post(missing, {"comment": "Only one mug came."})
    client.post(missing, {"comment": "Only one mug came."})
    client.post(missing, {"comment": ""})
    [case] = CustomerCase.objects.filter(order=order)
    assert case.kind == CustomerCase.Kind.MISSING_ITEM and case.status == CustomerCase.Status.OPEN
    assert case.customer_id == order.customer_id and case.description == "Only one mug came."
    assert PostSaleAnswer.objects.get(order=order).everything_arrived is False


def test_links_cannot_be_forged_moved_to_another_order_or_used_expired(delivered, client):
    order = delivered
    other = place_order(order.channel, [(order.lines.get().sku.code, 1)])
    url = local(answer_links(order)["ratings"][4][1])
    token = url.rstrip("/").rsplit("/", 1)[1]

    tampered = url[:-3] + ("A" if url[-3] != "A" else "B") + url[-2:]
    moved = f"/returns/answers/{other.pk}/rating/{token}/"
    wrong_question = f"/returns/answers/{order.pk}/arrived/{token}/"
    unknown_question = f"/returns/answers/{order.pk}/colour/{token}/"
    bad_value = f"/returns/answers/{order.pk}/rating/" + answer_token(
        order_id=order.pk, kind="rating", value="9"
    )
    for bad in (tampered, moved, wrong_question, unknown_question, bad_value + "/"):
        for response in (client.get(bad), client.post(bad, {"comment": "x"})):
            assert response.status_code == 404, bad
            assert "This link is not valid" in response.content.decode()
    assert not PostSaleAnswer.objects.exists()

    salt = "returns.post-sale-answer.rating"
    expired = signed_days_ago(61, salt, [order.pk, "5"])
    still_good = signed_days_ago(59, salt, [order.pk, "5"])
    response = client.post(f"/returns/answers/{order.pk}/rating/{expired}/")
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    assert client.get(f"/returns/answers/{order.pk}/rating/{still_good}/").status_code == 200
    assert not PostSaleAnswer.objects.exists()


def test_bad_answers_name_the_field_and_store_nothing(delivered, client):
    order = delivered
    url = local(answer_links(order)["ratings"][0][1])
    response = client.post(url, {"comment": "x" * 2001})
    assert response.status_code == 400 and "at most 2000 characters" in response.content.decode()
    assert not PostSaleAnswer.objects.exists()
    with pytest.raises(InvalidInput) as exc:
        post_sale_answer_record(order_id=order.pk, kind="rating", value="6")
    assert exc.value.fields == {"answer": ["must be one of: 1, 2, 3, 4, 5"]}
    with pytest.raises(InvalidInput) as exc:
        post_sale_answer_record(order_id=order.pk, kind="rating", value="3", comment="y" * 2001)
    assert list(exc.value.fields) == ["comment"]
    assert not PostSaleAnswer.objects.exists()


def test_the_answer_page_speaks_the_customers_language(delivered, client):
    speaks(delivered, "el")
    content = client.get(local(answer_links(delivered)["missing"])).content.decode()
    assert '<html lang="el">' in content and "Μας λέτε ότι κάτι λείπει από την παραγγελία σας." in content
    assert "Αποστολή απάντησης" in content


# --- Real SMTP ----------------------------------------------------------------------------


def test_follow_up_arrives_over_smtp_in_traditional_chinese(smtp_server, delivered):
    order = delivered
    speaks(order, "zh-hant")
    # Earlier e-mails and hooks of the order are other tests' business.
    OutboxEvent.objects.filter(dispatched_at=None).update(dispatched_at=timezone.now())
    assert follow_ups_queue(now=order.delivered_at + timedelta(days=7)) == 1
    assert dispatch_pending() == 1

    ((sender, recipients, message),) = smtp_server.messages
    assert sender == "hello@aurora.example" and recipients == [order.email]
    # Django folds an encoded subject onto a continuation line; the parser keeps its indent.
    assert message["Subject"].strip() == f"Aurora Home：您對訂單 {order.number} 滿意嗎？"
    event = OutboxEvent.objects.get(topic=FOLLOW_UP_TOPIC)
    assert message["Message-ID"].startswith(f"<outbox-{event.pk}-emails.follow_up@aurora.example")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert "Ada 您好：" in body and "您會給這筆訂單幾顆星？" in body
        assert "是的，全部都收到了" in body and "沒有，少了東西" in body
        assert "我們的客服團隊很樂意為您服務" in body and "care@aurora.example" in body
        assert len(answer_urls(body, order)) == 7
    assert '<html lang="zh-hant">' in html
    assert FollowUp.objects.get(order=order).sent_at is not None


def test_delivered_email_arrives_over_smtp_in_greek(smtp_server, delivered):
    order = delivered
    speaks(order, "el")
    assert dispatch_pending() >= 1
    [message] = [m for _, _, m in smtp_server.messages if "παραδόθηκε" in m["Subject"]]
    assert message["Subject"].strip() == f"Aurora Home: η παραγγελία {order.number} παραδόθηκε"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Γεια σας Ada," in text and "Ελπίζουμε να σας αρέσει!" in text
    assert "Η πολιτική επιστροφών μας:" in text and f"{SITE}/returns/policy/{order.channel.code}/" in text


# --- The existing order e-mails, translated ------------------------------------------------


def test_customer_language_falls_back_to_the_site_language(settings):
    assert customer_language(Customer(language="zh-hant")) == "zh-hant"
    assert customer_language(Customer(language="EL")) == "el"
    assert customer_language(Customer(language="")) == "en"
    assert customer_language(Customer(language="tlh")) == "en"
    settings.LANGUAGE_CODE = "el"
    assert customer_language(Customer(language="")) == "el"


SHIPPED = {
    "en": (
        "has shipped",
        "Good news: your order",
        "Expected delivery",
        "Friday 13 June 2031",
        "Our return policy",
    ),
    "zh-hant": ("已出貨", "好消息：您的訂單", "預計送達", "2031年6月13日 星期五", "我們的退貨政策"),
    "el": (
        "στάλθηκε",
        "Καλά νέα: η παραγγελία σας",
        "Αναμενόμενη παράδοση",
        "Παρασκευή 13 Ιουνίου 2031",
        "Η πολιτική επιστροφών μας",
    ),
}


@pytest.mark.parametrize("language", ["en", "zh-hant", "el"])
def test_shipped_email_shows_tracking_and_eta_translated(
    shop,
    warehouse,
    carrier,
    boxes,
    materials,
    mailoutbox,
    language,
):
    mug = sku_in_stock(channel=shop, warehouse=warehouse, quantity=5, price="20.00", name="Stoneware mug")
    order = place_order(shop, [(mug.code, 1)])
    fo = pack(
        release_whole_order(
            order, service_id=carrier.services.get(code="ground").pk, promised_delivery="2031-06-13"
        )
    )
    shipment_ship(fulfillment_order_id=fo.pk, actor=SYSTEM)
    fo.refresh_from_db()
    order.customer.language = language  # the handler writes in the customer's language
    order.customer.save(update_fields=["language"])
    order_shipped(shipped_events()[-1])
    [mail] = mailoutbox
    subject_word, opening, eta_label, eta, policy = SHIPPED[language]
    assert subject_word in mail.subject
    for body in bodies(mail):
        assert opening in body and eta in body and policy in body
        assert fo.tracking_number in body and f"{SITE}/track/" in body
        assert f"https://track.example.com/acme/{fo.tracking_number}" in body
    assert eta_label in mail.alternatives[0][0]


CONFIRMATION = {
    "zh-hant": (
        "Aurora Home：訂單 {number} 已確認",
        "訂購！訂單編號：",
        "總計",
        "有任何問題嗎？請寫信至",
    ),
    "el": (
        "Aurora Home: η παραγγελία {number} επιβεβαιώθηκε",
        "Σας ευχαριστούμε για την παραγγελία σας",
        "Σύνολο",
        "Έχετε απορίες; Γράψτε μας στο",
    ),
}


@pytest.mark.parametrize("language", ["zh-hant", "el"])
def test_confirmation_and_cancellation_emails_are_translated(delivered, language):
    order = delivered
    context = {"order": order, "channel": order.channel, "site_url": SITE}
    with translation.override(language):
        subject = render_to_string("emails/order_confirmation_subject.txt", context).strip()
        text = render_to_string("emails/order_confirmation.txt", context)
        html = render_to_string("emails/order_confirmation.html", context)
        cancelled = render_to_string("emails/order_cancelled.txt", {**context, "reason": ""})
    expected_subject, thanks, total, questions = CONFIRMATION[language]
    assert subject == expected_subject.format(number=order.number)
    for body in (text, html):
        assert thanks in body and total in body and questions in body
        assert f"{SITE}/returns/policy/{order.channel.code}/" in body
        assert "Thank you" not in body
    assert ("您的訂單" if language == "zh-hant" else "ακυρώθηκε") in cancelled
    assert "has been cancelled" not in cancelled


def test_refund_email_mentions_the_fee_kept(delivered, mailoutbox):
    order = delivered
    ReturnPolicy.objects.create(channel=order.channel, restocking_fee_pct=Decimal("10"))
    request = inspect_all(ask(order, R.NO_LONGER_NEEDED))
    request = return_refund(return_id=request.pk, actor=SYSTEM)
    run(REFUNDED_TOPIC)
    [mail] = mailoutbox
    assert request.restocking_fee == Decimal("2.00")
    assert "a restocking fee of 2.00 USD was kept" in mail.body
    assert "for the original shipping" not in mail.body  # unwanted, not the whole order: shipping stays
