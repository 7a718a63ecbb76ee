from celery import shared_task

from .replenishment import reorder_check


@shared_task(ignore_result=True)
def run_reorder_check() -> dict:
    """Beat: draft the purchase orders the reorder rules call for (safe to run twice)."""
    result = reorder_check()
    return {"ran": result.ran, "purchase_orders": result.purchase_orders, "lines": result.lines}
