from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Registers outbox handlers (e-mails, payment void retries) and reconcile checks.
        from . import checks, notifications, services  # noqa: F401
