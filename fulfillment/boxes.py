"""Which standard box (and packaging material) a set of items goes into.

Pure functions over plain values: no database access, so the packing service,
the API's suggestion and the tests all run the same code.

How a (box, material) pair is judged, cheapest checks first:

1. protection: box.protection + material.protection must reach 2 when any
   item is fragile (0 otherwise);
2. weight: items + empty box + material must not exceed box.max_weight_grams;
3. space: the material takes `padding_mm` on every side, leaving
   inner - 2 x padding in each dimension; every unit must fit there in some
   orientation and the units' total volume must not exceed it;
4. placement: units are placed one by one (first-fit decreasing by volume)
   at "extreme points" - the corners that earlier units leave free - trying
   all six axis-aligned rotations, lowest height first, so units lie flat and
   form layers.

Among the pairs that pass, the cheapest (box + material cost) wins, ties
going to the smaller box, then to codes, so the answer is deterministic.

Limits of the heuristic: 3-D bin packing is NP-hard and this is a greedy
heuristic, so it can miss a packing an exact solver would find (it may then
suggest a bigger box than strictly needed, or none at all). It never claims
a fit that is impossible: every placement it returns lies inside the usable
space and overlaps no other (the property tests check exactly that). Units
are treated as rigid rectangular blocks; no stacking-load or "this side up"
rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import permutations
from typing import Any

# Protection level fragile items need (box + material): a double-wall box, or
# a standard box with protective wrap.
FRAGILE_PROTECTION = 2
# Greedy placement is O(n^3) in the number of units; past this a person packs.
MAX_UNITS = 200

NOT_PROTECTIVE = "not_protective"
TOO_HEAVY = "too_heavy"
DOES_NOT_FIT = "does_not_fit"
COSTS_MORE = "costs_more"


@dataclass(frozen=True)
class Item:
    length_mm: int
    width_mm: int
    height_mm: int
    weight_grams: int
    quantity: int = 1
    label: str = ""

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm


@dataclass(frozen=True)
class Placement:
    """One unit at (x, y, z) with extent (dx, dy, dz), in mm from the corner
    of the usable space (inside the box, after the material's padding)."""

    label: str
    x: int
    y: int
    z: int
    dx: int
    dy: int
    dz: int

    def overlaps(self, other: Placement) -> bool:
        return (
            self.x < other.x + other.dx
            and other.x < self.x + self.dx
            and self.y < other.y + other.dy
            and other.y < self.y + self.dy
            and self.z < other.z + other.dz
            and other.z < self.z + self.dz
        )


@dataclass(frozen=True)
class Rejection:
    box_code: str
    material_code: str
    reason: str  # NOT_PROTECTIVE | TOO_HEAVY | DOES_NOT_FIT | COSTS_MORE
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "box": self.box_code,
            "material": self.material_code,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True)
class BoxChoice:
    box: Any  # fulfillment.models.Box or anything with the same attributes
    material: Any | None  # PackagingMaterial-like, or None (no fill)
    placements: tuple[Placement, ...]
    contents_weight_grams: int
    weight_grams: int  # contents + empty box + material
    cost: Decimal
    usable_mm: tuple[int, int, int]
    rejected: tuple[Rejection, ...] = field(default=())

    @property
    def box_dims_mm(self) -> tuple[int, int, int]:
        return (self.box.inner_length_mm, self.box.inner_width_mm, self.box.inner_height_mm)

    def as_dict(self) -> dict[str, Any]:
        return {
            "box": self.box.code,
            "material": self.material.code if self.material else None,
            "box_dims_mm": list(self.box_dims_mm),
            "usable_mm": list(self.usable_mm),
            "weight_grams": self.weight_grams,
            "contents_weight_grams": self.contents_weight_grams,
            "cost": str(self.cost),
            "units": len(self.placements),
            "rejected": [r.as_dict() for r in self.rejected],
        }


@dataclass(frozen=True)
class BoxReport:
    choice: BoxChoice | None
    rejected: tuple[Rejection, ...]


