"""Settings, all from the environment (see the README's settings table).

Nothing here has a code path for another database engine: the OMS runs on
PostgreSQL everywhere, embedded or real (see oms/embedded.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Without SECRET_KEY, management commands (migrate, makemigrations, check)
# still run on a development key, but the web server and the Celery worker
# refuse to start unless DEBUG is on (oms/wsgi.py, oms/celery.py).
INSECURE_SECRET_KEY = not SECRET_KEY
if INSECURE_SECRET_KEY:
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    # Its (plain-text) tokens no longer authenticate: kept installed so that migration
    # oms.0008 can hash and delete them (staff keys are oms.StaffToken).
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "oms",
    "customers",
    "inventory",
    "accounting",
    "orders",
    "fulfillment",
    "returns",
]

MIDDLEWARE = [
    # First, to count every query; it removes itself unless OMS_QUERY_COUNT_HEADER=true.
    "oms.middleware.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on HTML pages (oms/security.py).
    "oms.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "oms.audit.AuditMiddleware",  # staff actions' audit trail; needs the session's user
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # request.htmx: dashboard views answer htmx requests with just the fragment.
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "oms.urls"
WSGI_APPLICATION = "oms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Use ./scripts/run or ./scripts/test, which start an embedded "
        "PostgreSQL when no database is given, or point DATABASE_URL at a PostgreSQL server."
    )
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("The OMS runs on PostgreSQL only; DATABASE_URL must be postgres://...")
DATABASES["default"].setdefault("OPTIONS", {})
# A statement stuck behind a lock must fail fast rather than pile up requests.
DATABASES["default"]["OPTIONS"].setdefault(
    "options", f"-c lock_timeout={os.environ.get('DB_LOCK_TIMEOUT_MS', '5000')}"
)
if os.environ.get("DATABASE_TEST_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["DATABASE_TEST_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "oms"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en-us")
# The languages customer e-mails and pages ship in (Customer.language picks one).
LANGUAGES = [("en", "English"), ("zh-hant", "繁體中文"), ("el", "Ελληνικά")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js from the installed plotly package (no third-party JS in the repository).
    "oms.staticfiles.PackageFileFinder",
]
# Password sign-in (dashboard, admin) with a brake on guessing (oms/auth_backends.py).
AUTHENTICATION_BACKENDS = ["oms.auth_backends.ThrottledModelBackend"]
LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5"))
LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "30"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
# The staff dashboard (/dashboard/) signs staff in on its own page.
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"
# Home dashboard: an order due today and not picked is in jeopardy this many
# minutes before its carrier's cut-off.
DASHBOARD_PICK_LEAD_MINUTES = int(os.environ.get("DASHBOARD_PICK_LEAD_MINUTES", "120"))
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Business settings -------------------------------------------------------
BASE_CURRENCY = os.environ.get("BASE_CURRENCY", "USD").upper()
# How long the stock behind an API order stays soft-reserved while the payment
# gateway is called; if the process dies in between, the expiry task frees it.
PLACEMENT_RESERVATION_SECONDS = int(os.environ.get("PLACEMENT_RESERVATION_SECONDS", "120"))
# How long a request waits for a concurrent request with the same
# Idempotency-Key to finish before answering 409 idempotency_in_progress.
IDEMPOTENCY_WAIT_SECONDS = float(os.environ.get("IDEMPOTENCY_WAIT_SECONDS", "15"))
PAYMENT_GATEWAYS = {
    "test": "orders.payments.test_gateway.TestGateway",
    # Orders paid on a sales platform (Shopify, WooCommerce): recorded, not charged again.
    "platform": "orders.integrations.gateway.PlatformGateway",
}
DEFAULT_PAYMENT_GATEWAY = os.environ.get("DEFAULT_PAYMENT_GATEWAY", "test")
STAFF_DIGEST_EMAILS = env_list("STAFF_DIGEST_EMAILS")
# A backorder's promise date is the day incoming stock covers it plus this.
BACKORDER_HANDLING_DAYS = int(os.environ.get("BACKORDER_HANDLING_DAYS", "1"))
# Reorder digests go here (falling back to STAFF_DIGEST_EMAILS).
WAREHOUSE_MANAGER_EMAILS = env_list("WAREHOUSE_MANAGER_EMAILS")
# The consolidated inventory view calls a position low below this many days of
# cover, and overstocked above OVERSTOCK_DAYS (or when nothing sold in 28 days).
LOW_STOCK_DAYS = int(os.environ.get("LOW_STOCK_DAYS", "7"))
OVERSTOCK_DAYS = int(os.environ.get("OVERSTOCK_DAYS", "120"))
# Stock alerts (inventory.alerts): an overstock alert needs at least this many
# units available, so a few idle units are not worth a warehouse manager's time.
OVERSTOCK_ALERT_MIN_UNITS = int(os.environ.get("OVERSTOCK_ALERT_MIN_UNITS", "10"))
# A count line raises a variance alert when |counted - expected| is more than
# this many units AND more than this percentage of the expected quantity.
COUNT_VARIANCE_ALERT_UNITS = int(os.environ.get("COUNT_VARIANCE_ALERT_UNITS", "1"))
COUNT_VARIANCE_ALERT_PERCENT = float(os.environ.get("COUNT_VARIANCE_ALERT_PERCENT", "5"))
# A condition that clears and comes back within this many hours continues its
# old alert (no second e-mail) instead of opening a new one.
STOCK_ALERT_REOPEN_HOURS = int(os.environ.get("STOCK_ALERT_REOPEN_HOURS", "24"))
# The alert digest lists at most this many alerts of each kind (and counts the rest).
STOCK_ALERT_DIGEST_MAX_LINES = int(os.environ.get("STOCK_ALERT_DIGEST_MAX_LINES", "100"))
# Forecast reorder rules: the lead time used when a SKU has no active preferred supplier.
REORDER_DEFAULT_LEAD_TIME_DAYS = int(os.environ.get("REORDER_DEFAULT_LEAD_TIME_DAYS", "14"))
# Stock-out risk / overstock reports forecast every position: the API keeps a
# result this long so paging through it does not forecast everything again.
INVENTORY_REPORT_CACHE_SECONDS = int(os.environ.get("INVENTORY_REPORT_CACHE_SECONDS", "900"))
MAX_LINE_QUANTITY = int(os.environ.get("MAX_LINE_QUANTITY", "10000"))
MAX_ORDER_LINES = int(os.environ.get("MAX_ORDER_LINES", "500"))
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "12"))
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "10"))  # then failed (replayable)
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
# Post-sale: the follow-up e-mail (rating, "did everything arrive?") goes out
# this many days after delivery; its answer links work this many days.
FOLLOW_UP_DAYS = int(os.environ.get("FOLLOW_UP_DAYS", "7"))
ANSWER_LINK_MAX_AGE_DAYS = int(os.environ.get("ANSWER_LINK_MAX_AGE_DAYS", "60"))

# --- E-mail -------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / ".data" / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@oms.localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
# Dunning: an open invoice this many days past its due date gets reminder 1, 2, 3...
# (a friendly reminder, a second notice, a final notice); only the highest level
# due is sent, once (accounting.dunning).
DUNNING_LEVELS = tuple(int(days) for days in env_list("DUNNING_LEVELS", "1,14,30"))
# The legal seller on invoices and quotes (empty: the channel's name), and how
# customers pay invoices (printed on invoices and reminders), e.g. "IBAN DE89 ... BIC ...".
MERCHANT_NAME = os.environ.get("MERCHANT_NAME", "")
MERCHANT_TAX_ID = os.environ.get("MERCHANT_TAX_ID", "")
# The seller's address as JSON, e.g. {"line1": "1 Main St", "city": "Newark", "country": "US"}.
MERCHANT_ADDRESS = json.loads(os.environ.get("MERCHANT_ADDRESS") or "{}")
MERCHANT_BANK_DETAILS = os.environ.get("MERCHANT_BANK_DETAILS", "")
CELERY_BEAT_SCHEDULE = {
    "expire-reservations-and-carts": {
        "task": "orders.tasks.expire_reservations_and_carts",
        "schedule": float(os.environ.get("EXPIRY_INTERVAL_SECONDS", "60")),
    },
    "dispatch-outbox": {
        "task": "oms.tasks.dispatch_outbox",
        "schedule": float(os.environ.get("OUTBOX_INTERVAL_SECONDS", "10")),
    },
    "reorder-check": {
        "task": "inventory.tasks.run_reorder_check",
        "schedule": float(os.environ.get("REORDER_INTERVAL_SECONDS", "3600")),
    },
    "stock-alerts": {
        "task": "inventory.tasks.refresh_stock_alerts",
        "schedule": float(os.environ.get("STOCK_ALERT_INTERVAL_SECONDS", "3600")),
    },
    "recompute-reorder-rules": {
        "task": "inventory.tasks.recompute_reorder_rules",
        "schedule": float(os.environ.get("REORDER_RULES_INTERVAL_SECONDS", str(24 * 3600))),
    },
    "allocate-backorders": {
        "task": "orders.tasks.allocate_backorders",
        "schedule": float(os.environ.get("BACKORDER_INTERVAL_SECONDS", "300")),
    },
    "late-orders-digest": {
        "task": "orders.tasks.send_late_orders_digest",
        "schedule": float(os.environ.get("LATE_ORDERS_INTERVAL_SECONDS", str(24 * 3600))),
    },
    "abandoned-cart-digest": {
        "task": "orders.tasks.send_abandoned_cart_digest",
        "schedule": float(os.environ.get("DIGEST_INTERVAL_SECONDS", str(24 * 3600))),
    },
    "expire-quotes": {
        "task": "orders.tasks.expire_quotes",
        "schedule": float(os.environ.get("QUOTE_EXPIRY_INTERVAL_SECONDS", "3600")),
    },
    "invoice-reminders": {
        "task": "accounting.tasks.send_invoice_reminders",
        "schedule": float(os.environ.get("DUNNING_INTERVAL_SECONDS", str(24 * 3600))),
    },
    "send-webhooks": {
        "task": "oms.webhook_tasks.send_webhooks",
        "schedule": float(os.environ.get("WEBHOOK_INTERVAL_SECONDS", "15")),
    },
    "post-sale-follow-ups": {
        "task": "returns.tasks.send_follow_ups",
        "schedule": float(os.environ.get("FOLLOW_UP_INTERVAL_SECONDS", "3600")),
    },
    "dashboard-summary": {
        "task": "returns.tasks.summarize_dashboard_days",
        "schedule": float(os.environ.get("DASHBOARD_SUMMARY_INTERVAL_SECONDS", "3600")),
    },
    "customer-metrics": {
        "task": "returns.metrics_tasks.refresh_customer_metrics",
        "schedule": float(os.environ.get("CUSTOMER_METRICS_INTERVAL_SECONDS", "3600")),
    },
}

# --- API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oms.api.auth.ChannelTokenAuthentication",
        "oms.api.auth.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["oms.api.permissions.IsChannelOrStaff"],
    "DEFAULT_PAGINATION_CLASS": "oms.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "oms.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "oms.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": (
        "Order management REST API for storefronts and channels. Channels authenticate with "
        "`Authorization: Bearer <channel token>`; staff with `Authorization: Token <staff token>` "
        'or an admin session. Errors are JSON: `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "CartStatusEnum": "orders.models.Cart.Status",
        "PaymentStatusEnum": "orders.models.Payment.Status",
        "PurchaseOrderStatusEnum": "inventory.models.PurchaseOrder.Status",
        "QuoteStatusEnum": "orders.models.Quote.Status",
        "InvoiceStatusEnum": "accounting.models.Invoice.Status",
        "OrderSourceEnum": "orders.models.Order.Source",
        "ReturnStatusEnum": "returns.models.ReturnRequest.Status",
        "ReturnSourceEnum": "returns.models.ReturnRequest.Source",
        "ReturnReasonEnum": "returns.models.ReturnLine.Reason",
        "CaseStatusEnum": "returns.models.CustomerCase.Status",
        "WebhookDeliveryStatusEnum": "oms.models_webhooks.WebhookDelivery.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Security headers and cookies ----------------------------------------------
# Safe in every mode (the dashboard and the admin work with them over plain
# http in development too); the README's production section lists the knobs.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Scripts only from /static/: no inline script or event handler runs (oms/security.py).
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)

# --- Production hardening (only when DEBUG is off) ----------------------------
if not DEBUG:
    # Secure cookies and HSTS are on by default: the site is served over https
    # (SECURE_COOKIES=false / SECURE_HSTS_SECONDS=0 only for a plain-http test box).
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Answers the load balancer's plain-http health probe without a redirect.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Asking browsers to preload HSTS binds the whole domain (and every subdomain)
    # to https for months after any change of mind: the operator's call, so
    # check --deploy does not insist on it.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    SECURE_PROXY_SSL_HEADER = (
        ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
    )
