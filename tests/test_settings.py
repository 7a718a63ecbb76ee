import pytest
from django.core.exceptions import ImproperlyConfigured

from oms.startup import refuse_insecure_key


def test_servers_refuse_the_development_key_in_production(settings):
    settings.INSECURE_SECRET_KEY = True
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        refuse_insecure_key("web server")
    settings.DEBUG = True
    refuse_insecure_key("web server")
    settings.DEBUG = False
    settings.INSECURE_SECRET_KEY = False
    refuse_insecure_key("web server")
