"""ProDev Hub settings: one file, every value from the environment.

With no variables set the site runs in development mode on SQLite, the
local-memory cache and the immediate task backend, so ``make run`` works on a
fresh machine. Production sets ``DEBUG=false`` plus the variables listed in the
README's configuration table.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from site_config.env import (
    envbool,
    envchoice,
    envdatabase,
    envint,
    envlist,
    envstr,
    envurl,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = envbool("DEBUG", True)
TESTING = "PYTEST_VERSION" in os.environ

SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "development-only-key-never-used-in-production-0123456789abcdef"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = envurl("SITE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
# Proxies in front of the app that append to X-Forwarded-For (0 = none).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0, minimum=0)

INSTALLED_APPS = [
    "core",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_tasks_db",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",  # first: every response carries X-Request-ID
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.AuditMiddleware",  # last: sees every view's 403/404/429
]

DEBUG_TOOLBAR = (
    DEBUG
    and not TESTING
    and envbool("DEBUG_TOOLBAR", True)
    and importlib.util.find_spec("debug_toolbar") is not None
)
if DEBUG_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "debug_toolbar.middleware.DebugToolbarMiddleware",
    )
    INTERNAL_IPS = ["127.0.0.1"]
    # Collapsed to its handle so it never covers the page being worked on.
    DEBUG_TOOLBAR_CONFIG = {"SHOW_COLLAPSED": True}

ROOT_URLCONF = "site_config.urls"
WSGI_APPLICATION = "site_config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
            ],
        },
    }
]

# Database: SQLite in development, PostgreSQL through DATABASE_URL in production.
_database = envdatabase("DATABASE_URL")
if _database is None:
    VAR_DIR.mkdir(exist_ok=True)
    _database = {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}
if _database["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections, checked before reuse so a restarted server is survived.
    _database["CONN_MAX_AGE"] = envint("DATABASE_CONN_MAX_AGE", 600, minimum=0)
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The review queue's covering indexes (INCLUDE columns) are for PostgreSQL; SQLite, used
# in development, builds them without the extra columns, which is all W040 says. Nothing
# is silenced on PostgreSQL.
SQLITE = _database["ENGINE"].endswith("sqlite3")
SILENCED_SYSTEM_CHECKS = ["models.W040"] if SQLITE else []

# Cache: Django's Redis backend in production (reusing one client per connection pool,
# see core/cache_backend.py), local memory otherwise.
REDIS_URL = envurl("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache_backend.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": envstr("CACHE_KEY_PREFIX", "prodev"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live in the database so any web process can serve any request, and are read
# through the cache (core/sessions.py; a down cache falls back to the database). The
# cache is Redis whenever DEBUG is off (checked below); the local-memory cache serves
# only a single development process.
SESSION_ENGINE = "core.sessions"
# Signed-in sessions end after this long without a request, and this long after sign-in
# (core.middleware.SessionLifetimeMiddleware); 0 turns a limit off. Off by default in the
# test suite, whose tests move the clock days ahead with signed-in clients;
# tests/test_sessions.py turns them on.
SESSION_IDLE_TIMEOUT_MINUTES = envint(
    "SESSION_IDLE_TIMEOUT_MINUTES", 0 if TESTING else 120, minimum=0
)
SESSION_ABSOLUTE_HOURS = envint("SESSION_ABSOLUTE_HOURS", 0 if TESTING else 24 * 14, minimum=0)
# The cookie (and the stored session) never outlives the absolute lifetime.
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_HOURS * 3600 or 60 * 60 * 24 * 14

# Background work: Django's tasks framework.
TASKS_BACKEND = envchoice("TASKS_BACKEND", "immediate", ("immediate", "database"))
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
        }[TASKS_BACKEND],
    }
}

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing with PBKDF2's full cost in every factory would make the suite crawl.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: email is the login; verification is mandatory in production.
ACCOUNT_ADAPTER = "core.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "core.forms.SignupForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = envchoice(
    "ACCOUNT_EMAIL_VERIFICATION",
    "optional" if DEBUG else "mandatory",
    ("mandatory", "optional", "none"),
)
if not DEBUG and ACCOUNT_EMAIL_VERIFICATION != "mandatory":
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be mandatory when DEBUG is off.")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[ProDev Hub] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# allauth's rate limits are on by default; they count in the cache, so
# production needs the shared Redis cache (checked below).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}

# allauth counts rate limits per client IP: trust only our own proxies' X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: console in development unless EMAIL_HOST is set; SMTP in production.
_email_host = envstr("EMAIL_HOST", "" if DEBUG else "localhost")
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": envint("EMAIL_PORT", 587, minimum=1),
                "username": envstr("EMAIL_HOST_USER"),
                "password": envstr("EMAIL_HOST_PASSWORD"),
                "use_tls": envbool("EMAIL_USE_TLS", True),
                "timeout": envint("EMAIL_TIMEOUT", 10, minimum=1),
            },
        }
        if _email_host
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "ProDev Hub <noreply@prodev.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Product limits (named so nothing hides a magic number).
CLAIM_MINUTES = envint("CLAIM_MINUTES", 30, minimum=1)  # a mentor's lease on an iteration
MAX_CLAIMS = envint("MAX_CLAIMS", 4, minimum=1)  # live claims one mentor may hold
MAX_UPLOAD_MB = envint("MAX_UPLOAD_MB", 10, minimum=1)  # per attachment
MAX_ATTACHMENTS = 5  # per iteration
PEER_ASSIGNMENT_HOURS = envint("PEER_ASSIGNMENT_HOURS", 8, minimum=1)  # a peer's lease
MAX_ZIP_UNCOMPRESSED_MB = 50  # total size of a zip attachment once extracted
MAX_ZIP_ENTRIES = 1000
PASSING_SCORE = 50  # percent: a project scored at least this is done
# Percent: a learner whose overall score (see core/services/dashboards.py) is below
# this is listed as at risk on their mentor's dashboard.
AT_RISK_SCORE = envint("AT_RISK_SCORE", 60, minimum=0)
# Lifetime of cached dashboard read models. Signals invalidate them on every write
# (versioned keys, core/cache.py); this only bounds memory and a cache outage's staleness.
DASHBOARD_CACHE_SECONDS = envint("DASHBOARD_CACHE_SECONDS", 600, minimum=1)
EXPORT_TTL_HOURS = 24  # a finished CSV export stays downloadable this long
EXPORT_STALE_MINUTES = 15  # an export silent this long is shown as failed
EXPECTED_WAIT_WINDOW_DAYS = 7  # review throughput window for the expected wait
# Requests per user (or client IP when anonymous) per minute, beyond allauth's limits;
# counted in the cache by core.ratelimit (POSTs only), answered with 429 past them.
RATE_LIMITS = {"submissions": 10, "comments": 20, "review_requests": 30, "exports": 5}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # form fields; files stream to disk past this

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security headers, on in every mode so development shows what production does.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

if not DEBUG:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies are only accepted over HTTPS, for the exact host, path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if not REDIS_URL:
        raise ImproperlyConfigured(
            "REDIS_URL must be set when DEBUG is off: rate limits need a shared cache."
        )

# One line per record: JSON in production (core.logging.JsonFormatter), plain text with
# escaped line breaks in development; both carry the request id (X-Request-ID).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "core.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {
            "()": "core.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if DEBUG else "json",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
