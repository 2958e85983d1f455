"""People: one account per person, email as the login."""

from __future__ import annotations

import secrets
import unicodedata
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


# Control characters (CR, LF, tab, NUL, escapes…) and the Unicode line and paragraph
# separators. Format characters stay: the zero-width joiners of emoji and of Persian and
# Indic names are Cf.
_UNPRINTABLE = frozenset({"Cc", "Zl", "Zp"})


def validate_display_name(value: str) -> None:
    """A name goes into email subjects, headers and titles: it must be one plain line."""
    if any(unicodedata.category(char) in _UNPRINTABLE for char in value):
        raise ValidationError(
            "Your name can hold letters, spaces and punctuation, but no line breaks, tabs "
            "or other control characters.",
            code="control_characters",
        )


class UserManager(BaseUserManager["User"]):
    """Creates users keyed by email (there is no username)."""

    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self._create(email, password, **fields)


def name_of(display_name: str, email: str) -> str:
    """What a person is called on every page (``User.name``), from the two fields, for
    lists read as values rather than users."""
    return display_name or email.split("@", 1)[0]


class User(AbstractBaseUser, PermissionsMixin):
    """A person who uses ProDev Hub; their roles come from cohort memberships."""

    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(
        max_length=80, blank=True, help_text="How your name appears to mentors and peers."
    )
    is_staff = models.BooleanField(
        default=False, help_text="Runs the program: may use the admin and staff pages."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    calendar_token = models.CharField(
        max_length=64,
        unique=True,
        default=new_calendar_token,
        editable=False,
        help_text="Secret part of the private deadlines feed URL; reset to revoke it.",
    )

    objects = UserManager()

    # What a save changes, kept by a pre_save receiver for the audit (accounts/receivers.py).
    _audit_previous: dict[str, object] | None

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Here rather than in the field's validators, so that no migration is needed;
        # every ModelForm of User (settings page, admin) runs it. Sign-up has its own field.
        super().clean()
        try:
            validate_display_name(self.display_name)
        except ValidationError as error:
            raise ValidationError({"display_name": error}) from None

    @property
    def name(self) -> str:
        """The display name, or the part of the email before the @."""
        return name_of(self.display_name, self.email)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name

    def reset_calendar_token(self) -> None:
        """Give the calendar feed a new secret URL; the old one stops working."""
        self.calendar_token = new_calendar_token()
        self.save(update_fields=["calendar_token"])
