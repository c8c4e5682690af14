"""OrderGuard settings.

The embedded default needs no server: SQLite in WAL mode and Huey on SQLite, both under
``OG_VAR_DIR`` (``./var`` by default). Environment variables switch to the scale-out profile:

- ``DATABASE_URL``: e.g. ``postgres://postgres@127.0.0.1:5432/orderguard``
- ``REDIS_URL``: e.g. ``redis://127.0.0.1:6379/0`` (Huey on Redis)
- ``OG_SECRET_KEY``, ``OG_DEBUG``, ``OG_ALLOWED_HOSTS`` (comma separated)
- ``OG_PRODUCTION=1``: HTTPS-only cookies, HSTS, redirect to HTTPS; refuses to start without a
  real ``OG_SECRET_KEY`` or with ``OG_DEBUG`` on (see "production" below)
- ``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``,
  ``EMAIL_USE_TLS``, ``OG_EMAIL_FROM``: the SMTP server of the outbox's email channel
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OG_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


_EMBEDDED_SECRET_KEY = "orderguard-embedded-default-change-me-in-production"
PRODUCTION = _env_bool("OG_PRODUCTION", False)
SECRET_KEY = os.environ.get("OG_SECRET_KEY", _EMBEDDED_SECRET_KEY)
DEBUG = _env_bool("OG_DEBUG", False)
ALLOWED_HOSTS = _env_list("OG_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = _env_list("OG_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",
    "axes",
    "django_htmx",
    "orderguard.core",
    "orderguard.tenancy",
    "orderguard.catalog",
    "orderguard.orders",
    "orderguard.validation",
    "orderguard.inventory",
    "orderguard.sla",
    "orderguard.notifications",
    "orderguard.cases",
    "orderguard.specials",
    "orderguard.intake",
    "orderguard.monitoring",
    "orderguard.incidents",
    "orderguard.analysis",
    "orderguard.audits",
    "orderguard.feedback",
    "orderguard.web",
    "orderguard.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "orderguard.core.middleware.ApiNoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # after the language is known, before anything reads the body
    "orderguard.api.middleware.ApiEdgeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "orderguard.web.language.UserLanguageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last, as its docs ask: it turns the lockout flag set during authenticate() into the page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orderguard.config.urls"
WSGI_APPLICATION = "orderguard.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "orderguard.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # IMMEDIATE: a write transaction takes the write lock when it starts, so two
                # writers queue on busy_timeout instead of failing on lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA temp_store=MEMORY;"
                    "PRAGMA cache_size=-65536;"
                ),
            },
            "TEST": {"NAME": str(VAR_DIR / "test-orderguard.sqlite3")},
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- background work (Huey) -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_NAME = os.environ.get("OG_HUEY_NAME", "orderguard")
_huey_immediate = _env_bool("OG_HUEY_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "name": HUEY_NAME,
        "huey_class": "huey.RedisHuey",
        "url": REDIS_URL,
        "immediate": _huey_immediate,
        "consumer": {"workers": 4, "worker_type": "thread"},
    }
else:
    HUEY = {
        "name": HUEY_NAME,
        "huey_class": "huey.SqliteHuey",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": _huey_immediate,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# --- auth, i18n -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Axes first: it refuses a locked-out caller before ModelBackend checks the password. It has
# no get_user(), so sessions (and the test client's force_login) stay with ModelBackend,
# whose get_user() refuses an inactive user: disabling a user ends its sessions.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in lockout (django-axes, attempts in the database): after OG_LOGIN_FAILURE_LIMIT failures
# for one username from one address, that pair is refused for the cool-off, even with the
# right password. Keyed on the pair so nobody can lock a colleague out from elsewhere. The
# address is REMOTE_ADDR (X-Forwarded-For is not trusted: anyone can send it).
AXES_FAILURE_LIMIT = int(os.environ.get("OG_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("OG_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# the cool-off runs from the failure that locked: retrying while locked does not extend it
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "orderguard.web.views.locked_out"
AXES_HTTP_RESPONSE_CODE = 429

# Sessions in the database expire SESSION_COOKIE_AGE after the last change (the sign-in);
# the row's expire_date is checked on every request, whatever the browser keeps.
SESSION_COOKIE_AGE = int(os.environ.get("OG_SESSION_AGE_SECONDS", str(12 * 60 * 60)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SESSION_COOKIE_HTTPONLY = True
# Readable by scripts on purpose: HTMX requests send it back in the X-CSRFToken header.
# HttpOnly would protect nothing, since every form carries the same token in the page.
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("OG_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# How often the dashboard's panels fetch fresh figures (htmx polling), in seconds.
OG_DASHBOARD_REFRESH_SECONDS = max(1, int(os.environ.get("OG_DASHBOARD_REFRESH_SECONDS", "15")))
# The analysis' safety-stock advice (S3, B5): the replenishment lead time in days, and the
# service level whose z the formula uses (a share of days without a stock-out: 0.90 to 0.99).
OG_REPLENISH_LEAD_DAYS = max(1, int(os.environ.get("OG_REPLENISH_LEAD_DAYS", "7")))
OG_SERVICE_LEVEL = min(0.999, max(0.5, float(os.environ.get("OG_SERVICE_LEVEL", "0.95"))))
# The scheduled reports (analysis.delivery): the local hour from which Monday's weekly and the
# 1st's monthly report go out, and the address the emails' links start with (empty: a path).
OG_REPORT_SEND_HOUR = min(23, max(0, int(os.environ.get("OG_REPORT_SEND_HOUR", "7"))))
OG_PUBLIC_URL = os.environ.get("OG_PUBLIC_URL", "")
# Browser assets installed from the npm registry (package-lock.json) by `make setup`, copied
# here so that only the files the pages use are served (whitenoise, no CDN).
ASSETS_DIR = Path(os.environ.get("OG_ASSETS_DIR", BASE_DIR.parent.parent / "static_build")).resolve()
STATICFILES_DIRS = [ASSETS_DIR] if ASSETS_DIR.is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- email (the outbox's email channel) -----------------------------------------------------
# With EMAIL_HOST set, mail goes through that SMTP server; without it (the embedded profile),
# Django's file backend writes each message under var/mail so nothing needs a mail server.
EMAIL_BACKEND = os.environ.get(
    "OG_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("OG_EMAIL_FROM", "orderguard@localhost")

# Outbox delivery: attempts before a message is marked failed, and the first back-off step.
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OG_OUTBOX_MAX_ATTEMPTS", "6"))
OUTBOX_BACKOFF_SECONDS = int(os.environ.get("OG_OUTBOX_BACKOFF_SECONDS", "60"))
# A claimed message is one run's for this long; a worker killed mid-send frees it then.
OUTBOX_CLAIM_SECONDS = int(os.environ.get("OG_OUTBOX_CLAIM_SECONDS", "300"))
# Sends in flight at once per run (HTTP robots, SMS gateways; an SMTP session sends one by one).
OUTBOX_SEND_THREADS = max(1, int(os.environ.get("OG_OUTBOX_SEND_THREADS", "16")))
# Failures in a row after which an endpoint is shown unhealthy (healthy again after a success).
OUTBOX_UNHEALTHY_AFTER = max(1, int(os.environ.get("OG_OUTBOX_UNHEALTHY_AFTER", "3")))
# How long events of one digest key wait to be folded into one message.
OUTBOX_DIGEST_WINDOW_SECONDS = int(os.environ.get("OG_OUTBOX_DIGEST_WINDOW_SECONDS", "600"))
# No SMS to buyers in these local hours (HH:MM-HH:MM, TIME_ZONE): one due then waits for the end.
OUTBOX_SMS_QUIET_HOURS = os.environ.get("OG_SMS_QUIET_HOURS", "21:00-08:00")

# Monitoring (D3): each active channel's order flow against its own history per hour of the
# week, its import and webhook error rates, and OrderGuard's own health. A channel is silent when
# no order arrived for at least MONITOR_SILENCE_MIN_MINUTES while its history expects at least
# MONITOR_SILENCE_EXPECTED orders in that gap; slow when the last MONITOR_FLOW_WINDOW_MINUTES
# brought less than MONITOR_SLOW_RATIO of the expected orders and at least three standard
# deviations fewer. A channel is judged only with MONITOR_BASELINE_MIN_WEEKS weeks of history
# (out of MONITOR_BASELINE_WEEKS) and only where that history expects
# MONITOR_FLOW_MIN_EXPECTED orders in the window (quiet hours are not faults).
MONITOR_BASELINE_WEEKS = int(os.environ.get("OG_MONITOR_BASELINE_WEEKS", "4"))
MONITOR_BASELINE_MIN_WEEKS = int(os.environ.get("OG_MONITOR_BASELINE_MIN_WEEKS", "2"))
MONITOR_SILENCE_MIN_MINUTES = int(os.environ.get("OG_MONITOR_SILENCE_MIN_MINUTES", "5"))
MONITOR_SILENCE_EXPECTED = float(os.environ.get("OG_MONITOR_SILENCE_EXPECTED", "5"))
MONITOR_FLOW_WINDOW_MINUTES = int(os.environ.get("OG_MONITOR_FLOW_WINDOW_MINUTES", "60"))
MONITOR_FLOW_MIN_EXPECTED = float(os.environ.get("OG_MONITOR_FLOW_MIN_EXPECTED", "8"))
MONITOR_SLOW_RATIO = float(os.environ.get("OG_MONITOR_SLOW_RATIO", "0.3"))
# import batches and webhook deliveries of the last window: the share with errors that is a fault
MONITOR_ERROR_WINDOW_MINUTES = int(os.environ.get("OG_MONITOR_ERROR_WINDOW_MINUTES", "30"))
MONITOR_ERROR_RATE = float(os.environ.get("OG_MONITOR_ERROR_RATE", "0.5"))
MONITOR_ERROR_MIN_COUNT = int(os.environ.get("OG_MONITOR_ERROR_MIN_COUNT", "3"))
# OrderGuard itself: the oldest message due in the outbox, and free disk space under OG_VAR_DIR
MONITOR_OUTBOX_MAX_AGE_SECONDS = int(os.environ.get("OG_MONITOR_OUTBOX_MAX_AGE_SECONDS", "900"))
MONITOR_DISK_MIN_FREE_MB = int(os.environ.get("OG_MONITOR_DISK_MIN_FREE_MB", "1024"))
# Manual orders (H4.2, B3) match the platform's copy by phone and lines within this many hours
MANUAL_MATCH_WINDOW_HOURS = int(os.environ.get("OG_MANUAL_MATCH_WINDOW_HOURS", "72"))

# /metrics answers only with this bearer token when it is set (Prometheus' `authorization`).
METRICS_TOKEN = os.environ.get("OG_METRICS_TOKEN", "")

# How many proxies in front of OrderGuard append to X-Forwarded-For (0: none, REMOTE_ADDR is the
# client). The sign-in lockout counts failures per client address read this way.
TRUSTED_PROXY_COUNT = int(os.environ.get("OG_TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "orderguard.core.net.axes_client_ip"

# Imports: spreadsheet safety limits (zip-bomb guard) and batch size.
IMPORT_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("OG_IMPORT_MAX_UNCOMPRESSED_BYTES", str(512 * 1024 * 1024))
)
IMPORT_MAX_COMPRESSION_RATIO = int(os.environ.get("OG_IMPORT_MAX_COMPRESSION_RATIO", "200"))
IMPORT_CHUNK_SIZE = int(os.environ.get("OG_IMPORT_CHUNK_SIZE", "2000"))
WEBHOOK_MAX_BODY_BYTES = int(os.environ.get("OG_WEBHOOK_MAX_BODY_BYTES", str(2 * 1024 * 1024)))

# Days after its last change that a closed order (shipped, cancelled, closed on the platform)
# keeps its recipient's name, phone and address; then the daily retention job removes them.
RECIPIENT_RETENTION_DAYS = int(os.environ.get("OG_RECIPIENT_RETENTION_DAYS", "180"))
if RECIPIENT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("OG_RECIPIENT_RETENTION_DAYS must be at least 1 (days).")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("OG_LOG_LEVEL", "WARNING")},
    # the Huey consumer adds its own handler; not propagating keeps its lines single
    "loggers": {"huey": {"level": "INFO", "propagate": False}},
}

ADMIN_SITE_HEADER = _("OrderGuard")

# --- production ---------------------------------------------------------------------------
# OG_PRODUCTION=1: HTTPS only. Behind a proxy that terminates TLS, OG_SECURE_PROXY_SSL_HEADER
# names the header it sets (e.g. "HTTP_X_FORWARDED_PROTO,https"), and OG_SECURE_SSL_REDIRECT=0
# leaves the HTTP→HTTPS redirect to the proxy (the deploy check's W008 is then silenced).
if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("OG_PRODUCTION=1 with OG_DEBUG on: DEBUG shows code and settings.")
    if (
        SECRET_KEY == _EMBEDDED_SECRET_KEY
        or SECRET_KEY.startswith("django-insecure-")
        or len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
    ):
        raise ImproperlyConfigured(
            "OG_PRODUCTION=1 needs OG_SECRET_KEY: a random secret of at least 50 characters, e.g. "
            '`python -c "import secrets; print(secrets.token_urlsafe(64))"`.'
        )
    if not METRICS_TOKEN and not _env_bool("OG_METRICS_PUBLIC", False):
        raise ImproperlyConfigured(
            "OG_PRODUCTION=1 needs OG_METRICS_TOKEN (the bearer token Prometheus sends to /metrics), "
            "or OG_METRICS_PUBLIC=1 when /metrics is reachable only from a trusted network."
        )
    SECURE_SSL_REDIRECT = _env_bool("OG_SECURE_SSL_REDIRECT", True)
    if not SECURE_SSL_REDIRECT:
        SILENCED_SYSTEM_CHECKS = ["security.W008"]
    # probes call the process over plain HTTP from inside the network
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^api/v1/health$"]
    _proxy_header = _env_list("OG_SECURE_PROXY_SSL_HEADER")
    if _proxy_header:
        if len(_proxy_header) != 2:
            raise ImproperlyConfigured(
                'OG_SECURE_PROXY_SSL_HEADER is "HEADER,value", e.g. "HTTP_X_FORWARDED_PROTO,https".'
            )
        SECURE_PROXY_SSL_HEADER = (_proxy_header[0], _proxy_header[1])
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# D5 customer-service reports: the largest attachment accepted, and how many per report.
REPORT_ATTACHMENT_MAX_BYTES = int(os.environ.get("OG_REPORT_ATTACHMENT_MAX_BYTES", str(5 * 1024 * 1024)))
REPORT_ATTACHMENTS_MAX = int(os.environ.get("OG_REPORT_ATTACHMENTS_MAX", "5"))