def choose_box(
    items: Sequence[Item], boxes: Iterable[Any], materials: Iterable[Any], *, fragile: bool
) -> BoxChoice | None:
    """The cheapest (box, material) pair the items fit in, or None."""
    return rank_boxes(items, boxes, materials, fragile=fragile).choice


def rank_boxes(
    items: Sequence[Item], boxes: Iterable[Any], materials: Iterable[Any], *, fragile: bool
) -> BoxReport:
    """Judge every (box, material) pair; the winner and why each other one lost."""
    units = _expand(items)
    contents_weight = sum(i.weight_grams * i.quantity for i in items)
    required = FRAGILE_PROTECTION if fragile else 0
    material_options: list[Any | None] = list(materials) or [None]
    pairs = [(box, material) for box in boxes for material in material_options]
    pairs.sort(key=_pair_order)

    rejected: list[Rejection] = []
    choice: BoxChoice | None = None
    for box, material in pairs:
        box_code, material_code = box.code, _code(material)
        if choice is not None:
            # Placement is the expensive step: a pair dearer than the winner
            # only gets the cheap checks, so its reason is still the real one.
            problem = _judge(
                units, box, material, required=required, contents_weight=contents_weight, place=False
            )
            if isinstance(problem, Rejection):
                rejected.append(problem)
                continue
            rejected.append(
                Rejection(
                    box_code,
                    material_code,
                    COSTS_MORE,
                    f"{_pair_cost(box, material)} vs {choice.cost} for {choice.box.code}"
                    f"{' + ' + _code(choice.material) if choice.material else ''}"
                    + (" (same cost, larger box)" if _pair_cost(box, material) == choice.cost else ""),
                )
            )
            continue
        problem = _judge(units, box, material, required=required, contents_weight=contents_weight)
        if isinstance(problem, Rejection):
            rejected.append(problem)
            continue
        usable, placements = problem
        choice = BoxChoice(
            box=box,
            material=material,
            placements=tuple(placements),
            contents_weight_grams=contents_weight,
            weight_grams=_packed_weight(box, material, contents_weight),
            cost=_pair_cost(box, material),
            usable_mm=usable,
        )
    if choice is not None:
        choice = BoxChoice(**{**choice.__dict__, "rejected": tuple(rejected)})
    return BoxReport(choice=choice, rejected=tuple(rejected))


def _judge(
    units: list[Item],
    box: Any,
    material: Any | None,
    *,
    required: int,
    contents_weight: int,
    place: bool = True,
) -> Rejection | tuple[tuple[int, int, int], list[Placement]]:
    box_code, material_code = box.code, _code(material)
    protection = box.protection + (material.protection if material else 0)
    if protection < required:
        return Rejection(
            box_code,
            material_code,
            NOT_PROTECTIVE,
            f"protection {protection} is below the {required} fragile items need",
        )
    weight = _packed_weight(box, material, contents_weight)
    if weight > box.max_weight_grams:
        limit = box.max_weight_grams
        return Rejection(box_code, material_code, TOO_HEAVY, f"{weight} g packed exceeds the box's {limit} g")
    padding = material.padding_mm if material else 0
    usable = (
        box.inner_length_mm - 2 * padding,
        box.inner_width_mm - 2 * padding,
        box.inner_height_mm - 2 * padding,
    )
    if min(usable) <= 0:
        return Rejection(box_code, material_code, DOES_NOT_FIT, f"{padding} mm padding leaves no room")
    if len(units) > MAX_UNITS:
        return Rejection(
            box_code, material_code, DOES_NOT_FIT, f"{len(units)} units are too many to plan; pack by hand"
        )
    for unit in units:
        if not _rotations(unit, usable):
            return Rejection(
                box_code,
                material_code,
                DOES_NOT_FIT,
                f"{unit.label or 'an item'} ({unit.length_mm}x{unit.width_mm}x{unit.height_mm} mm) "
                f"is larger than the usable {usable[0]}x{usable[1]}x{usable[2]} mm in any orientation",
            )
    if sum(u.volume for u in units) > usable[0] * usable[1] * usable[2]:
        return Rejection(box_code, material_code, DOES_NOT_FIT, "the items' volume exceeds the box's")
    if not place:
        return usable, []
    placements = place_units(units, usable)
    if placements is None:
        return Rejection(
            box_code, material_code, DOES_NOT_FIT, "the items could not be arranged inside the box"
        )
    return usable, placements


