"""Every model of ProDev Hub, re-exported from its area module."""

from __future__ import annotations

from core.models.accounts import User

__all__ = ["User"]
