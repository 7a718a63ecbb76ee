from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"

    def ready(self) -> None:
        from . import notifications  # noqa: F401 - registers the customer e-mail outbox handlers
