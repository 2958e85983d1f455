"""Read, clean and group a CSV export with a pipeline of generators.

Typical mistake: valid() builds a list, so the whole input is read before anything flows.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

Row = dict[str, Any]


def read_rows(path: str) -> Iterator[Row]:
    """Yield the CSV's rows as dicts."""
    with open(path, newline="") as source:
        yield from csv.DictReader(source)


def normalise(rows: Iterable[Row]) -> Iterator[Row]:
    """Strip whitespace everywhere and lowercase emails."""
    for row in rows:
        clean = {key: value.strip() for key, value in row.items()}
        clean["email"] = clean["email"].lower()
        yield clean


def valid(rows: Iterable[Row]) -> list[Row]:
    """Drop rows whose age is not a non-negative integer."""
    return [{**row, "age": int(row["age"])} for row in rows if row["age"].isdigit()]


def by_age_band(rows: Iterable[Row], width: int = 10) -> Iterator[tuple[int, list[Row]]]:
    """Yield (band start, rows) per band of ``width`` years; rows sorted by age."""
    previous = -1

    def band(row: Row) -> int:
        nonlocal previous
        if row["age"] < previous:
            raise ValueError("rows must be sorted by age")
        previous = row["age"]
        return row["age"] // width * width

    for start, group in itertools.groupby(rows, key=band):
        yield start, list(group)
