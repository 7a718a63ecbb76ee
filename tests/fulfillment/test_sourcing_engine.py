"""The sourcing engine on its own: plans, scores and the reason each candidate lost."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from fulfillment.carriers import Quote
from fulfillment.sourcing.engine import LineNeed, Location, Settings, source

NOW = timezone.make_aware(datetime(2026, 12, 2, 10, 0))


def loc(id_, code, km, stock, **kw) -> Location:
    return Location(
        id=id_,
        code=code,
        is_store=kw.pop("is_store", False),
        point=(0.0, 0.0),
        country="US",
        stock=stock,
        ready_at=kw.pop("ready_at", NOW),
        distance_km=km,
        **kw,
    )


def rater(
    per_km=Decimal("0.01"), base=Decimal("5"), per_unit=Decimal("1"), transit=lambda km: 1 + int(km // 800)
):
    """Price grows with distance and units; transit days with distance; a
    parcel ready tomorrow arrives a day later."""

    def rate(location: Location, lines):
        units = sum(ln.quantity for ln in lines)
        amount = (base + per_km * Decimal(str(location.distance_km)) + per_unit * units).quantize(
            Decimal("0.01")
        )
        ship = location.ready_at.date()
        return Quote(
            1,
            "acme",
            "ground",
            "ground",
            amount,
            "USD",
            1,
            1000,
            transit(location.distance_km),
            ship,
            ship + timedelta(days=transit(location.distance_km)),
        )

    return rate


A = LineNeed(1, 10, "SKU-A", 1)
B = LineNeed(2, 20, "SKU-B", 2)


def test_nearest_single_location_wins_and_others_say_why():
    near = loc(1, "WH-NEAR", 50, {10: 5, 20: 5})
    far = loc(2, "WH-FAR", 2000, {10: 5, 20: 5})
    short = loc(3, "WH-SHORT", 10, {10: 5, 20: 1})
    result = source([A, B], [near, far, short], Settings(max_shipments=1), rater())
    assert result.chosen.label == "WH-NEAR"
    rows = {r["location"]: r for r in result.locations}
    assert rows["WH-NEAR"]["outcome"] == "chosen"
    assert rows["WH-SHORT"]["reason"] == "WH-SHORT: short 1 x SKU-B"
    assert rows["WH-FAR"]["reason"].startswith("WH-FAR: costs ")


def test_cheaper_split_beats_a_far_single_source():
    far_all = loc(1, "WH-FAR", 4000, {10: 5, 20: 5})
    near_a = loc(2, "WH-A", 30, {10: 5})
    near_b = loc(3, "WH-B", 40, {20: 5})
    result = source(
        [A, B], [far_all, near_a, near_b], Settings(max_shipments=2, split_penalty=Decimal("5")), rater()
    )
    assert {s.location.code for s in result.chosen.shipments} == {"WH-A", "WH-B"}
    single = next(p for p in result.plans if p.label == "WH-FAR")
    assert single.reason.startswith("costs ")


def test_a_single_source_beats_a_split_when_the_penalty_outweighs_the_saving():
    far_all = loc(1, "WH-FAR", 400, {10: 5, 20: 5})
    near_a = loc(2, "WH-A", 30, {10: 5})
    near_b = loc(3, "WH-B", 40, {20: 5})
    result = source(
        [A, B], [far_all, near_a, near_b], Settings(max_shipments=2, split_penalty=Decimal("10")), rater()
    )
    assert result.chosen.label == "WH-FAR"
    split = next(p for p in result.plans if len(p.shipments) == 2)
    assert "2 shipments instead of 1" in split.reason


def test_max_shipments_one_backorders_what_only_a_split_could_ship():
    near_a = loc(2, "WH-A", 30, {10: 5})
    near_b = loc(3, "WH-B", 40, {20: 5})
    result = source([A, B], [near_a, near_b], Settings(max_shipments=1), rater())
    assert result.chosen is None
    assert result.short == []  # each line is somewhere, but not in one place
    assert result.plans == []
    assert result.summary == (
        "Backordered: every line is in stock somewhere, but no allowed set of at most 1 location(s) "
        "ships them all."
    )


def test_line_nobody_has_is_short():
    near_a = loc(2, "WH-A", 30, {10: 5, 20: 1})
    result = source([A, B], [near_a], Settings(max_shipments=2), rater())
    assert result.chosen is None
    assert result.short == [B]
    assert result.summary == "Backordered: no location can ship 2 x SKU-B."


def test_excluded_location_is_never_used_and_says_so():
    near = loc(1, "WH-NEAR", 50, {10: 5, 20: 5}, ineligible="excluded by rule 'No NJ'")
    far = loc(2, "WH-FAR", 900, {10: 5, 20: 5})
    result = source([A, B], [near, far], Settings(), rater())
    assert result.chosen.label == "WH-FAR"
    assert {r["location"]: r["reason"] for r in result.locations}[
        "WH-NEAR"
    ] == "WH-NEAR: excluded by rule 'No NJ'"


def test_past_cut_off_loses_when_it_would_miss_the_promise():
    tomorrow = NOW + timedelta(days=1)
    store = loc(
        1, "STORE-5", 5, {10: 5, 20: 5}, is_store=True, ready_at=tomorrow, delay_reason="past cut-off 14:00"
    )
    dc = loc(2, "WH-1", 300, {10: 5, 20: 5})
    settings = Settings(deliver_by=date(2026, 12, 3), store_penalty=Decimal("2"))
    result = source([A, B], [store, dc], settings, rater())
    assert result.chosen.label == "WH-1"
    reason = {r["location"]: r["reason"] for r in result.locations}["STORE-5"]
    assert "after the promised date (past cut-off 14:00)" in reason


def test_ship_from_store_wins_when_nearest():
    store = loc(1, "STORE-5", 5, {10: 5, 20: 5}, is_store=True)
    dc = loc(2, "WH-1", 900, {10: 5, 20: 5})
    result = source([A, B], [store, dc], Settings(store_penalty=Decimal("2")), rater())
    assert result.chosen.label == "STORE-5"


def test_priority_tips_an_equal_choice():
    a = loc(1, "WH-A", 100, {10: 5, 20: 5})
    b = loc(2, "WH-B", 100, {10: 5, 20: 5}, priority=3)
    result = source([A, B], [a, b], Settings(), rater())
    assert result.chosen.label == "WH-B"


def test_three_way_cover_when_allowed():
    locs = [loc(1, "WH-A", 30, {10: 5}), loc(2, "WH-B", 40, {20: 5}), loc(3, "WH-C", 50, {30: 5})]
    lines = [A, B, LineNeed(3, 30, "SKU-C", 1)]
    assert source(lines, locs, Settings(max_shipments=2), rater()).chosen is None
    result = source(lines, locs, Settings(max_shipments=3), rater())
    assert len(result.chosen.shipments) == 3
