"""Project package and shared kernel: settings, URLs, the Celery app, money,
domain errors, the transactional outbox, channels and API authentication."""

from .celery import app as celery_app

__all__ = ["celery_app"]
