import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_insecure_key(**kwargs) -> None:
    from oms.startup import refuse_insecure_key

    refuse_insecure_key("Celery worker")
