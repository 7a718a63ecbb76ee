from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"

    def ready(self) -> None:
        # Registers outbox handlers (sourcing after placement, shipping e-mails,
        # payment capture) and reconcile checks.
        from . import handlers  # noqa: F401
