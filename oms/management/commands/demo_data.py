"""`manage.py demo_data`: a believable shop to click through, loaded through the
services so the stock ledger, order events and payments are exactly what real
traffic would leave behind.

Creates sales channels in three currencies with API keys, distribution
centres and stores with real coordinates, tax rates, a catalogue of ~200 SKUs
with EAN-13 barcodes and price lists, zones and bins with each SKU's place,
suppliers and reorder rules, opening stock, ~60 customers and a few hundred
orders placed at their moment over the last 90 days (some gift / VIP orders,
~5% cancelled), then today's warehouse work (oms.demo.inventory).
Deterministic (random.Random(seed)) and idempotent: when channel WEB exists
it does nothing. Everything is loaded in one transaction, so an
interrupted run leaves nothing behind and the next run starts clean.

The demo API keys are well known (the WEB key is $OMS_DEMO_TOKEN, by default
"demo-web-token"): never load demo data into a production database.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Sum
from django.test.utils import override_settings
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_create
from inventory.barcodes import make_ean13
from inventory.models import SKU, Product, StockLevel, Warehouse
from inventory.services import stock_receive
from oms.actors import Actor
from oms.demo import accounting as demo_accounting
from oms.demo import fulfillment as demo_fulfillment
from oms.demo import inventory as demo_inventory
from oms.demo import returns as demo_returns
from oms.demo.clock import clock_at
from oms.demo.data import (
    BARCODE_PREFIX,
    CANCEL_REASONS,
    CANCEL_SHARE,
    CHANNEL_MIX,
    CHANNELS,
    COMPANIES,
    CUSTOMER_PLAN,
    DEFAULT_ORDERS,
    FAMILIES,
    GIFT_MESSAGES,
    HISTORY_DAYS,
    HISTORY_UNITS,
    NAMES,
    PHONE_NOTES,
    PLACES,
    README_SKU,
    STREETS,
    TAX_RATES,
    WAREHOUSES,
    Family,
    demo_token,
)
from oms.errors import DomainError
from oms.models import Channel, ChannelToken, OutboxEvent, hash_token
from orders.models import Order, PriceListEntry, TaxRate
from orders.payments import CardDetails
from orders.pricing import price_lines, tax_rule_for
from orders.services import CustomerInput, LineInput, OrderInput, PaymentInput, order_cancel, order_place
from returns.metrics import customer_metrics_refresh


def money(value: Decimal | str | float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def charm(value: Decimal, ending: str) -> Decimal:
    """A shop price: the highest price ending in `ending` not above value (23.41 -> 22.99)."""
    cents = Decimal(ending)
    candidate = Decimal(int(value)) + cents
    if candidate > value:
        candidate -= 1
    return money(max(candidate, cents))


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


@dataclass
class SkuSpec:
    code: str
    name: str
    family: Family
    labels: tuple[str, ...]
    price: Decimal  # USD list price


def catalogue() -> list[SkuSpec]:
    specs = []
    for fam in FAMILIES:
        combos: list[tuple[tuple, ...]] = [()]
        for axis in fam.axes:
            combos = [(*combo, value) for combo in combos for value in axis]
        for combo in combos:
            code = "-".join([fam.prefix, *(v[0] for v in combo)])
            labels = tuple(v[1] for v in combo)
            price = Decimal(fam.price) + sum((Decimal(v[2]) for v in combo if len(v) > 2), Decimal(0))
            name = f"{fam.name}, {', '.join(labels)}" if labels else fam.name
            specs.append(SkuSpec(code, name, fam, labels, money(price)))
    return specs


def select_skus(specs: list[SkuSpec], limit: int | None) -> list[SkuSpec]:
    """An evenly spread subset (every category), always with the README's SKU."""
    if not limit or limit >= len(specs):
        return specs
    picked = {round(i * len(specs) / limit) for i in range(limit)}
    chosen = [s for i, s in enumerate(specs) if i in picked]
    if README_SKU not in {s.code for s in chosen}:
        chosen[0] = next(s for s in specs if s.code == README_SKU)
    return chosen


