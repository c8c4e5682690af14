"""OrderGuard settings.

The embedded default needs no server: SQLite in WAL mode and Huey on SQLite, both under
``OG_VAR_DIR`` (``./var`` by default). Environment variables switch to the scale-out profile:

- ``DATABASE_URL``: e.g. ``postgres://postgres@127.0.0.1:5432/orderguard``
- ``REDIS_URL``: e.g. ``redis://127.0.0.1:6379/0`` (Huey on Redis)
- ``OG_SECRET_KEY``, ``OG_DEBUG``, ``OG_ALLOWED_HOSTS`` (comma separated)
- ``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``,
  ``EMAIL_USE_TLS``, ``OG_EMAIL_FROM``: the SMTP server of the outbox's email channel
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OG_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("OG_SECRET_KEY", "orderguard-embedded-default-change-me-in-production")
DEBUG = _env_bool("OG_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("OG_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

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
    "orderguard.core",
    "orderguard.tenancy",
    "orderguard.catalog",
    "orderguard.orders",
    "orderguard.validation",
    "orderguard.inventory",
    "orderguard.sla",
    "orderguard.notifications",
    "orderguard.cases",
    "orderguard.intake",
    "orderguard.monitoring",
    "orderguard.web",
    "orderguard.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# Imports: spreadsheet safety limits (zip-bomb guard) and batch size.
IMPORT_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("OG_IMPORT_MAX_UNCOMPRESSED_BYTES", str(512 * 1024 * 1024))
)
IMPORT_MAX_COMPRESSION_RATIO = int(os.environ.get("OG_IMPORT_MAX_COMPRESSION_RATIO", "200"))
IMPORT_CHUNK_SIZE = int(os.environ.get("OG_IMPORT_CHUNK_SIZE", "2000"))
WEBHOOK_MAX_BODY_BYTES = int(os.environ.get("OG_WEBHOOK_MAX_BODY_BYTES", str(2 * 1024 * 1024)))

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
