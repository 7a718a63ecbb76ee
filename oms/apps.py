from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "OMS core"

    def ready(self) -> None:
        from . import (
            audit,  # noqa: F401 - records sign-ins, failed sign-ins and sign-outs
            auth_backends,  # noqa: F401 - counts failed sign-ins
            webhooks,  # noqa: F401 - the outbox handlers that queue webhook deliveries
        )
        from .api import schema  # noqa: F401 - registers OpenAPI extensions

        post_migrate.connect(_sync_roles, dispatch_uid="oms.roles_permissions_sync")


def _sync_roles(sender, **kwargs) -> None:
    # Once, after the last app's post_migrate: by then Django has created every
    # app's permissions (its own handler runs for each app as it comes).
    if sender.label != list(apps.get_app_configs())[-1].label:
        return
    from .roles import roles_permissions_sync

    roles_permissions_sync(**kwargs)
