"""Box choice: 3-D fit with rotations, protection for fragile items, weight
limits, cheapest pair wins; the heuristic never claims an impossible fit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fulfillment.boxes import (
    COSTS_MORE,
    DOES_NOT_FIT,
    NOT_PROTECTIVE,
    TOO_HEAVY,
    Item,
    choose_box,
    place_units,
    rank_boxes,
)


@dataclass(frozen=True)
class FakeBox:
    code: str
    inner_length_mm: int
    inner_width_mm: int
    inner_height_mm: int
    cost: Decimal = Decimal("1")
    protection: int = 1
    empty_weight_grams: int = 100
    max_weight_grams: int = 20000


@dataclass(frozen=True)
class FakeMaterial:
    code: str
    padding_mm: int = 0
    cost: Decimal = Decimal("0")
    protection: int = 0
    weight_grams: int = 0


def by_pair(rejected):
    return {(r.box_code, r.material_code): r.reason for r in rejected}


@pytest.mark.django_db
def test_cheapest_fitting_box_wins(boxes, materials):
    choice = choose_box(
        [Item(200, 150, 30, 300, 1, "BOOK")], boxes.values(), materials.values(), fragile=False
    )
    assert (choice.box.code, choice.material.code) == ("mailer", "none")
    assert choice.cost == Decimal("0.30")
    assert choice.weight_grams == 300 + 40  # contents + empty mailer
    # Every dearer pair lost on cost, not on fit.
    assert by_pair(choice.rejected)[("large", "none")] == COSTS_MORE


@pytest.mark.django_db
def test_several_units_take_a_bigger_box(boxes, materials):
    # Six 10 cm cubes: too tall for the mailer, exactly 3 x 2 x 1 in the small box.
    choice = choose_box(
        [Item(100, 100, 100, 200, 6, "CUBE")], boxes.values(), materials.values(), fragile=False
    )
    assert choice.box.code == "small"
    assert len(choice.placements) == 6
    reasons = by_pair(choice.rejected)
    assert reasons[("mailer", "none")] == DOES_NOT_FIT
    # With bubble wrap the small box has 270 x 190 x 90 mm left: no room for 10 cm cubes.
    assert reasons[("small", "bubble")] == DOES_NOT_FIT


@pytest.mark.django_db
def test_an_item_that_only_fits_lying_down(boxes, materials):
    # 23 x 3 x 17 cm standing up is taller than the mailer (4 cm) but fits lying flat.
    choice = choose_box(
        [Item(230, 30, 170, 400, 1, "FRAME")], boxes.values(), materials.values(), fragile=False
    )
    assert choice.box.code == "mailer"
    (placed,) = choice.placements
    assert placed.dz == 30
    assert sorted((placed.dx, placed.dy)) == [170, 230]


@pytest.mark.django_db
def test_fragile_items_only_go_into_protective_packaging(boxes, materials):
    item = [Item(200, 150, 30, 300, 1, "VASE")]
    choice = choose_box(item, boxes.values(), materials.values(), fragile=True)
    # small (1) + bubble (1) reaches 2 and costs 1.00, less than the double-wall box's 1.80.
    assert (choice.box.code, choice.material.code) == ("small", "bubble")
    assert choice.box.protection + choice.material.protection >= 2
    reasons = by_pair(choice.rejected)
    assert reasons[("mailer", "none")] == NOT_PROTECTIVE
    assert reasons[("mailer", "bubble")] == NOT_PROTECTIVE
    assert reasons[("small", "none")] == NOT_PROTECTIVE
    # The same item, not fragile, goes in the mailer.
    assert choose_box(item, boxes.values(), materials.values(), fragile=False).box.code == "mailer"


def test_too_heavy_for_every_box():
    boxes = [
        FakeBox("a", 300, 300, 300, max_weight_grams=5000),
        FakeBox("b", 400, 400, 400, max_weight_grams=8000),
    ]
    report = rank_boxes([Item(100, 100, 100, 4000, 2, "IRON")], boxes, [], fragile=False)
    assert report.choice is None
    assert by_pair(report.rejected) == {("a", ""): TOO_HEAVY, ("b", ""): TOO_HEAVY}
    assert "8100 g packed exceeds the box's 5000 g" in report.rejected[0].message


@pytest.mark.django_db
def test_nothing_fits_gives_none_with_reasons(boxes, materials):
    report = rank_boxes(
        [Item(700, 100, 100, 500, 1, "POLE")], boxes.values(), materials.values(), fragile=False
    )
    assert report.choice is None
    assert len(report.rejected) == len(boxes) * len(materials)
    assert {r.reason for r in report.rejected} == {DOES_NOT_FIT}
    assert "POLE (700x100x100 mm) is larger than the usable" in report.rejected[0].message


def test_volume_fits_but_shapes_do_not():
    # Two 60 x 60 x 60 cubes have less volume than a 100 x 100 x 100 box but cannot both fit in it.
    report = rank_boxes([Item(60, 60, 60, 10, 2)], [FakeBox("cube", 100, 100, 100)], [], fragile=False)
    assert report.choice is None
    assert report.rejected[0].reason == DOES_NOT_FIT


def test_equal_cost_goes_to_the_smaller_box_and_is_deterministic():
    boxes = [
        FakeBox("big", 500, 500, 500, cost=Decimal("1")),
        FakeBox("snug", 200, 200, 200, cost=Decimal("1")),
    ]
    items = [Item(150, 150, 150, 100)]
    first = choose_box(items, boxes, [], fragile=False)
    assert first.box.code == "snug"
    assert first == choose_box(items, list(reversed(boxes)), [], fragile=False)
    assert "same cost, larger box" in first.rejected[0].message


def test_padding_shrinks_the_usable_space():
    box = FakeBox("b", 200, 200, 200)
    fits = choose_box([Item(180, 180, 180, 10)], [box], [FakeMaterial("thin", padding_mm=10)], fragile=False)
    assert fits.usable_mm == (180, 180, 180)
    assert (
        choose_box([Item(181, 180, 180, 10)], [box], [FakeMaterial("thin", padding_mm=10)], fragile=False)
        is None
    )


def test_a_full_box_is_filled_exactly():
    # 24 bricks of 100 x 50 x 50 fill a 200 x 300 x 100 box to the last millimetre.
    placements = place_units([Item(100, 50, 50, 1)] * 24, (200, 300, 100))
    assert placements is not None and len(placements) == 24


# --- Property: whatever it returns is a physically valid packing ----------------------

dims = st.integers(min_value=10, max_value=300)
items_strategy = st.lists(
    st.builds(Item, dims, dims, dims, st.integers(1, 2000), st.integers(1, 6), st.sampled_from("ABCD")),
    min_size=1,
    max_size=4,
)
box_strategy = st.builds(
    FakeBox,
    st.sampled_from(["b1", "b2", "b3"]),
    st.integers(50, 500),
    st.integers(50, 500),
    st.integers(50, 500),
    max_weight_grams=st.integers(1000, 60000),
)


@settings(max_examples=150, deadline=None)
@given(items=items_strategy, boxes=st.lists(box_strategy, min_size=1, max_size=3), padding=st.integers(0, 20))
def test_placements_stay_inside_and_never_overlap(items, boxes, padding):
    material = FakeMaterial("fill", padding_mm=padding, weight_grams=5)
    choice = choose_box(items, boxes, [material], fragile=False)
    if choice is None:
        return
    units = sum(i.quantity for i in items)
    assert len(choice.placements) == units
    length, width, height = choice.usable_mm
    assert choice.usable_mm == tuple(d - 2 * padding for d in choice.box_dims_mm)
    shapes = {i.label: sorted((i.length_mm, i.width_mm, i.height_mm)) for i in items}
    for p in choice.placements:
        assert p.x >= 0 and p.x + p.dx <= length
        assert p.y >= 0 and p.y + p.dy <= width
        assert p.z >= 0 and p.z + p.dz <= height
        if len({i.label for i in items}) == len(items):  # labels identify the item's shape
            assert sorted((p.dx, p.dy, p.dz)) == shapes[p.label]
    for a, b in combinations(choice.placements, 2):
        assert not a.overlaps(b), (a, b)
    assert (
        choice.weight_grams
        == sum(i.weight_grams * i.quantity for i in items) + choice.box.empty_weight_grams + 5
    )
    assert choice.weight_grams <= choice.box.max_weight_grams
