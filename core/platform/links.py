"""Links to many objects of one kind, with one ``reverse()``."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

# A primary key no row will have, reversed in place of each real one.
_SENTINEL = "987654321"


def link_to_each(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for any ``pk``, reversing once: a table of 25 rows
    with a few links each spent longer in ``reverse()`` than building the rest of a row."""
    prefix, suffix = reverse(name, args=[_SENTINEL]).split(_SENTINEL)
    return lambda pk: f"{prefix}{int(pk)}{suffix}"
