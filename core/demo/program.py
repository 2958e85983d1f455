"""The demo program: the curriculum folder curricula/prodev-backend/, read like any other."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from core.curriculum.files import ProgramSpec, read_folder

DEMO_CURRICULUM = settings.BASE_DIR / "curricula" / "prodev-backend"
DEMO_PROGRAM_SLUG = "prodev-backend"


@cache
def demo_program() -> ProgramSpec:
    """The demo folder as a spec (read once per process: it does not change at run time)."""
    return read_folder(DEMO_CURRICULUM)
