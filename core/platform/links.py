"""Links to many objects of one kind, with one ``reverse()``."""

from __future__ import annotations

from django.urls import reverse

# A primary key no row will have, reversed in place of each real one.
_SENTINEL = "987654321"


def link_parts(name: str) -> tuple[str, str]:
    """The URL ``reverse(name, args=[pk])`` gives, as the text before and after ``pk``.

    Reversed once for a whole table, the caller putting each id between the two: 25 queue
    rows with a few links each spent longer in ``reverse()`` than building the rest of a
    row, and the matrix's 3,000 cells a page pay only the string's concatenation.
    """
    prefix, suffix = reverse(name, args=[_SENTINEL]).split(_SENTINEL)
    return prefix, suffix
