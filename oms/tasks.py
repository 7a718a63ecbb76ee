from celery import shared_task

from .outbox import dispatch_pending


@shared_task(ignore_result=True)
def dispatch_outbox(batch: int = 100, rounds: int = 20) -> int:
    """Drain due outbox events in batches; safe to run concurrently and twice."""
    total = 0
    for _ in range(rounds):
        delivered = dispatch_pending(batch)
        total += delivered
        if delivered < batch:
            break
    return total
