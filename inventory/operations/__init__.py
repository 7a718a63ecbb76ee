"""Stock operations: adjustments, write-offs, put-away and bin-to-bin moves,
transfers between locations (with goods in transit) and cycle counts.

Every quantity change goes through the ledger helpers of inventory.services
(levels locked in id order, one movement per change). A transfer or count
sheet row is locked before any stock level, like reservations are.

Each operation that changes on-hand takes an optional bin, with the rules of
inventory.bins: units added land in the bin named (or unlocated), units
removed come out of the bin named or, without one, in the bins' draw order,
one movement per bin touched.

Split by subject: .stock (adjust, write off, put away, bin move), .transfers
and .counts; import from here.
"""

from .common import ADJUSTMENT_REASONS, STOCK_ADJUSTED_TOPIC, WRITE_OFF_REASONS
from .counts import count_approve, count_cancel, count_record, count_start, count_submit
from .stock import stock_adjust, stock_bin_move, stock_putaway, stock_return, stock_write_off
from .transfers import transfer_cancel, transfer_create, transfer_receive, transfer_ship

__all__ = [
    "ADJUSTMENT_REASONS",
    "STOCK_ADJUSTED_TOPIC",
    "WRITE_OFF_REASONS",
    "count_approve",
    "count_cancel",
    "count_record",
    "count_start",
    "count_submit",
    "stock_adjust",
    "stock_bin_move",
    "stock_putaway",
    "stock_return",
    "stock_write_off",
    "transfer_cancel",
    "transfer_create",
    "transfer_receive",
    "transfer_ship",
]
