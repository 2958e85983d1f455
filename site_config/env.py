"""Strict readers for environment variables.

Every value the site takes from its environment goes through one of these
helpers, so a typo such as ``DEBUG=maybe`` stops the process at start-up with a
message that names the variable, instead of silently running with a default.
Kept free of Django settings so ``gunicorn.conf.py`` can use it too.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def envstr(name: str, default: str = "") -> str:
    """The variable's value, stripped, or ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def envbool(name: str, default: bool) -> bool:
    """A boolean: 1/true/yes/on or 0/false/no/off (any case)."""
    value = envstr(name).lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (got {value!r}).")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    """A whole number, optionally at least ``minimum``."""
    value = envstr(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number (got {value!r}).") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum} (got {number}).")
    return number


def envlist(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list with blanks removed."""
    value = envstr(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def envdatabase(name: str) -> dict[str, object] | None:
    """A Django DATABASES entry from a ``postgres://`` or ``sqlite:///`` URL."""
    value = envstr(name)
    if not value:
        return None
    try:
        url = urlsplit(value)
        port = url.port  # raises ValueError on a non-numeric port
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not a valid URL.") from None
    if url.scheme in {"postgres", "postgresql", "pgsql"}:
        database = unquote(url.path.lstrip("/"))
        if not url.hostname or not database or "/" in database:
            raise ImproperlyConfigured(
                f"{name} must look like postgres://user:password@host:5432/database."
            )
        options = {key: values[-1] for key, values in parse_qs(url.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname,
            "PORT": str(port or 5432),
            "OPTIONS": options,
        }
    if url.scheme == "sqlite":
        path = unquote(url.path)
        if not path or path == "/":
            raise ImproperlyConfigured(f"{name} must look like sqlite:///path/to/db.sqlite3.")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    raise ImproperlyConfigured(
        f"{name} must start with postgres:// or sqlite:/// (got scheme {url.scheme!r})."
    )


def envurl(name: str, default: str = "", *, schemes: tuple[str, ...]) -> str:
    """A URL whose scheme is one of ``schemes``."""
    value = envstr(name, default)
    if not value:
        return value
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 - validates the port
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not a valid URL.") from None
    if url.scheme not in schemes or not url.netloc:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ImproperlyConfigured(f"{name} must start with {allowed} (got {value!r}).")
    return value.rstrip("/")


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of a fixed set of words."""
    value = envstr(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)} (got {value!r}).")
    return value
