"""Order rules: staff-edited conditions and actions (fulfillment.models.RoutingRule).

Every condition a rule sets must hold; rules run in sequence order and all
that match apply (a `stop` rule ends the run). Later rules win where two set
the same thing, except location restrictions, which narrow each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from orders.models import Order

from ..models import RoutingRule


@dataclass
class RuleOutcome:
    hold_reason: str = ""
    priority: int | None = None
    allowed: set[int] | None = None  # only these locations (None: any)
    excluded: dict[int, str] = field(default_factory=dict)  # location id -> rule name
    max_shipments: int | None = None
    fired: list[dict] = field(default_factory=list)
    restricted_by: str = ""


def active_rules() -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(is_active=True).prefetch_related("channels", "locations"))


def evaluate(order: Order, sku_codes: Iterable[str], rules: Iterable[RoutingRule]) -> RuleOutcome:
    codes = set(sku_codes)
    out = RuleOutcome()
    for rule in rules:
        if not _matches(rule, order, codes):
            continue
        out.fired.append({"id": rule.pk, "name": rule.name, "action": rule.action})
        locations = {w.pk for w in rule.locations.all()}
        if rule.action == RoutingRule.Action.HOLD:
            out.hold_reason = rule.hold_reason or f"held by rule '{rule.name}'"
        elif rule.action == RoutingRule.Action.SET_PRIORITY and rule.priority is not None:
            out.priority = rule.priority
        elif rule.action == RoutingRule.Action.RESTRICT_LOCATIONS:
            out.allowed = locations if out.allowed is None else out.allowed & locations
            out.restricted_by = rule.name
        elif rule.action == RoutingRule.Action.EXCLUDE_LOCATIONS:
            out.excluded.update(dict.fromkeys(locations, rule.name))
        elif rule.action == RoutingRule.Action.LIMIT_SPLITS and rule.max_shipments:
            out.max_shipments = rule.max_shipments
        if rule.stop:
            break
    return out


def _matches(rule: RoutingRule, order: Order, codes: set[str]) -> bool:
    channels = {c.pk for c in rule.channels.all()}
    if channels and order.channel_id not in channels:
        return False
    if rule.min_order_value is not None and order.grand_total < rule.min_order_value:
        return False
    if rule.max_order_value is not None and order.grand_total > rule.max_order_value:
        return False
    if rule.countries and order.ship_country.upper() not in {c.upper() for c in rule.countries}:
        return False
    if rule.postal_prefixes:
        postal = str(order.shipping_address.get("postal_code", "")).replace(" ", "").upper()
        if not any(postal.startswith(p.replace(" ", "").upper()) for p in rule.postal_prefixes):
            return False
    if rule.customer_tag and rule.customer_tag not in (order.customer.tags or []):
        return False
    if rule.sku_codes and not codes & set(rule.sku_codes):
        return False
    if rule.flag:
        flags = {"gift": order.is_gift, "vip": order.is_vip, "replacement": order.is_replacement}
        if not flags.get(rule.flag):
            return False
    return True