def place_units(units: Sequence[Item], space: tuple[int, int, int]) -> list[Placement] | None:
    """Place every unit of the items in the space, or None when the heuristic
    finds no arrangement. See the module note for the method."""
    order = sorted(
        _expand(units),
        key=lambda u: (-u.volume, -max(u.length_mm, u.width_mm, u.height_mm), u.label),
    )
    placed: list[Placement] = []
    points: set[tuple[int, int, int]] = {(0, 0, 0)}
    for unit in order:
        spot = _first_fit(unit, space, placed, points)
        if spot is None:
            return None
        placed.append(spot)
        # The new unit's free corners become candidates; corners it now covers stop being free.
        points |= {
            (spot.x + spot.dx, spot.y, spot.z),
            (spot.x, spot.y + spot.dy, spot.z),
            (spot.x, spot.y, spot.z + spot.dz),
        }
        points = {p for p in points if _inside_space(p, space) and not _covered(p, placed)}
    return placed


def _first_fit(
    unit: Item, space: tuple[int, int, int], placed: list[Placement], points: set[tuple[int, int, int]]
) -> Placement | None:
    rotations = _rotations(unit, space)
    # Lowest, then back, then left: fills the floor before stacking.
    for x, y, z in sorted(points, key=lambda p: (p[2], p[1], p[0])):
        for dx, dy, dz in rotations:
            if x + dx > space[0] or y + dy > space[1] or z + dz > space[2]:
                continue
            candidate = Placement(unit.label, x, y, z, dx, dy, dz)
            if not any(candidate.overlaps(other) for other in placed):
                return candidate
    return None


def _rotations(unit: Item, space: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """Distinct orientations that fit the empty space, lowest first, then widest footprint."""
    dims = (unit.length_mm, unit.width_mm, unit.height_mm)
    fitting = {r for r in permutations(dims) if r[0] <= space[0] and r[1] <= space[1] and r[2] <= space[2]}
    return sorted(fitting, key=lambda r: (r[2], -r[0] * r[1], r))


def _inside_space(p: tuple[int, int, int], space: tuple[int, int, int]) -> bool:
    return p[0] < space[0] and p[1] < space[1] and p[2] < space[2]


def _covered(p: tuple[int, int, int], placed: list[Placement]) -> bool:
    return any(
        q.x <= p[0] < q.x + q.dx and q.y <= p[1] < q.y + q.dy and q.z <= p[2] < q.z + q.dz for q in placed
    )


def _expand(items: Sequence[Item]) -> list[Item]:
    units = []
    for item in items:
        if min(item.length_mm, item.width_mm, item.height_mm) <= 0 or item.quantity < 0:
            raise ValueError(f"item {item.label or item} needs positive dimensions and quantity")
        units.extend(
            Item(item.length_mm, item.width_mm, item.height_mm, item.weight_grams, 1, item.label)
            for _ in range(item.quantity)
        )
    return units


def _code(material: Any | None) -> str:
    return material.code if material is not None else ""


def _pair_cost(box: Any, material: Any | None) -> Decimal:
    return Decimal(box.cost) + (Decimal(material.cost) if material else Decimal(0))


def _packed_weight(box: Any, material: Any | None, contents_weight: int) -> int:
    return contents_weight + box.empty_weight_grams + (material.weight_grams if material else 0)


def _pair_order(pair: tuple[Any, Any | None]) -> tuple:
    box, material = pair
    volume = box.inner_length_mm * box.inner_width_mm * box.inner_height_mm
    return (_pair_cost(box, material), volume, box.code, _code(material))
