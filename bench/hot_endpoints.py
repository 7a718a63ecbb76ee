"""SQL statements per request of the storefront's and staff's hot endpoints, at
two data sizes: a count that grows with the data is an N+1 (a FAIL).

    .venv/bin/python -m bench.hot_endpoints                   # 10 orders, then 200 more
    .venv/bin/python -m bench.hot_endpoints --grow 50         # a quick look

In process (Django test client and DRF's APIClient, full middleware, DEBUG
off) on a fresh database (DATABASE_URL, default oms_bench_hot; its name must
contain `bench`): a channel with its API key, a DC, a carrier, boxes, SKUs in
stock with prices, orders placed through the placement service, some of them
shipped through the pack station. Every endpoint is called once to warm the
per-process caches, then once measured (bench.common.measured: every
execute(), savepoints included, BEGIN / COMMIT not). Then the data grows
(--grow orders, SKUs, shipments) and the requests that take a list grow too
(availability for 3 then 20 SKUs, checkout of a 1- then 5-line cart, order
lines 3 then 6), and everything is measured again.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bench.common import (
    BenchError,
    Database,
    configure_environment,
    machine_info,
    measured,
    report_write,
    run_main,
)


@dataclass
class Call:
    """One request to measure: `prepare()` makes what it needs (a fresh cart, an
    order to cancel) outside the measurement and returns the request's args."""

    name: str
    side: str  # storefront / staff
    prepare: Callable[[], tuple[str, str, dict]]  # (client, method, kwargs for the client call)


