"""ProDev Hub settings: one file, every value from the environment.

With no variables set the site runs in development mode on SQLite, the
local-memory cache and the immediate task backend, so ``make run`` works on a
fresh machine. Production sets ``DEBUG=false`` plus the variables listed in the
README's configuration table.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import typing
from pathlib import Path

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from site_config.env import envbool, envchoice, envdatabase, envint, envlist, envstr, envurl

if typing.TYPE_CHECKING:  # not imported by name: an upper-case name here is a setting
    from django_stubs_ext.settings import TemplatesSetting

# Lets Django's generic classes be subscripted at run time as they are for mypy
# (``admin.ModelAdmin[Attempt]``, ``forms.ModelForm[Task]``).
django_stubs_ext.monkeypatch()

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
    "core.apps.AdminConfig",  # django.contrib.admin on our AdminSite
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
    "core.platform.middleware.RequestIdMiddleware",  # first: every response carries X-Request-ID
    "core.platform.middleware.BrowserPoliciesMiddleware",  # redirects and static files too
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.platform.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.platform.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.platform.middleware.AuditMiddleware",  # last: sees every view's 403/404/429
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

TEMPLATES: list[TemplatesSetting] = [
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
                "core.platform.context_processors.site",
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
SQLITE = _database["ENGINE"] == "django.db.backends.sqlite3"
SILENCED_SYSTEM_CHECKS = ["models.W040"] if SQLITE else []

# Cache: Django's Redis backend in production (reusing one client per connection pool,
# see core/platform/cache_backend.py), local memory otherwise.
REDIS_URL = envurl("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.platform.cache_backend.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": envstr("CACHE_KEY_PREFIX", "prodev"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live in the database so any web process can serve any request, and are read
# through the cache (core/platform/sessions.py; a down cache falls back to the database). The
# cache is Redis whenever DEBUG is off (checked below); the local-memory cache serves
# only a single development process.
SESSION_ENGINE = "core.platform.sessions"
# Flash messages as Django keeps them, under a cookie name production can prefix.
MESSAGE_STORAGE = "core.platform.messages.FallbackStorage"
MESSAGES_COOKIE_NAME = "messages"
# Signed-in sessions end after this long without a request, and this long after sign-in
# (core.platform.middleware.SessionLifetimeMiddleware); 0 turns a limit off. Off by default in the
# test suite, whose tests move the clock days ahead with signed-in clients;
# tests/platform/test_sessions.py turns them on.
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
ACCOUNT_ADAPTER = "core.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "core.accounts.forms.SignupForm"
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
# Sign-in limits (docs/security.md, "Sign-in"). Every sign-in post from one address,
# right or wrong: generous, since a classroom or an office signs in behind one NAT
# address at 9:00; wrong passwords have their own, tighter limits below.
SIGN_IN_PER_IP_PER_MINUTE = envint("SIGN_IN_PER_IP_PER_MINUTE", 300, minimum=1)
# Wrong passwords from one address (any accounts): stops one address guessing many.
SIGN_IN_FAILURES_PER_IP_PER_MINUTE = envint("SIGN_IN_FAILURES_PER_IP_PER_MINUTE", 10, minimum=1)
# Wrong passwords for one account, in a sliding window of this many minutes.
SIGN_IN_FAILURES_PER_ACCOUNT = envint("SIGN_IN_FAILURES_PER_ACCOUNT", 5, minimum=1)
SIGN_IN_FAILURE_WINDOW_MINUTES = envint("SIGN_IN_FAILURE_WINDOW_MINUTES", 5, minimum=1)
# A browser that signed in to an account before is a "known device" for it: a signed,
# HttpOnly cookie names it (core/accounts/signin.py), and its wrong passwords count against
# a budget of its own, so strangers pausing the account never lock its owner out.
KNOWN_DEVICE_DAYS = envint("KNOWN_DEVICE_DAYS", 365, minimum=1)
KNOWN_DEVICE_COOKIE_NAME = "prodev_device"
# Accounts one browser remembers (a lab computer shared by a class); the oldest go first.
KNOWN_DEVICE_MAX_ACCOUNTS = 20

# allauth's rate limits are on by default; they count in the cache, so
# production needs the shared Redis cache (checked below). "login" counts every
# sign-in post per address, "login_failed" the wrong passwords (per address and per
# account, "key"): a right password gives its count back.
ACCOUNT_RATE_LIMITS = {
    "login": f"{SIGN_IN_PER_IP_PER_MINUTE}/m/ip",
    "login_failed": (
        f"{SIGN_IN_FAILURES_PER_IP_PER_MINUTE}/m/ip,"
        f"{SIGN_IN_FAILURES_PER_ACCOUNT}/{SIGN_IN_FAILURE_WINDOW_MINUTES}m/key"
    ),
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
# Disputes: how long after a decision a learner may contest a verdict, and how many
# disputes one attempt may carry in all.
DISPUTE_WINDOW_DAYS = envint("DISPUTE_WINDOW_DAYS", 7, minimum=1)
DISPUTES_PER_ATTEMPT = envint("DISPUTES_PER_ATTEMPT", 3, minimum=1)
MAX_UPLOAD_MB = envint("MAX_UPLOAD_MB", 10, minimum=1)  # per attachment
MAX_ATTACHMENTS = 5  # per iteration
PEER_ASSIGNMENT_HOURS = envint("PEER_ASSIGNMENT_HOURS", 8, minimum=1)  # a peer's lease
MAX_ZIP_UNCOMPRESSED_MB = 50  # total size of a zip attachment once extracted
MAX_ZIP_ENTRIES = 1000
# Curriculum folders (import_curriculum, the admin's upload): every file is read whole,
# so these bound the memory and time of one import (docs/curriculum-format.md).
CURRICULUM_MAX_FILE_KB = envint("CURRICULUM_MAX_FILE_KB", 512, minimum=1)  # per file
CURRICULUM_MAX_FOLDER_MB = envint("CURRICULUM_MAX_FOLDER_MB", 20, minimum=1)  # all files
CURRICULUM_MAX_FILES = envint("CURRICULUM_MAX_FILES", 2000, minimum=1)
# A zipped folder uploaded in the admin waits this long between its plan and "Apply".
CURRICULUM_UPLOAD_MAX_AGE_MINUTES = 60
# Join codes (core/cohorts/join_codes.py): how long a new one lasts unless staff say.
JOIN_CODE_DAYS = envint("JOIN_CODE_DAYS", 14, minimum=1)
# Whom a signed-in person who is in no cohort should write to (their home page says so).
PROGRAM_CONTACT_EMAIL = envstr("PROGRAM_CONTACT_EMAIL", "programs@prodev.example")
if "@" not in PROGRAM_CONTACT_EMAIL or any(c.isspace() for c in PROGRAM_CONTACT_EMAIL):
    raise ImproperlyConfigured(
        f"PROGRAM_CONTACT_EMAIL must be an email address (got {PROGRAM_CONTACT_EMAIL!r})."
    )
PASSING_SCORE = 50  # percent: a project scored at least this is done
# The schedule generator: how many projects one run releases (a program's worth), and
# how many dates it may skip (holidays).
SCHEDULE_MAX_PROJECTS = envint("SCHEDULE_MAX_PROJECTS", 200, minimum=1)
SCHEDULE_MAX_SKIPPED_DATES = 100
# Where learners' repositories may live (host, or host:port): submit forms accept only
# these, and automated checks fetch only from them.
REPOSITORY_HOSTS = envlist(
    "REPOSITORY_HOSTS", ["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"]
)
# Percent: a learner whose overall score (roll_up, core/reporting/dashboards/common.py) is
# below this is listed as at risk on their mentor's dashboard.
AT_RISK_SCORE = envint("AT_RISK_SCORE", 60, minimum=0)
# Lifetime of cached dashboard read models. Signals invalidate them on every write
# (versioned keys, core/platform/cache.py); this only bounds memory and a cache outage's staleness.
DASHBOARD_CACHE_SECONDS = envint("DASHBOARD_CACHE_SECONDS", 600, minimum=1)
# Enrolment by CSV (core/cohorts/enrolment.py): the largest file and the most people one
# upload may hold (1,000 rows of email, name and role are about 60 KB), and how long a
# preview may wait before it is applied (it is re-checked against the database then).
ENROLMENT_CSV_MAX_KB = envint("ENROLMENT_CSV_MAX_KB", 512, minimum=1)
ENROLMENT_CSV_MAX_ROWS = envint("ENROLMENT_CSV_MAX_ROWS", 2000, minimum=1)
ENROLMENT_PREVIEW_MINUTES = 60
# A new person's invitation link (choose a password) works once, for this long.
INVITATION_EXPIRY_DAYS = envint("INVITATION_EXPIRY_DAYS", 7, minimum=1)
EXPORT_TTL_HOURS = 24  # a finished CSV export stays downloadable this long
EXPORT_STALE_MINUTES = 15  # an export silent this long is shown as failed
EXPECTED_WAIT_WINDOW_DAYS = 7  # review throughput window for the expected wait
# Longest Markdown a form accepts: what people write (iteration notes, comments,
# review feedback and verdicts; the preview too), and curriculum text (descriptions,
# task bodies). Rendering is linear and bounded (core/platform/markdown.py); these keep one
# request from storing a novel. bench/markdown_bound.py times 64 KB, above both.
MARKDOWN_MAX_CHARS = envint("MARKDOWN_MAX_CHARS", 20_000, minimum=1)
MARKDOWN_CURRICULUM_MAX_CHARS = envint("MARKDOWN_CURRICULUM_MAX_CHARS", 50_000, minimum=1)
# Requests per user (or client IP when anonymous) per minute, beyond allauth's limits;
# counted in the cache by core.platform.ratelimit (POSTs only), answered with 429 past them.
# A Markdown preview is one click of "Preview": 30 a minute is far more than anyone
# reads, and each renders in under 50 ms.
RATE_LIMITS = {
    "submissions": 10,
    "comments": 20,
    "review_requests": 30,
    "exports": 5,
    "markdown_preview": 30,
    "checks": 10,
    # Redeeming a join code (the home page's form and /join/<code>/, GET too): codes have
    # 100 random bits, so this only keeps one account from hammering the table.
    "join_codes": 10,
    "enrolment": 10,  # CSV uploads and applies by one staff member
    "invitations": 10,  # passwords chosen through an invitation link, per client IP
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # form fields; files stream to disk past this
# Django's own handlers, behind one that notes file parts Django cannot read and would
# drop silently (a name that is not UTF-8): the submit form refuses them instead.
FILE_UPLOAD_HANDLERS = [
    "core.platform.uploads.UnreadablePartsHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Automated checks (core/checks): a task's pytest suite runs against the learner's code
# in a bubblewrap sandbox, under these limits. Each concurrent run takes a slot and runs
# as uid CHECKS_SANDBOX_UID_BASE + slot: the kernel counts the process limit per uid (and
# not at all for root), so two runs must never share one. The slot locks live in one
# directory per machine, so every worker on it must use the same directory and uid range.
CHECKS_RUNTIME_DIR = Path(envstr("CHECKS_RUNTIME_DIR", str(VAR_DIR / "check-runtime")))
# The interpreter copied into the runtime; empty means the one this site runs on.
CHECKS_RUNTIME_PYTHON = envstr("CHECKS_RUNTIME_PYTHON")
CHECKS_SANDBOX_UID_BASE = envint("CHECKS_SANDBOX_UID_BASE", 61000, minimum=1000)
CHECKS_SANDBOX_SLOTS = envint("CHECKS_SANDBOX_SLOTS", 16, minimum=1)
CHECKS_SLOT_LOCK_DIR = Path(
    envstr("CHECKS_SLOT_LOCK_DIR", str(Path(tempfile.gettempdir()) / "prodev-check-slots"))
)
CHECKS_SLOT_WAIT_SECONDS = envint("CHECKS_SLOT_WAIT_SECONDS", 30, minimum=0)  # all busy
CHECKS_WALL_SECONDS = envint("CHECKS_WALL_SECONDS", 60, minimum=1)
CHECKS_CPU_SECONDS = envint("CHECKS_CPU_SECONDS", 30, minimum=1)  # per process
# Address space per process. Processes × memory bounds the whole run: a cgroup would
# bound the total, but needs privileges a worker container rarely has.
CHECKS_MEMORY_MB = envint("CHECKS_MEMORY_MB", 512, minimum=64)
CHECKS_PROCESSES = envint("CHECKS_PROCESSES", 32, minimum=4)  # threads count too
CHECKS_OUTPUT_BYTES = envint("CHECKS_OUTPUT_BYTES", 64 * 1024, minimum=1024)  # kept, of all
CHECKS_DISK_MB = envint("CHECKS_DISK_MB", 64, minimum=1)  # the work directory's tmpfs
CHECKS_FILE_SIZE_MB = envint("CHECKS_FILE_SIZE_MB", 16, minimum=1)
CHECKS_OPEN_FILES = envint("CHECKS_OPEN_FILES", 256, minimum=32)
CHECKS_REPORT_BYTES = envint("CHECKS_REPORT_BYTES", 1024 * 1024, minimum=4096)  # read, at most
CHECKS_CASE_OUTPUT_BYTES = envint("CHECKS_CASE_OUTPUT_BYTES", 4096, minimum=256)  # per case
# Development only: run learner code with no sandbox when bubblewrap cannot run here.
CHECKS_ALLOW_UNSANDBOXED = envbool("CHECKS_ALLOW_UNSANDBOXED", False)
if CHECKS_ALLOW_UNSANDBOXED and not DEBUG:
    raise ImproperlyConfigured(
        "CHECKS_ALLOW_UNSANDBOXED must be off when DEBUG is off: learner code never runs "
        "outside the sandbox in production."
    )
# The queue: "check my code" requests per learner per hour (submissions' checks always run),
# how often a running check proves its worker alive, when silence means the worker died,
# and how many times a run is tried before it is shown as errored.
CHECKS_RUNS_PER_HOUR = envint("CHECKS_RUNS_PER_HOUR", 20, minimum=1)
CHECKS_HEARTBEAT_SECONDS = envint("CHECKS_HEARTBEAT_SECONDS", 5, minimum=1)
CHECKS_STALE_SECONDS = envint("CHECKS_STALE_SECONDS", 30, minimum=2)
CHECKS_MAX_TRIES = 2
# A queued run no worker took for this long is sent to the workers again (its task was lost).
CHECKS_RESEND_SECONDS = envint("CHECKS_RESEND_SECONDS", 300, minimum=5)
CHECKS_ESTIMATE_SAMPLE = 200  # recent runs the queue's expected start is computed from
CHECKS_BOARD_ROWS = 50  # runs listed per section of the staff runs board
CHECKS_MAX_SUITE_FILE_CHARS = 200_000
CHECKS_BOT_EMAIL = "checks@prodev.invalid"  # signs the decisions of checks-graded projects
# Fetching learners' repositories (https, REPOSITORY_HOSTS only). Off in development and
# tests, which never contact another host: demo runs use zips and recorded results.
CHECKS_FETCH_REPOSITORIES = envbool("CHECKS_FETCH_REPOSITORIES", not DEBUG and not TESTING)
CHECKS_GIT_SECONDS = envint("CHECKS_GIT_SECONDS", 60, minimum=1)
CHECKS_MAX_REPOSITORY_MB = envint("CHECKS_MAX_REPOSITORY_MB", 50, minimum=1)
CHECKS_GIT_CA_BUNDLE = envstr("CHECKS_GIT_CA_BUNDLE")  # empty: the system's certificates

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
# Browser features no page uses, off for every page and anything it embeds (an allow-list
# per feature; empty means nobody). Only features browsers know, or they log an error.
PERMISSIONS_POLICY: dict[str, tuple[str, ...]] = dict.fromkeys(
    [
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ],
    (),
)
# Other sites may not load our pages, images or files into theirs.
CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"
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
    KNOWN_DEVICE_COOKIE_NAME = "__Host-prodev_device"
    MESSAGES_COOKIE_NAME = "__Host-messages"
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if not REDIS_URL:
        raise ImproperlyConfigured(
            "REDIS_URL must be set when DEBUG is off: rate limits need a shared cache."
        )

# One line per record: JSON in production (core.platform.logging.JsonFormatter), plain text with
# escaped line breaks in development; both carry the request id (X-Request-ID).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "core.platform.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {
            "()": "core.platform.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "core.platform.logging.JsonFormatter"},
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
