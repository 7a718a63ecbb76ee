from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Registers the outbox handlers (e-mails, payment void retries).
        from . import notifications, services  # noqa: F401
