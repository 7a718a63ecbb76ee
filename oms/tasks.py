from celery import shared_task

from .outbox import dispatch_batch


@shared_task(ignore_result=True)
def dispatch_outbox(batch: int = 100, rounds: int = 20) -> int:
    """Drain due outbox events in batches; safe to run concurrently and twice.

    It stops when a batch comes back short of claimable events, not when some
    fail: one dead subscriber must not hold up everything behind it.
    """
    total = 0
    for _ in range(rounds):
        claimed, delivered = dispatch_batch(batch)
        total += delivered
        if claimed < batch:
            break
    return total


from . import webhook_tasks  # noqa: E402, F401 - outbound webhooks sender (autodiscovery finds only tasks.py)