class World:
    def __init__(self) -> None:
        from django.test import Client
        from rest_framework.test import APIClient

        from oms.roles import MANAGER
        from tests.factories import WarehouseFactory, channel_with_key, staff_user, tax_rate
        from tests.fulfillment.conftest import make_carrier

        self.channel, raw_key = channel_with_key(code="HOT", free_shipping_threshold=Decimal("1000.00"))
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        self.warehouse = WarehouseFactory(code="DC-NJ")
        self.carrier = make_carrier()
        self.service_id = self.carrier.services.get(code="ground").pk
        tax_rate("US", "0.05")
        tax_rate("US", "0.08875", region="NY")
        self._boxes_and_materials()
        self.staff = Client()
        self.staff.force_login(staff_user("bench-manager", MANAGER))
        self.public = Client()
        self.skus: list = []
        self.emails = itertools.count(1)
        self.lines = 3
        self.availability_skus = 3
        self.cart_lines = 1

    def _boxes_and_materials(self) -> None:
        from fulfillment.models import Box, PackagingMaterial

        for code, length, width, height, weight, cost in [
            ("small", 300, 220, 120, 150, "0.60"),
            ("medium", 400, 300, 200, 300, "0.90"),
            ("large", 600, 400, 400, 600, "1.50"),
        ]:
            Box.objects.create(
                code=code, name=code.title(), inner_length_mm=length, inner_width_mm=width,
                inner_height_mm=height, empty_weight_grams=weight, max_weight_grams=20000,
                cost=Decimal(cost), protection=1,
            )  # fmt: skip
        PackagingMaterial.objects.create(code="none", name="No fill", padding_mm=0, cost=0)

    # --- data ---------------------------------------------------------------------

    def add_skus(self, n: int) -> None:
        from tests.factories import sku_in_stock

        for _ in range(n):
            self.skus.append(
                sku_in_stock(
                    channel=self.channel, warehouse=self.warehouse, quantity=100_000, price="25.00",
                    length_mm=200, width_mm=150, height_mm=30, weight_grams=300,
                )
            )  # fmt: skip

    def place(self, lines: int | None = None):
        from tests.fulfillment.conftest import place_order

        picks = self.skus[: lines or self.lines]
        return place_order(self.channel, [(s.code, 1) for s in picks])

    def ship(self, order):
        from fulfillment.shipping import shipment_ship
        from tests.fulfillment.conftest import release_whole_order
        from tests.fulfillment.shipping_world import STAFF, pack

        fo = pack(release_whole_order(order, service_id=self.service_id))
        return shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)

    def grow(self, *, skus: int, orders: int, shipped: int) -> None:
        self.add_skus(skus)
        placed = [self.place() for _ in range(orders)]
        for order in placed[:shipped]:
            self.ship(order)

    # --- requests -----------------------------------------------------------------

    def email(self) -> str:
        return f"shopper{next(self.emails)}@bench.example.com"

    def order_payload(self, email: str) -> dict:
        from tests.factories import order_payload

        picks = self.skus[: self.lines]
        return order_payload(
            picks[0].code,
            1,
            lines=[{"sku": s.code, "quantity": 1} for s in picks],
            customer={"email": email, "first_name": "Bench", "last_name": "Shopper"},
        )

    def cart(self, lines: int) -> str:
        response = self.api.post(
            "/api/v1/carts/",
            {"email": self.email(), "ship_country": "US",
             "lines": [{"sku": s.code, "quantity": 1} for s in self.skus[:lines]]},
            format="json",
        )  # fmt: skip
        if response.status_code != 201:
            raise BenchError(f"cart create: HTTP {response.status_code} {response.content[:300]!r}")
        return response.json()["id"]

    def calls(self) -> list[Call]:
        json = {"format": "json"}
        returning = self.email()
        self.api.post("/api/v1/orders/", self.order_payload(returning), **json)
        sku = self.skus[0]

        def availability():
            codes = "&".join(f"sku={s.code}" for s in self.skus[: self.availability_skus])
            return "api", "get", {"path": f"/api/v1/availability/?{codes}"}

        def cart_add():
            return "api", "post", {"path": f"/api/v1/carts/{self.cart(1)}/lines/",
                                   "data": {"sku": self.skus[1].code, "quantity": 1}, **json}  # fmt: skip

        def cart_update():
            return "api", "put", {"path": f"/api/v1/carts/{self.cart(1)}/lines/{sku.code}/",
                                  "data": {"quantity": 2}, **json}  # fmt: skip

        def checkout():
            payload = self.order_payload(self.email())
            body = {k: payload[k] for k in ("customer", "shipping_address", "payment")}
            return "api", "post", {"path": f"/api/v1/carts/{self.cart(self.cart_lines)}/checkout/",
                                   "data": body, **json}  # fmt: skip

        def cancel():
            return "api", "post", {"path": f"/api/v1/orders/{self.place().pk}/cancel/",
                                   "data": {"reason": "bench"}, **json}  # fmt: skip

        def return_create():
            order = self.place()
            self.ship(order)
            body = {
                "order_id": order.pk,
                "lines": [
                    {"order_line_id": ln.pk, "quantity": 1, "reason": "size_fit"} for ln in order.lines.all()
                ],
            }
            return "api", "post", {"path": "/api/v1/returns/", "data": body, **json}

        def tracking():
            from fulfillment.shipping.selectors import tracking_token

            return "public", "get", {"path": f"/track/{tracking_token(self.ship(self.place()))}/"}

        return [
            Call("availability (ATP) lookup", "storefront", availability),
            Call("catalogue: SKU list with prices", "storefront",
                 lambda: ("api", "get", {"path": "/api/v1/skus/?page_size=50"})),
            Call("catalogue: one SKU, price", "storefront",
                 lambda: ("api", "get", {"path": f"/api/v1/skus/{sku.code}/"})),
            Call("cart create (1 line)", "storefront",
                 lambda: ("api", "post", {"path": "/api/v1/carts/", "data": {
                     "email": self.email(), "ship_country": "US", "lines": [{"sku": sku.code, "quantity": 1}]},
                     **json})),
            Call("cart add line", "storefront", cart_add),
            Call("cart update line", "storefront", cart_update),
            Call("cart checkout", "storefront", checkout),
            Call("order create, new customer", "storefront",
                 lambda: ("api", "post", {"path": "/api/v1/orders/", "data": self.order_payload(self.email()),
                                          **json})),
            Call("order create, returning customer", "storefront",
                 lambda: ("api", "post", {"path": "/api/v1/orders/", "data": self.order_payload(returning),
                                          **json})),
            Call("order get", "storefront",
                 lambda: ("api", "get", {"path": f"/api/v1/orders/{self.place().pk}/"})),
            Call("order list (50 per page)", "storefront",
                 lambda: ("api", "get", {"path": "/api/v1/orders/?page_size=50"})),
            Call("order cancel", "storefront", cancel),
            Call("return create", "storefront", return_create),
            Call("tracking page (signed link)", "storefront", tracking),
            Call("staff: order list", "staff", lambda: ("staff", "get", {"path": "/dashboard/orders/"})),
            Call("staff: order detail", "staff",
                 lambda: ("staff", "get", {"path": f"/dashboard/orders/{self.ship(self.place()).order_id}/"})),
            Call("staff: dashboard overview", "staff", lambda: ("staff", "get", {"path": "/dashboard/"})),
        ]  # fmt: skip

    def measure(self) -> dict[str, dict]:
        clients = {"api": self.api, "staff": self.staff, "public": self.public}
        out = {}
        for call in self.calls():
            rows = []
            for _ in range(2):  # warm-up, then measured
                client, method, kwargs = call.prepare()
                with measured() as m:
                    response = getattr(clients[client], method)(**kwargs)
                rows.append((response.status_code, m.statements, m.seconds))
            status, statements, seconds = rows[-1]
            if not 200 <= status < 300:  # never count the statements of an error
                body = getattr(response, "content", b"")[:300]
                raise BenchError(f"{call.name}: HTTP {status}: {body!r}")
            out[call.name] = {
                "side": call.side,
                "status": status,
                "statements": statements,
                "ms": round(seconds * 1000, 1),
            }
        return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hot_endpoints", description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=10, help="orders at the first size (default 10)")
    p.add_argument("--grow", type=int, default=200, help="orders added for the second size (default 200)")
    p.add_argument("--no-json", action="store_true")
    args = p.parse_args(argv)
    if args.orders < 1 or args.grow < 10:
        p.error("--orders must be >= 1 and --grow >= 10")
    started_at = datetime.now(UTC)
    run_started = time.perf_counter()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_hot")
    configure_environment()
    db = Database.from_url(os.environ["DATABASE_URL"])
    print(f"database {db.name}: recreating, migrating ...", flush=True)
    db.recreate()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's response hooks; DEBUG stays off
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
    settings.BASE_CURRENCY = "USD"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)

    world = World()
    sizes = []
    world.grow(skus=6, orders=args.orders, shipped=max(1, args.orders // 5))
    print(f"size 1: {args.orders} orders; measuring ...", flush=True)
    first = world.measure()
    sizes.append({"orders_added": args.orders, "skus": len(world.skus)})
    world.availability_skus, world.cart_lines, world.lines = 20, 5, 6
    world.grow(skus=max(20, args.grow // 4), orders=args.grow, shipped=args.grow // 5)
    print(f"size 2: {args.grow} more orders; measuring ...", flush=True)
    second = world.measure()
    sizes.append({"orders_added": args.grow, "skus": len(world.skus)})

    from orders.models import Order

    rows = []
    for name, a in first.items():
        b = second[name]
        rows.append({"endpoint": name, "side": a["side"], "statements_small": a["statements"],
                     "statements_large": b["statements"], "ms_small": a["ms"], "ms_large": b["ms"],
                     "constant": b["statements"] <= a["statements"]})  # fmt: skip
    checks = {f"{r['endpoint']}: statements do not grow with the data": r["constant"] for r in rows}
    print()
    print(f"{'endpoint':<36} {'SQL small':>9} {'SQL large':>9} {'ms small':>9} {'ms large':>9}")
    for r in rows:
        flag = "" if r["constant"] else "  FAIL: grows"
        print(
            f"{r['endpoint']:<36} {r['statements_small']:>9} {r['statements_large']:>9} "
            f"{r['ms_small']:>9} {r['ms_large']:>9}{flag}"
        )
    passed = all(checks.values())
    total_s = time.perf_counter() - run_started
    print(
        f"orders in the database: {Order.objects.count()}; overall: {'PASS' if passed else 'FAIL'}; {total_s:.0f} s"
    )
    report = {
        "benchmark": "hot_endpoints",
        "started_at": started_at.isoformat(timespec="seconds"),
        "sizes": sizes,
        "orders_total": Order.objects.count(),
        "endpoints": rows,
        "checks": checks,
        "pass": passed,
        "run_seconds": round(total_s),
        "machine": machine_info(),
    }
    if not args.no_json:
        report_write("hot_endpoints", report)
    return 0 if passed else 1


if __name__ == "__main__":
    run_main(main)
