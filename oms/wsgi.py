import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
application = get_wsgi_application()

from oms.startup import refuse_insecure_key  # noqa: E402 - needs the settings loaded above

refuse_insecure_key("web server")
