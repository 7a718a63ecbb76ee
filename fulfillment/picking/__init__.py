"""Picking: pick lists (single, batch, zone) and waves, built in the walking
order of the bins, and the scans that confirm units or report them short.

lists.py makes lists, waves.py waves, scanning.py confirms, shorts and cancels,
planning.py chooses the bins, selectors.py reads for the API and admin.
"""

from .common import PickProgress
from .lists import pick_lists_create
from .scanning import (
    ShortResult,
    pick_confirm_line,
    pick_list_cancel,
    pick_progress,
    pick_scan,
    pick_short,
)
from .waves import wave_cancel, wave_create, wave_release

__all__ = [
    "PickProgress",
    "ShortResult",
    "pick_confirm_line",
    "pick_list_cancel",
    "pick_lists_create",
    "pick_progress",
    "pick_scan",
    "pick_short",
    "wave_cancel",
    "wave_create",
    "wave_release",
]
