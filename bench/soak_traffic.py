"""The soak's traffic: storefront clients and back-office staff as threads,
each with its own keep-alive HTTP connection to gunicorn.

Every request names the statuses its scenario expects; anything else (every
5xx, an unexpected 4xx, a broken connection) is an error, counted per
endpoint and status with the first bodies kept. Storefront and staff share a
small registry of the orders they placed, so a cancel never races a picker
for the same order (that race is the application's to refuse, and it would
make an expected 409 indistinguishable from a bug here).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from bench.order_intake import ADDRESSES, VISA

BUCKET_SECONDS = 10
KEEP_BODIES = 5
# gunicorn closes a keep-alive connection idle for 10 s (--keep-alive 10): reconnect before that,
# so a POST is never sent on a connection the server is closing (it could not be resent safely).
MAX_IDLE_SECONDS = 5.0


class Unexpected(Exception):
    """A response the scenario did not expect: the scenario stops there (already counted)."""


@dataclass
class Endpoint:
    count: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    bodies: list[dict] = field(default_factory=list)


class Stats:
    """Per-endpoint counts, latencies and errors, shared by all threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.endpoints: dict[str, Endpoint] = {}
        self.buckets: Counter = Counter()  # 10 s bucket -> responses
        self.error_buckets: Counter = Counter()
        self.flows: Counter = Counter()  # scenario outcomes (e.g. "cart abandoned")
        self.started = time.monotonic()

    def record(self, label: str, status: int, ms: float, *, ok: bool, method: str, path: str, body: bytes):
        bucket = int((time.monotonic() - self.started) // BUCKET_SECONDS)
        with self.lock:
            ep = self.endpoints.setdefault(label, Endpoint())
            ep.count += 1
            ep.statuses[status] += 1
            ep.latencies_ms.append(ms)
            self.buckets[bucket] += 1
            if not ok:
                ep.errors[status] += 1
                self.error_buckets[bucket] += 1
                if len(ep.bodies) < KEEP_BODIES:
                    ep.bodies.append(
                        {
                            "status": status,
                            "method": method,
                            "path": path,
                            "body": body[:800].decode("utf-8", "replace"),
                        }
                    )

    def flow(self, name: str) -> None:
        with self.lock:
            self.flows[name] += 1

    def error_count(self) -> int:
        with self.lock:
            return sum(sum(ep.errors.values()) for ep in self.endpoints.values())


@dataclass
class Shipped:
    shipment_id: int
    order_id: int
    carrier: str
    tracking_number: str
    tracking_path: str
    lines: list[dict]  # [{order_line_id, sku, quantity}]
    at: float
    scans: int = 0  # carrier events sent so far


class World:
    """What the clients know about each other's work."""

    def __init__(self, *, sku_codes: list[str], final_sale: set[str], rng: random.Random) -> None:
        self.lock = threading.Lock()
        self.sku_codes = sku_codes
        self.final_sale = final_sale
        self.claims: dict[int, str] = {}  # order id -> "cancel" | "fulfil"
        self.recent_orders: deque[tuple[int, str]] = deque(maxlen=400)  # (id, e-mail) still claimable
        self.shipped: deque[Shipped] = deque()
        self.tracking_paths: deque[str] = deque(maxlen=200)
        self.to_return: deque[Shipped] = deque()
        self.seed = rng.randrange(1 << 30)

    def order_placed(self, order_id: int, email: str) -> None:
        with self.lock:
            self.recent_orders.append((order_id, email))

    def claim(self, order_id: int, purpose: str) -> bool:
        """First claim wins: an order is either cancelled (once) or fulfilled by the soak,
        never both; the shipments of one order may be fulfilled by several staff threads."""
        with self.lock:
            held = self.claims.get(order_id)
            if held is not None and (purpose == "cancel" or held != purpose):
                return False
            self.claims[order_id] = purpose
            if purpose == "cancel":
                with_id = [o for o in self.recent_orders if o[0] == order_id]
                for o in with_id:
                    self.recent_orders.remove(o)
            return True

    def pick_recent(self, rng: random.Random) -> tuple[int, str] | None:
        with self.lock:
            if not self.recent_orders:
                return None
            return self.recent_orders[rng.randrange(len(self.recent_orders))]


class Session:
    """One thread's HTTP connection and credentials."""

    def __init__(self, *, port: int, auth: str | None, stats: Stats, stop: threading.Event, timeout: float):
        self.port = port
        self.auth = auth
        self.stats = stats
        self.stop = stop
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(
        self,
        method: str,
        path: str,
        label: str,
        *,
        body: object = None,
        expect: tuple[int, ...] = (200,),
        headers: dict | None = None,
        raw: bytes | None = None,
        parse: bool = True,
    ):
        """Send one request; return (status, parsed JSON or None). An unexpected status is
        recorded as an error and raises Unexpected, which ends the scenario."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent_headers = {"Accept": "application/json"}
        if self.auth:
            sent_headers["Authorization"] = self.auth
        if data is not None:
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        retryable = method == "GET" or "Idempotency-Key" in sent_headers
        started = time.perf_counter()
        for attempt in range(3):
            if self.conn is not None and time.monotonic() - self.last_used > MAX_IDLE_SECONDS:
                self.close()
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=sent_headers)
                response = self.conn.getresponse()
                payload = response.read()
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                if retryable and attempt < 2 and not self.stop.is_set():
                    continue
                ms = (time.perf_counter() - started) * 1000
                self.stats.record(
                    label,
                    0,
                    ms,
                    ok=False,
                    method=method,
                    path=path,
                    body=f"{type(exc).__name__}: {exc}".encode(),
                )
                raise Unexpected(label) from None
            break
        self.last_used = time.monotonic()
        if response.will_close:
            self.close()
        ms = (time.perf_counter() - started) * 1000
        ok = response.status in expect
        self.stats.record(label, response.status, ms, ok=ok, method=method, path=path, body=payload)
        if not ok:
            raise Unexpected(label)
        if not parse or not payload:
            return response.status, None
        try:
            return response.status, json.loads(payload)
        except ValueError:
            return response.status, None


def _think(rng: random.Random, mean: float, stop: threading.Event) -> None:
    if mean > 0:
        stop.wait(min(rng.expovariate(1 / mean), mean * 6))


def _address(rng: random.Random, n: int) -> dict:
    line1, city, region, postal, lat, lng = rng.choice(ADDRESSES)
    return {
        "name": f"Soak Customer {n}",
        "line1": line1,
        "city": city,
        "region": region,
        "postal_code": postal,
        "country": "US",
        "latitude": lat,
        "longitude": lng,
    }


def _customer(n: int) -> dict:
    return {"email": f"customer{n}@soak.example.com", "first_name": "Soak", "last_name": f"Customer {n}"}


# --- storefront ---------------------------------------------------------------------------------


class Storefront:
    """A shopper's storefront: mostly catalogue and availability reads, carts
    (some abandoned), direct orders, a few cancels and order/tracking lookups."""

    # (scenario, weight): reads dominate, as on a real storefront.
    MIX = [("browse", 40), ("availability", 20), ("cart", 16), ("order", 12), ("lookup", 8), ("cancel", 4)]

    def __init__(self, index: int, *, world: World, session: Session, think: float, customers: int) -> None:
        self.index = index
        self.world = world
        self.s = session
        self.think = think
        self.customers = customers
        self.rng = random.Random(world.seed * 7919 + index)
        self.names, weights = zip(*self.MIX, strict=True)
        self.weights = list(weights)

    def run(self) -> None:
        try:
            while not self.s.stop.is_set():
                scenario = self.rng.choices(self.names, self.weights)[0]
                try:
                    getattr(self, scenario)()
                except Unexpected:
                    self.s.stats.flow(f"{scenario}: stopped by an unexpected response")
                _think(self.rng, self.think, self.s.stop)
        finally:
            self.s.close()

    def _skus(self, k: int) -> list[str]:
        return self.rng.sample(self.world.sku_codes, k)

    def browse(self) -> None:
        roll = self.rng.random()
        if roll < 0.35:
            page = self.rng.randint(1, 4)
            self.s.call("GET", f"/api/v1/skus/?page={page}", "GET /skus/ (page)")
        elif roll < 0.55:
            q = self.rng.choice(self.world.sku_codes)[-3:]
            self.s.call("GET", f"/api/v1/skus/?{urlencode({'q': q})}", "GET /skus/?q=")
        else:
            self.s.call("GET", f"/api/v1/skus/{self._skus(1)[0]}/", "GET /skus/{code}/")

    def availability(self) -> None:
        codes = ",".join(self._skus(self.rng.randint(1, 8)))
        self.s.call("GET", f"/api/v1/availability/?sku={codes}", "GET /availability/")

    def _checkout_body(self, n: int) -> dict:
        return {
            "customer": _customer(n),
            "shipping_address": _address(self.rng, n),
            "payment": {"gateway": "test", "card": dict(VISA)},
        }

    def cart(self) -> None:
        n = self.rng.randrange(self.customers)
        first, second, third = self._skus(3)
        _, cart = self.s.call(
            "POST",
            "/api/v1/carts/",
            "POST /carts/",
            expect=(201,),
            body={
                "email": _customer(n)["email"],
                "ship_country": "US",
                "lines": [{"sku": first, "quantity": self.rng.randint(1, 2)}],
            },
        )
        base = f"/api/v1/carts/{cart['id']}/"
        self.s.call("POST", base + "lines/", "POST /carts/{id}/lines/", body={"sku": second, "quantity": 1})
        if self.rng.random() < 0.5:
            self.s.call(
                "PUT", base + f"lines/{second}/", "PUT /carts/{id}/lines/{sku}/", body={"quantity": 2}
            )
        if self.rng.random() < 0.3:
            self.s.call(
                "POST", base + "lines/", "POST /carts/{id}/lines/", body={"sku": third, "quantity": 1}
            )
            self.s.call("DELETE", base + f"lines/{third}/", "DELETE /carts/{id}/lines/{sku}/")
        self.s.call("GET", base, "GET /carts/{id}/")
        if self.rng.random() < 0.45:
            self.s.stats.flow("cart abandoned")  # its hold expires with the cart (beat task)
            return
        _, order = self.s.call(
            "POST",
            base + "checkout/",
            "POST /carts/{id}/checkout/",
            expect=(201,),
            body=self._checkout_body(n),
        )
        self.world.order_placed(order["id"], order["email"])
        self.s.stats.flow("cart checked out")

    def order(self) -> None:
        n = self.rng.randrange(self.customers)
        body = {
            "currency": "USD",
            **self._checkout_body(n),
            "lines": [
                {"sku": c, "quantity": self.rng.randint(1, 2)} for c in self._skus(self.rng.randint(1, 3))
            ],
        }
        key = f"soak-{uuid.uuid4()}"
        _, order = self.s.call(
            "POST",
            "/api/v1/orders/",
            "POST /orders/",
            body=body,
            expect=(201,),
            headers={"Idempotency-Key": key},
        )
        self.world.order_placed(order["id"], order["email"])
        self.s.stats.flow("order placed")
        if self.rng.random() < 0.1:  # a client that did not see the answer sends it again
            self.s.call(
                "POST",
                "/api/v1/orders/",
                "POST /orders/ (replay)",
                body=body,
                expect=(200,),
                headers={"Idempotency-Key": key},
            )

    def lookup(self) -> None:
        roll = self.rng.random()
        recent = self.world.pick_recent(self.rng)
        if roll < 0.3 and self.world.tracking_paths:
            path = self.rng.choice(list(self.world.tracking_paths))
            self.s.call("GET", path, "GET /track/{token}/", parse=False)
        elif recent is None:
            return
        elif roll < 0.7:
            self.s.call("GET", f"/api/v1/orders/{recent[0]}/", "GET /orders/{id}/")
        else:
            self.s.call("GET", f"/api/v1/orders/?{urlencode({'email': recent[1]})}", "GET /orders/?email=")

    def cancel(self) -> None:
        recent = self.world.pick_recent(self.rng)
        if recent is None or not self.world.claim(recent[0], "cancel"):
            return
        self.s.call(
            "POST",
            f"/api/v1/orders/{recent[0]}/cancel/",
            "POST /orders/{id}/cancel/",
            body={"reason": "soak: customer changed their mind"},
        )
        self.s.stats.flow("order cancelled")


# --- back office ----------------------------------------------------------------------------------


class Staff:
    """A warehouse/customer-service worker: picks, packs and ships released
    shipments; plays the carrier's tracking webhook for shipped parcels; takes
    returns in (received, restocked, refunded); looks things up."""

    def __init__(
        self,
        index: int,
        *,
        world: World,
        session: Session,
        channel_session: Session,
        carrier_session: Session,
        staff_count: int,
        think: float,
        carrier_secrets: dict[str, str],
        return_share: float,
    ) -> None:
        self.index = index
        self.world = world
        self.s = session
        self.channel = channel_session
        self.carrier = carrier_session
        self.staff_count = staff_count
        self.think = think
        self.secrets = carrier_secrets
        self.return_share = return_share
        self.rng = random.Random(world.seed * 104729 + index)

    def run(self) -> None:
        try:
            while not self.s.stop.is_set():
                did = 0
                for step in (self.fulfil, self.track, self.returns, self.lookup):
                    if self.s.stop.is_set():
                        break
                    try:
                        did += step() or 0
                    except Unexpected:
                        self.s.stats.flow(f"staff {step.__name__}: stopped by an unexpected response")
                    _think(self.rng, self.think, self.s.stop)
                if not did:
                    self.s.stop.wait(1.0)
        finally:
            for session in (self.s, self.channel, self.carrier):
                session.close()

    # fulfilment

    def fulfil(self) -> int:
        _, page = self.s.call(
            "GET", "/api/v1/fulfillment/shipments/?status=released", "GET /fulfillment/shipments/"
        )
        released = sorted(page["results"], key=lambda r: r["id"])
        done = 0
        for row in released[:3]:
            # Stripes by shipment id: two staff threads never work the same parcel.
            if row["id"] % self.staff_count != self.index or not self.world.claim(row["order_id"], "fulfil"):
                continue
            self.ship_one(row)
            done += 1
        return done

    def ship_one(self, row: dict) -> None:
        sid = row["id"]
        _, made = self.s.call(
            "POST",
            "/api/v1/fulfillment/pick-lists/",
            "POST /fulfillment/pick-lists/",
            expect=(201,),
            body={"warehouse": row["warehouse"], "mode": "single", "shipments": [sid]},
        )
        for pick_list in made["pick_lists"]:
            pl = pick_list["id"]
            _, detail = self.s.call(
                "GET", f"/api/v1/fulfillment/pick-lists/{pl}/", "GET /fulfillment/pick-lists/{id}/"
            )
            for line in detail["lines"]:
                if line["left"]:
                    self.s.call(
                        "POST",
                        f"/api/v1/fulfillment/pick-lists/{pl}/scan/",
                        "POST /fulfillment/pick-lists/{id}/scan/",
                        body={
                            "bin": line["bin"],
                            "barcode": line["barcode"],
                            "quantity": line["left"],
                            "scan_id": f"soak-{uuid.uuid4()}",
                        },
                    )
        _, shipment = self.s.call(
            "GET", f"/api/v1/fulfillment/shipments/{sid}/", "GET /fulfillment/shipments/{id}/"
        )
        for line in shipment["lines"]:
            self.s.call(
                "POST",
                f"/api/v1/fulfillment/shipments/{sid}/pack/scan/",
                "POST /fulfillment/shipments/{id}/pack/scan/",
                body={"barcode": line["sku"], "quantity": line["quantity"]},
            )
        self.s.call(
            "GET", f"/api/v1/fulfillment/shipments/{sid}/box/", "GET /fulfillment/shipments/{id}/box/"
        )
        self.s.call(
            "POST",
            f"/api/v1/fulfillment/shipments/{sid}/pack/complete/",
            "POST /fulfillment/shipments/{id}/pack/complete/",
            body={},
        )
        _, shipped = self.s.call(
            "POST", f"/api/v1/fulfillment/shipments/{sid}/ship/", "POST /fulfillment/shipments/{id}/ship/"
        )
        tracking_path = urlsplit(shipped["public_tracking_url"] or "").path
        item = Shipped(
            shipment_id=sid,
            order_id=shipped["order_id"],
            carrier=shipped["carrier"],
            tracking_number=shipped["tracking_number"],
            tracking_path=tracking_path,
            lines=[
                {"order_line_id": ln["order_line_id"], "sku": ln["sku"], "quantity": ln["quantity"]}
                for ln in shipped["lines"]
            ],
            at=time.monotonic(),
        )
        with self.world.lock:
            self.world.shipped.append(item)
            if tracking_path:
                self.world.tracking_paths.append(tracking_path)
        self.s.stats.flow("shipment shipped")

    # the carrier's scans, as its webhook sends them

    def track(self) -> int:
        now = time.monotonic()
        with self.world.lock:
            due = [sh for sh in self.world.shipped if now - sh.at > 15 * (sh.scans + 1)]
            for sh in due[:4]:
                self.world.shipped.remove(sh)
        for sh in due[:4]:
            status = ("in_transit", "delivered")[sh.scans]
            event = {
                "id": f"soak-{sh.shipment_id}-{status}",
                "tracking_number": sh.tracking_number,
                "status": status,
                "description": status.replace("_", " ").capitalize(),
                "location": "Soak hub",
                "occurred_at": datetime.now(UTC).isoformat(),
            }
            raw = json.dumps({"events": [event]}).encode()
            signature = hmac.new(self.secrets[sh.carrier].encode(), raw, hashlib.sha256).hexdigest()
            _, report = self.carrier.call(
                "POST",
                f"/api/v1/fulfillment/carriers/{sh.carrier}/tracking/",
                "POST /fulfillment/carriers/{code}/tracking/",
                raw=raw,
                headers={"X-Carrier-Signature": signature},
            )
            if report["stored"] != 1:
                self.s.stats.flow(f"carrier scan not stored: {report}")
            sh.scans += 1
            with self.world.lock:
                if sh.scans < 2 and self.rng.random() < 0.7:
                    self.world.shipped.append(sh)  # delivered later
                elif self.rng.random() < self.return_share:
                    self.world.to_return.append(sh)
        return len(due[:4])

    # returns: the customer starts one through the storefront, staff take it in

    def returns(self) -> int:
        with self.world.lock:
            if not self.world.to_return:
                return 0
            sh = self.world.to_return.popleft()
        _, order = self.s.call("GET", f"/api/v1/orders/{sh.order_id}/", "GET /orders/{id}/ (staff)")
        if not any(p["status"] == "captured" for p in order["payments"]):
            # The capture runs in the worker from the shipped event: try again later.
            if time.monotonic() - sh.at < 300:
                with self.world.lock:
                    self.world.to_return.append(sh)
            else:
                self.s.stats.flow("return skipped: payment never captured")
            return 0
        line = self.rng.choice(sh.lines)
        body = {
            "order_id": sh.order_id,
            "lines": [
                {
                    "order_line_id": line["order_line_id"],
                    "quantity": 1,
                    "reason": self.rng.choice(["size_fit", "no_longer_needed", "damaged"]),
                }
            ],
        }
        if line["sku"] in self.world.final_sale:
            # Final sale: the storefront is refused; customer service lets it wait for review.
            self.channel.call(
                "POST", "/api/v1/returns/", "POST /returns/ (outside policy)", body=body, expect=(409,)
            )
            _, ret = self.s.call(
                "POST",
                "/api/v1/returns/",
                "POST /returns/ (staff, review)",
                body={**body, "review": True},
                expect=(201,),
            )
            self.s.call(
                "POST",
                f"/api/v1/returns/{ret['id']}/authorize/",
                "POST /returns/{id}/authorize/",
                body={"message": "Goodwill: accepted"},
            )
            self.s.stats.flow("return authorized after review")
        else:
            _, ret = self.channel.call("POST", "/api/v1/returns/", "POST /returns/", body=body, expect=(201,))
        rid = ret["id"]
        [rl] = ret["lines"]
        self.s.call("GET", f"/api/v1/returns/{rid}/label/", "GET /returns/{id}/label/", parse=False)
        self.s.call(
            "POST",
            f"/api/v1/returns/{rid}/receive/",
            "POST /returns/{id}/receive/",
            body={
                "inspections": [
                    {"line_id": rl["id"], "quantity": 1, "condition": "new", "disposition": "restock"}
                ]
            },
        )
        self.s.call("GET", f"/api/v1/returns/{rid}/refund-preview/", "GET /returns/{id}/refund-preview/")
        self.s.call("POST", f"/api/v1/returns/{rid}/refund/", "POST /returns/{id}/refund/", body={})
        self.s.stats.flow("return refunded")
        return 1

    def lookup(self) -> int:
        roll = self.rng.random()
        if roll < 0.4:
            self.s.call("GET", "/api/v1/orders/?status=allocated", "GET /orders/?status= (staff)")
        elif roll < 0.7:
            self.s.call("GET", "/api/v1/returns/?status=completed", "GET /returns/?status= (staff)")
        else:
            recent = self.world.pick_recent(self.rng)
            if recent:
                self.s.call(
                    "GET",
                    f"/api/v1/fulfillment/shipments/?order={recent[0]}",
                    "GET /fulfillment/shipments/?order=",
                )
        return 0


# --- runner ---------------------------------------------------------------------------------------


def run_traffic(
    *,
    port: int,
    channel_key: str,
    staff_token: str,
    world: World,
    stats: Stats,
    stop: threading.Event,
    clients: int,
    staff: int,
    think: float,
    staff_think: float,
    customers: int,
    carrier_secrets: dict[str, str],
    return_share: float,
    timeout: float,
) -> list[threading.Thread]:
    """Start the client threads (daemons); they run until `stop` is set."""

    def session(auth: str | None) -> Session:
        return Session(port=port, auth=auth, stats=stats, stop=stop, timeout=timeout)

    actors: list = [
        Storefront(i, world=world, session=session(f"Bearer {channel_key}"), think=think, customers=customers)
        for i in range(clients)
    ]
    actors += [
        Staff(
            i,
            world=world,
            session=session(f"Token {staff_token}"),
            channel_session=session(f"Bearer {channel_key}"),
            carrier_session=session(None),
            staff_count=staff,
            think=staff_think,
            carrier_secrets=carrier_secrets,
            return_share=return_share,
        )
        for i in range(staff)
    ]
    threads = [
        threading.Thread(target=a.run, name=f"{type(a).__name__.lower()}-{a.index}", daemon=True)
        for a in actors
    ]
    for t in threads:
        t.start()
    return threads
