"""Reads for the picking API and admin: a constant number of queries however
many lists, lines or shipments there are."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from ..models import PickList, PickListLine, Wave
from .common import LINE_RELATED, OPEN_LIST_STATUSES


def pick_lists() -> QuerySet[PickList]:
    """Pick lists with their unit counts, stops and shipments."""
    return (
        PickList.objects.select_related("warehouse", "zone__warehouse", "wave", "picker")
        .annotate(
            units=Coalesce(Sum("lines__quantity"), 0),
            units_picked=Coalesce(Sum("lines__quantity_picked"), 0),
            units_short=Coalesce(Sum("lines__quantity_short"), 0),
            stops=Count("lines__sequence", distinct=True),
            shipments=Count("lines__fulfillment_line__fulfillment_order", distinct=True),
        )
        .order_by("-id")
    )


def pick_list_lines(pick_list: PickList) -> list[PickListLine]:
    """A list's lines in walking order, each with its bin, SKU and shipment."""
    return list(
        pick_list.lines.select_related(*LINE_RELATED, "bin__zone").order_by("sequence", "tote_slot", "id")
    )


def waves() -> QuerySet[Wave]:
    return (
        Wave.objects.select_related("warehouse", "carrier", "created_by")
        .annotate(
            lists=Count("pick_lists", distinct=True),
            lists_open=Count(
                "pick_lists", filter=Q(pick_lists__status__in=OPEN_LIST_STATUSES), distinct=True
            ),
            shipment_count=Count("fulfillment_orders", distinct=True),
        )
        .order_by("-id")
    )
