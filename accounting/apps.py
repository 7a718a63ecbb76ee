from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "accounting"

    def ready(self) -> None:
        from . import checks, handlers  # noqa: F401 - the books' reconcile checks and outbox handlers
