from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"

    def ready(self) -> None:
        from . import notifications  # noqa: F401 - registers the customer e-mail outbox handlers
        from .dashboard import kpis  # noqa: F401 - the outbox handlers that keep the sales summary
