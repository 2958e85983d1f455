"""Task 3: 2-lazy_paginate.py pages through user_data, one query per page asked for."""

from __future__ import annotations

from typing import Any

from conftest import RecordingConnection, load


def test_paginate_users_returns_one_page(conn: RecordingConnection) -> None:
    """paginate_users returns a list of at most page_size user dicts"""
    page = load("2-lazy_paginate").paginate_users(conn, 10, 0)
    assert isinstance(page, list) and len(page) == 10
    assert set(page[0]) == {"user_id", "name", "email", "age"}


def test_the_offset_moves_through_the_table(
    conn: RecordingConnection, users: list[dict[str, Any]]
) -> None:
    """Pages at offsets 0, 10, 20 hold every user exactly once"""
    mod = load("2-lazy_paginate")
    emails = [u["email"] for offset in (0, 10, 20) for u in mod.paginate_users(conn, 10, offset)]
    assert sorted(emails) == sorted(u["email"] for u in users)


def test_lazy_paginate_yields_pages_until_the_table_ends(conn: RecordingConnection) -> None:
    """lazy_paginate yields page after page and stops after the last one"""
    pages = list(load("2-lazy_paginate").lazy_paginate(conn, 7))
    assert [len(page) for page in pages] == [7, 7, 7, 7, 2]


def test_a_page_is_fetched_only_when_asked_for(conn: RecordingConnection) -> None:
    """Each next() runs one query, and none runs before the first"""
    pages = load("2-lazy_paginate").lazy_paginate(conn, 10)
    assert conn.selects() == []
    next(pages)
    assert len(conn.selects()) == 1
    next(pages)
    assert len(conn.selects()) == 2


def test_an_exact_multiple_yields_no_empty_page(conn: RecordingConnection) -> None:
    """With 30 users and pages of 10, it yields three pages and no empty one"""
    pages = list(load("2-lazy_paginate").lazy_paginate(conn, 10))
    assert [len(page) for page in pages] == [10, 10, 10]
