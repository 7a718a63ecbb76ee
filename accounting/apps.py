from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "accounting"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the books' reconcile checks
