"""Waves: the most urgent released shipments of one location - of one
carrier and due on or before a day when asked - picked in all zones at once
and brought together at one consolidation point.

wave_create plans the wave and its zone lists (the shipments go to picking
at once, so no other list takes them); the lists cannot be picked until
wave_release opens the wave. It completes when none of its lists is open
(common.wave_follow_lists); wave_cancel gives back what was not picked.
Locks: like the lists (warehouse, orders, shipments, pick lists), the wave
row last.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition, NotFound

from ..models import Carrier, FulfillmentOrder, PickList, Wave
from .common import OPEN_LIST_STATUSES
from .lists import (
    build_lists,
    check_max_orders,
    default_selection,
    lock_and_plan,
    lock_warehouse,
    mark_listed,
    pickable,
)
from .scanning import cancel_lists

Status = FulfillmentOrder.Status
Mode = PickList.Mode


@transaction.atomic
def wave_create(
    *,
    warehouse_id: int,
    actor: Actor,
    carrier_id: int | None = None,
    ship_by: date | None = None,
    max_orders: int | None = None,
    consolidation_point: str = "",
) -> Wave:
    """A wave of the most urgent released shipments (highest priority, then
    earliest ship-by day), of one carrier and due on or before `ship_by`
    when given, picked zone by zone and brought to one consolidation point.
    The wave is planned: its lists cannot be picked until wave_release."""
    limit = check_max_orders(max_orders)
    warehouse = lock_warehouse(warehouse_id)
    carrier = None
    if carrier_id is not None:
        carrier = Carrier.objects.filter(pk=carrier_id).first()
        if carrier is None:
            raise InvalidInput.field("carrier", f"unknown carrier {carrier_id}")
    if ship_by is not None and not isinstance(ship_by, date):
        raise InvalidInput.field("ship_by", "must be a date")
    if len(consolidation_point) > 40:
        raise InvalidInput.field("consolidation_point", "at most 40 characters")
    pool = pickable(warehouse).filter(status=Status.RELEASED)
    if carrier is not None:
        pool = pool.filter(service__carrier=carrier)
    if ship_by is not None:
        pool = pool.filter(ship_by__lte=ship_by)
    chosen = default_selection(warehouse, pool, limit, None)
    planned = lock_and_plan(warehouse, chosen, zone=None, explicit=False)
    wave = Wave.objects.create(
        warehouse=warehouse,
        carrier=carrier,
        cutoff_at=_cutoff([fo.pk for fo, _ in planned]),
        consolidation_point=consolidation_point.strip(),
        created_by=actor.user if actor.type == "staff" else None,
    )
    if not wave.consolidation_point:
        wave.consolidation_point = f"CONS-W{wave.pk:06d}"
        wave.save(update_fields=["consolidation_point"])
    lists = build_lists(warehouse, Mode.WAVE, planned, zone=None, wave=wave)
    mark_listed(planned, lists, actor, wave=wave)
    return wave


@transaction.atomic
def wave_release(*, wave_id: int, actor: Actor) -> Wave:
    """Open a planned wave's lists to the pickers."""
    wave = _lock_wave(wave_id)
    if wave.status != Wave.Status.PLANNED:
        raise InvalidTransition(f"{wave} is {wave.status}; only a planned wave can be released.")
    if not wave.pick_lists.filter(status__in=OPEN_LIST_STATUSES).exists():
        raise Conflict(f"{wave} has no open pick lists left to release.", code="nothing_to_pick")
    wave.status = Wave.Status.RELEASED
    wave.released_at = timezone.now()
    wave.save(update_fields=["status", "released_at"])
    return wave


def wave_cancel(*, wave_id: int, actor: Actor) -> Wave:
    """Cancel a wave's open lists (their unpicked shipments go back to released)."""
    with transaction.atomic():
        wave = Wave.objects.filter(pk=wave_id).first()
        if wave is None:
            raise NotFound(f"Wave {wave_id} does not exist.")
        if wave.status not in (Wave.Status.PLANNED, Wave.Status.RELEASED):
            raise InvalidTransition(f"{wave} is {wave.status}; it cannot be cancelled.")
        cancel_lists(list(wave.pick_lists.filter(status__in=OPEN_LIST_STATUSES)), actor)
        wave = _lock_wave(wave_id)
        if wave.status in (Wave.Status.PLANNED, Wave.Status.RELEASED):
            wave.status = Wave.Status.CANCELLED
            wave.save(update_fields=["status"])
        return wave


def _lock_wave(wave_id: int) -> Wave:
    wave = Wave.objects.select_for_update().filter(pk=wave_id).first()
    if wave is None:
        raise NotFound(f"Wave {wave_id} does not exist.")
    return wave


def _cutoff(fo_ids: list[int]) -> datetime | None:
    """The earliest carrier cut-off among the wave's shipments, on their ship-by day."""
    today = timezone.localdate()
    moments = [
        timezone.make_aware(datetime.combine(ship_by or today, cutoff))
        for ship_by, cutoff in FulfillmentOrder.objects.filter(
            pk__in=fo_ids, service__isnull=False
        ).values_list("ship_by", "service__cutoff_time")
    ]
    return min(moments, default=None)
