"""Everything a wave prints in one go: for every packed shipment its label
and packing slip (next to each other, so they are stuck on and put in the
same parcel), then the wave's pick lists."""

from __future__ import annotations

from oms.documents import finish, new_canvas
from oms.errors import Conflict

from ..models import FulfillmentOrder, Wave
from .labels import draw_label
from .picking import draw_pick_list
from .slips import draw_packing_slip


def wave_documents_pdf(wave: Wave) -> bytes:
    packed = list(
        FulfillmentOrder.objects.filter(wave=wave, status=FulfillmentOrder.Status.PACKED)
        .select_related("order__channel", "warehouse", "service__carrier", "box")
        .order_by("id")
    )
    pick_lists = list(wave.pick_lists.select_related("warehouse", "zone", "picker").order_by("id"))
    if not packed and not pick_lists:
        raise Conflict(f"{wave} has no packed shipments and no pick lists to print.", code="nothing_to_print")
    canvas, buffer = new_canvas()
    for fo in packed:
        if fo.tracking_number:
            draw_label(canvas, fo)
        draw_packing_slip(canvas, fo)
    for pick_list in pick_lists:
        draw_pick_list(canvas, pick_list)
    return finish(canvas, buffer)
