"""The page a request asks for, read one way for every paginated list."""

from __future__ import annotations


def page_number(asked: str | None) -> int:
    """``?page=`` as a whole number of at least 1; anything else is the first page.

    A page past the last is left to the list: ``Paginator.get_page()`` shows the last.
    Read before the paginator when the number is part of a cache key, so that the key and
    the page rendered under it always agree.
    """
    try:
        return max(int(asked or 1), 1)
    except ValueError:
        return 1
