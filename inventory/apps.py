from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from . import checks, notifications  # noqa: F401 - registers reconcile checks and e-mails
