from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def refuse_insecure_key(what: str) -> None:
    """Serving with the built-in development key would let anyone forge sessions
    and signed tokens: refuse unless DEBUG is on."""
    if settings.INSECURE_SECRET_KEY and not settings.DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set: the {what} will not start without it (or DEBUG=true)."
        )
