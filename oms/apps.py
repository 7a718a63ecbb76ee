from django.apps import AppConfig


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "OMS core"

    def ready(self) -> None:
        from . import webhooks  # noqa: F401 - the outbox handlers that queue webhook deliveries
        from .api import schema  # noqa: F401 - registers OpenAPI extensions
