"""Flash messages, stored as Django stores them (a cookie, the session past its size),
under a cookie name from settings: production gives it the ``__Host-`` prefix, like
the session and CSRF cookies, so only this exact host over HTTPS can set it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.messages.storage import cookie, fallback, session


class CookieStorage(cookie.CookieStorage):
    """Django's cookie storage, named by ``settings.MESSAGES_COOKIE_NAME``."""

    @property
    def cookie_name(self) -> str:  # type: ignore[override]  # a class attribute in Django
        return settings.MESSAGES_COOKIE_NAME


class FallbackStorage(fallback.FallbackStorage):
    """Django's default storage, with the cookie named above."""

    storage_classes = (CookieStorage, session.SessionStorage)
