from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "accounting"

    def ready(self) -> None:
        from oms.money import set_rate_source

        from . import checks, dunning, handlers  # noqa: F401 - reconcile checks and outbox handlers
        from .services import exchange_rate

        # Other apps convert (e.g. a purchase in another currency than a SKU's
        # cost) at the newest rate on or before the day.
        set_rate_source(lambda currency, day: exchange_rate(currency=currency, day=day, latest=True))