class Progress:
    """A one-line progress bar on a terminal, a line per 25% otherwise."""

    def __init__(self, out, label: str, total: int, *, enabled: bool = True) -> None:
        self.out, self.label, self.total, self.done = out, label, max(total, 1), 0
        self.enabled = enabled
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.started = time.monotonic()
        self._last_quarter = 0

    def step(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.tty:
            filled = int(30 * self.done / self.total)
            self.out.write(
                f"\r  {self.label:<18} [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}"
            )
            self.out.flush()
        elif (quarter := 4 * self.done // self.total) > self._last_quarter:
            self._last_quarter = quarter
            self.out.write(f"  {self.label}: {self.done}/{self.total}\n")

    def finish(self) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        end = "\n" if self.tty else ""
        self.out.write(f"{end}  {self.label}: {self.done} done in {elapsed:.1f}s\n")


class Command(BaseCommand):
    help = "Load demo channels, warehouses, catalogue, stock, customers and order history (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="historical orders to place")
        parser.add_argument("--skus", type=int, default=None, help="limit the catalogue (default: all)")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, orders: int, skus: int | None, seed: int, **options) -> None:
        if Channel.objects.filter(code="WEB").exists():
            self.stdout.write("demo data already loaded")
            return
        self.rng = random.Random(seed)
        self.verbose = options["verbosity"] >= 1
        self.failures: Counter[str] = Counter()
        started = time.monotonic()
        # One transaction: all or nothing, so "WEB exists" really means "loaded".
        # The orders are history: their outbox events are marked delivered below, so
        # waking the dispatcher once per order would only flood the worker's log.
        # The outbox skips that wake-up in eager mode (its "no broker" switch).
        with override_settings(CELERY_TASK_ALWAYS_EAGER=True), transaction.atomic():
            self.channels = self.create_channels()
            self.warehouses = self.create_warehouses()
            self.create_tax_rates()
            self.skus = self.create_catalogue(select_skus(catalogue(), skus))
            self.popularity = [self.rng.paretovariate(1.5) for _ in self.skus]
            moments = self.history(orders)
            self.receive_stock(
                at=moments[0] - timedelta(days=2) if moments else timezone.now(), orders=len(moments)
            )
            self.customers = self.create_customers()
            placed = self.place_orders(moments)
            cancelled = self.cancel_some(placed)
            self.finish_history(placed)
            # Rates first: receipts in a supplier's currency convert at them (moving-average cost).
            demo_fulfillment.seed_exchange_rates(since=timezone.localdate(min(moments) if moments else None))
            demo_inventory.bring_up_to_date(warehouses=self.warehouses, rng=self.rng, log=self.log)
            demo_fulfillment.bring_up_to_date(log=self.log)
            demo_accounting.settle(rng=self.rng, log=self.log)
            demo_returns.bring_up_to_date(rng=self.rng, log=self.log)
            self.log(f"  customers: value metrics for {customer_metrics_refresh()}")
        self.summary(placed, cancelled, time.monotonic() - started)

    # --- steps -----------------------------------------------------------------

    def log(self, message: str) -> None:
        if self.verbose:
            self.stdout.write(message)

    def progress(self, label: str, total: int) -> Progress:
        return Progress(self.stdout, label, total, enabled=self.verbose)

    def create_channels(self) -> dict[str, Channel]:
        channels = {}
        for spec in CHANNELS:
            channel = Channel.objects.create(**spec)
            ChannelToken.issue(channel=channel, name="demo", raw_key=demo_token(channel.code))
            channels[channel.code] = channel
        self.log(f"  channels: {', '.join(f'{c.code} ({c.currency})' for c in channels.values())}")
        return channels

    def create_warehouses(self) -> dict[str, Warehouse]:
        warehouses = {spec["code"]: Warehouse.objects.create(**spec) for spec in WAREHOUSES}
        self.log(f"  warehouses: {', '.join(warehouses)}")
        return warehouses

    def create_tax_rates(self) -> None:
        for country, region, rate, name, on_shipping in TAX_RATES:
            TaxRate.objects.update_or_create(
                country=country,
                region=region,
                defaults={"rate": Decimal(rate), "name": name, "applies_to_shipping": on_shipping},
            )

    def create_catalogue(self, specs: list[SkuSpec]) -> list[SkuSpec]:
        index = {s.code: i for i, s in enumerate(catalogue())}
        products: dict[str, Product] = {}
        skus: list[SKU] = []
        for spec in specs:
            fam = spec.family
            if fam.prefix not in products:
                products[fam.prefix] = Product.objects.create(
                    name=fam.name, category=fam.category, brand=fam.brand, description=fam.description
                )
            # Landed cost: 35-50% of the list price.
            cost = money(spec.price * Decimal(self.rng.randint(35, 50)) / 100)
            skus.append(
                SKU(
                    product=products[fam.prefix],
                    code=spec.code,
                    # Numbered by position in the full catalogue: a SKU keeps its barcode
                    # whatever subset is loaded.
                    barcode=make_ean13(BARCODE_PREFIX, index[spec.code] + 1),
                    name=spec.name,
                    weight_grams=fam.weight,
                    length_mm=fam.dims[0],
                    width_mm=fam.dims[1],
                    height_mm=fam.dims[2],
                    unit_cost=cost,
                    cost_currency="USD",
                )
            )
        created = SKU.objects.bulk_create(skus)
        self.sku_rows = {sku.code: sku for sku in created}
        self.create_prices(specs)
        self.log(f"  catalogue: {len(products)} products, {len(created)} SKUs")
        return specs

    def create_prices(self, specs: list[SkuSpec]) -> None:
        entries = []
        for spec in specs:
            sku = self.sku_rows[spec.code]
            on_sale = self.rng.random() < 0.1
            web = charm(spec.price * Decimal("0.8"), ".99") if on_sale else spec.price
            prices = {
                "WEB": (web, spec.price if on_sale else None),
                "PHONE": (spec.price, None),
                "EU-WEB": (charm(spec.price * Decimal("1.1"), ".95"), None),  # incl. VAT
                "B2B": (money(spec.price * Decimal("0.6")), None),  # wholesale, excl. tax
            }
            for code, (price, compare_at) in prices.items():
                entries.append(
                    PriceListEntry(
                        channel=self.channels[code], sku=sku, unit_price=price, compare_at_price=compare_at
                    )
                )
        PriceListEntry.objects.bulk_create(entries)
        self.prices = {(e.channel.code, e.sku.code): e.unit_price for e in entries}

    def receive_stock(self, *, at: datetime, orders: int) -> None:
        """Opening stock through stock_receive, into each SKU's bins, before the
        first historical order, so the ledger starts with receipts. Popular
        SKUs get more; some run low over the history, as real stock does."""
        share = {s.code: p / sum(self.popularity) for s, p in zip(self.skus, self.popularity, strict=True)}
        plan: list[tuple[Warehouse, SKU, int]] = []
        for spec in self.skus:
            sku = self.sku_rows[spec.code]
            cheap = spec.price < 50
            # Units this SKU should sell over the history in one of the three big DCs, roughly.
            demand = HISTORY_UNITS * orders / DEFAULT_ORDERS * share[spec.code] / 3
            for code, wh in self.warehouses.items():
                if wh.kind == Warehouse.Kind.STORE:
                    if self.rng.random() < 0.4:
                        plan.append((wh, sku, self.rng.randint(3, 25)))
                elif code == "DC-GB" and self.rng.random() < 0.3:
                    continue  # the UK DC carries a narrower range
                else:
                    base = self.rng.randint(10, 60) if cheap else self.rng.randint(4, 20)
                    plan.append((wh, sku, base + round(demand * self.rng.uniform(0.8, 2.0))))
            if spec.code == README_SKU:
                plan.append((self.warehouses["DC-NJ"], sku, 500))
        stocked: dict[int, list[SKU]] = defaultdict(list)
        for wh, sku, _qty in plan:
            if sku not in stocked[wh.pk]:
                stocked[wh.pk].append(sku)
        layout = demo_inventory.create_structure(self.warehouses.values(), stocked)
        self.suppliers = demo_inventory.create_suppliers(self.sku_rows.values(), self.rng)
        demo_inventory.hold_back_store_stock(self.warehouses.values())
        bar = self.progress("Receiving stock", len(plan))
        with clock_at(at):
            for wh, sku, qty in plan:
                for bin_id, units in layout.split(sku.pk, wh.pk, qty):
                    stock_receive(
                        warehouse_id=wh.pk,
                        sku_id=sku.pk,
                        quantity=units,
                        bin_id=bin_id,
                        reference="demo:opening",
                        note="Opening stock",
                    )
                bar.step()
        bar.finish()
        opening: Counter[tuple[SKU, Warehouse]] = Counter()
        for wh, sku, qty in plan:
            opening[(sku, wh)] += qty
        rules = demo_inventory.create_rules(
            [(sku, wh, qty) for (sku, wh), qty in opening.items() if wh.kind == Warehouse.Kind.DC], self.rng
        )
        self.log(
            f"  warehouse: {layout.bins} bins, {len(self.suppliers)} supplier SKUs, {rules} reorder rules"
        )

    def address(self, country: str, name: str, *, company: str = "", phone: str = "") -> dict:
        city, region, postal, lat, lng = self.rng.choice(PLACES[country])
        street = self.rng.choice(STREETS[country])
        number = self.rng.randint(1, 240)
        line1 = f"{number} {street}" if country in {"US", "GB", "FR"} else f"{street} {number}"
        # A little jitter so customers in one city are not all at one point.
        return {
            "name": name, "company": company, "line1": line1, "line2": "", "city": city, "region": region,
            "postal_code": postal, "country": country, "phone": phone,
            "latitude": f"{lat + self.rng.uniform(-0.05, 0.05):.6f}",
            "longitude": f"{lng + self.rng.uniform(-0.05, 0.05):.6f}",
        }  # fmt: skip

    def phone(self, country: str) -> str:
        # Numbers from the ranges reserved for fiction (555-01xx, Ofcom's 020 7946 0xxx).
        if country == "US":
            return f"+1 212 555 01{self.rng.randint(0, 99):02d}"
        if country == "GB":
            return f"+44 20 7946 0{self.rng.randint(0, 999):03d}"
        return ""

    def create_customers(self) -> dict[str, list[dict]]:
        """Customers (with a default address) per channel; returns the order-side view."""
        pool: dict[str, list[dict]] = {}
        seen: set[tuple[str, str]] = set()
        vips = 0
        for channel_code, countries, count in CUSTOMER_PLAN:
            channel = self.channels[channel_code]
            people = pool.setdefault(channel_code, [])
            for i in range(count):
                country = countries[i % len(countries)]
                first = self.rng.choice(NAMES[country][0])
                last = self.rng.choice(NAMES[country][1])
                company = COMPANIES[i % len(COMPANIES)] if channel_code == "B2B" else ""
                domain = self.rng.choice(["example.com", "example.org", "example.net"])
                local = f"{ascii_slug(first)}.{ascii_slug(last)}"
                if company:
                    local, domain = "purchasing", f"{ascii_slug(company)}.example"
                email = f"{local}@{domain}"
                n = 2
                while (channel_code, email) in seen:
                    email, n = f"{local}{n}@{domain}", n + 1
                seen.add((channel_code, email))
                is_vip = channel_code in {"WEB", "EU-WEB", "PHONE"} and i in {3, 11} and vips < 4
                vips += is_vip
                phone = self.phone(country)
                address = self.address(country, f"{first} {last}", company=company, phone=phone)
                customer_create(
                    channel=channel,
                    email=email,
                    first_name=first,
                    last_name=last,
                    phone=phone,
                    company=company,
                    is_vip=is_vip,
                    tags=[t for t, on in (("vip", is_vip), ("wholesale", bool(company))) if on],
                    # Wholesale buys on account, net 30 (one net 14), within a credit limit
                    # (the busiest buyer's is small, so some of its orders wait for approval).
                    payment_terms_days=(14 if i == 1 else 30) if company else None,
                    credit_limit=(Decimal("2500") if i == 0 else Decimal("60000")) if company else None,
                    addresses=[{**address, "is_default_shipping": True, "is_default_billing": True}],
                )
                people.append(
                    {"email": email, "first": first, "last": last, "phone": phone, "address": address}
                )
        self.log(f"  customers: {sum(len(p) for p in pool.values())} ({vips} VIP)")
        return pool

    def order_input(self, channel: Channel, n: int) -> OrderInput:
        rng = self.rng
        people = self.customers[channel.code]
        # A few loyal customers buy often: weight customers by 1/rank.
        person = rng.choices(people, weights=[1 / (i + 1) for i in range(len(people))])[0]
        is_gift = rng.random() < 0.04
        country = person["address"]["country"]
        if is_gift:
            first, last = rng.choice(NAMES[country][0]), rng.choice(NAMES[country][1])
            shipping = self.address(country, f"{first} {last}")
        else:
            shipping = person["address"]
        b2b = channel.code == "B2B"
        # Wholesale restocks a few lines by the case, in parcels a carrier takes (one box each).
        n_lines = rng.randint(2, 4) if b2b else rng.choices([1, 2, 3, 4], weights=[50, 30, 15, 5])[0]
        # Popular items sell more: weight by a fixed, seeded popularity.
        specs = rng.choices(self.skus, weights=self.popularity, k=n_lines * 2)
        chosen = list(dict.fromkeys(s.code for s in specs))[:n_lines]
        lines = []
        for code in chosen:
            qty = rng.randint(3, 8) if b2b else rng.choices([1, 2, 3], weights=[75, 18, 7])[0]
            unit_price = discount = None
            if channel.price_authority:
                unit_price = charm(self.spec_by_code[code].price * Decimal("0.85"), ".99")
            elif channel.code == "WEB" and rng.random() < 0.08:
                discount = money(self.prices[(channel.code, code)] * qty * Decimal("0.10"))
            lines.append(
                LineInput(sku=code, quantity=qty, unit_price=unit_price, discount=discount or Decimal(0))
            )
        shipping_amount = expected_total = external_id = None
        if channel.price_authority:
            # The marketplace prices the order itself; the OMS checks that its total adds up.
            shipping_amount = rng.choice([Decimal("0.00"), Decimal("2.99"), Decimal("3.99")])
            priced = price_lines(
                [(ln.quantity, ln.unit_price, ln.discount, None) for ln in lines],
                currency=channel.currency,
                tax=tax_rule_for(shipping["country"], shipping["region"]),
                inclusive=channel.prices_include_tax,
                shipping=shipping_amount,
            )
            expected_total = priced.grand_total
            external_id = f"MKT-{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}"
        elif b2b:
            external_id = f"PO-{timezone.now().year}-{n:05d}"
        card = CardDetails(
            number="4242424242424242", exp_month=12, exp_year=timezone.now().year + 3, cvc="123"
        )
        return OrderInput(
            channel=channel,
            actor=Actor.system() if channel.kind == Channel.Kind.PHONE else Actor.for_channel(channel),
            currency=channel.currency,
            customer=CustomerInput(
                email=person["email"],
                first_name=person["first"],
                last_name=person["last"],
                phone=person["phone"],
            ),
            shipping_address=shipping,
            lines=lines,
            payment=None if b2b else PaymentInput(gateway="test", card=card),
            on_account=b2b,
            external_id=external_id,
            shipping_amount=shipping_amount,
            expected_total=expected_total,
            is_gift=is_gift,
            gift_message=rng.choice(GIFT_MESSAGES) if is_gift else "",
            is_vip=rng.random() < 0.01,
            notes=rng.choice(PHONE_NOTES) if channel.kind == Channel.Kind.PHONE else "",
            source=Order.Source.STAFF if channel.kind == Channel.Kind.PHONE else Order.Source.API,
        )

    def attempt(self, fn, **kwargs):
        """Run a service call in a savepoint; a domain error (e.g. an item sold
        out) is counted and skipped instead of ending the whole load."""
        try:
            with transaction.atomic():
                return fn(**kwargs)
        except DomainError as exc:
            self.failures[exc.code] += 1
            return None

    def history(self, count: int) -> list[datetime]:
        """When the historical orders were placed: spread over the last
        HISTORY_DAYS, oldest first."""
        now = timezone.now()
        return sorted(
            min(
                now - timedelta(days=self.rng.uniform(0.05, HISTORY_DAYS), hours=self.rng.gauss(0, 3)),
                now - timedelta(minutes=10),
            )
            for _ in range(count)
        )

    def place_orders(self, moments: list[datetime]) -> list[Order]:
        """Each order is placed at its moment in the past (clock_at), so the
        stock ledger, events and payments carry real history: demand history,
        forecasts and days of cover have something to work with."""
        self.spec_by_code = {s.code: s for s in self.skus}
        codes = list(CHANNEL_MIX)
        weights = list(CHANNEL_MIX.values())
        placed: list[Order] = []
        bar = self.progress("Placing orders", len(moments))
        for n, when in enumerate(moments):
            channel = self.channels[self.rng.choices(codes, weights=weights)[0]]
            # A basket no single warehouse can ship (big B2B orders) is redrawn, twice at most.
            with clock_at(when):
                for _ in range(3):
                    result = self.attempt(order_place, data=self.order_input(channel, n + 1))
                    if result is not None:
                        placed.append(result.order)
                        break
            bar.step()
        bar.finish()
        return placed

    def cancel_some(self, placed: list[Order]) -> set[int]:
        victims = self.rng.sample(placed, k=round(len(placed) * CANCEL_SHARE))
        cancelled = set()
        for order in sorted(victims, key=lambda o: o.placed_at):
            later = min(order.placed_at + timedelta(hours=self.rng.uniform(0.5, 30)), timezone.now())
            with clock_at(later):
                if self.attempt(
                    order_cancel,
                    order_id=order.pk,
                    actor=Actor.system(),
                    reason=self.rng.choice(CANCEL_REASONS),
                ):
                    cancelled.add(order.pk)
        return cancelled

    def finish_history(self, placed: list[Order]) -> None:
        """Customers joined just before their first order; and the history was
        e-mailed at the time, so the outbox must not send 90-day-old
        confirmations now. Orders placed from here on get their e-mails."""
        first_order: dict[int, datetime] = {}
        for order in sorted(placed, key=lambda o: o.placed_at):
            first_order.setdefault(order.customer_id, order.placed_at)
        for customer_id, when in first_order.items():
            Customer.objects.filter(pk=customer_id).update(created_at=when - timedelta(minutes=5))
        OutboxEvent.objects.filter(
            aggregate__in=[f"order:{o.pk}" for o in placed], dispatched_at__isnull=True
        ).update(dispatched_at=timezone.now())

    def summary(self, placed: list[Order], cancelled: set[int], elapsed: float) -> None:
        if not self.verbose:
            return
        units = StockLevel.objects.aggregate(on_hand=Sum("on_hand"), allocated=Sum("allocated"))
        by_channel = Counter(o.channel.code for o in placed)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded in {elapsed:.1f}s:")
            + f"\n  {len(self.channels)} channels, {len(self.warehouses)} warehouses, {len(self.skus)} SKUs,"
            f" {units['on_hand'] or 0} units on hand ({units['allocated'] or 0} allocated)"
            f"\n  {Customer.objects.count()} customers, {len(placed)} orders"
            f" ({', '.join(f'{c} {n}' for c, n in sorted(by_channel.items()))}), {len(cancelled)} cancelled"
            + (f"\n  baskets redrawn after a refusal: {dict(self.failures)}" if self.failures else "")
            + f"\n  WEB channel API key: {demo_token('WEB')}  (e.g. SKU {README_SKU})"
        )


def demo_keys() -> list[tuple[Channel, str]]:
    """The demo channels whose well-known key is (still) valid, for the launcher's banner."""
    out = []
    for channel in Channel.objects.filter(code__in=[c["code"] for c in CHANNELS]).order_by("id"):
        raw = demo_token(channel.code)
        live = ChannelToken.objects.filter(channel=channel, key_hash=hash_token(raw), revoked_at__isnull=True)
        if live.exists():
            out.append((channel, raw))
    return out
