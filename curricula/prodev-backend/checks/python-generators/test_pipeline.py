"""Task 5: 4-pipeline.py reads, cleans and groups rows with a pipeline of generators."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from conftest import load

ROWS = [
    {"name": " Aba Mensah ", "email": " Aba@Example.COM ", "age": "34"},
    {"name": "Kofi Asante", "email": "kofi@example.com", "age": "not known"},
    {"name": "Nia Banda", "email": "nia@example.com", "age": "-4"},
    {"name": "Yaw Boateng", "email": "YAW@example.com", "age": "27"},
]


def person(age: int) -> dict[str, Any]:
    return {"name": f"Person {age}", "email": f"p{age}@example.com", "age": str(age)}


def cleaned(*ages: int) -> Iterator[dict[str, Any]]:
    """Rows of these ages as the pipeline hands them to by_age_band."""
    mod = load("4-pipeline")
    return mod.valid(mod.normalise(iter([person(age) for age in ages])))


def test_read_rows_yields_dicts_lazily(users_csv: Path) -> None:
    """read_rows is a generator of dicts read with csv.DictReader"""
    mod = load("4-pipeline")
    assert inspect.isgeneratorfunction(mod.read_rows)
    first = next(mod.read_rows(str(users_csv)))
    assert set(first) == {"name", "email", "age"}


def test_normalise_strips_and_lowercases(users_csv: Path) -> None:
    """normalise strips whitespace and lowercases emails"""
    row = next(load("4-pipeline").normalise(iter(ROWS[:1])))
    assert row["name"] == "Aba Mensah"
    assert row["email"] == "aba@example.com"


def test_valid_drops_bad_ages() -> None:
    """valid drops rows whose age is not a non-negative integer"""
    mod = load("4-pipeline")
    kept = list(mod.valid(mod.normalise(iter(ROWS))))
    assert [row["name"] for row in kept] == ["Aba Mensah", "Yaw Boateng"]


def test_by_age_band_groups_sorted_rows() -> None:
    """by_age_band yields (band start, rows) for each band of 10 years"""
    bands = [
        (start, [int(row["age"]) for row in group])
        for start, group in load("4-pipeline").by_age_band(cleaned(21, 24, 30, 38, 52))
    ]
    assert bands == [(20, [21, 24]), (30, [30, 38]), (50, [52])]


def test_unsorted_input_is_refused() -> None:
    """by_age_band raises ValueError when the rows are not sorted by age"""
    with pytest.raises(ValueError):
        list(load("4-pipeline").by_age_band(cleaned(30, 21)))


def test_another_band_width() -> None:
    """by_age_band(rows, width=5) makes bands of five years"""
    bands = [start for start, _ in load("4-pipeline").by_age_band(cleaned(21, 24, 25, 31), width=5)]
    assert bands == [20, 25, 30]


def test_the_pipeline_never_reads_ahead() -> None:
    """The cleaning steps take rows one at a time: nothing reads the whole input"""

    def endless() -> Iterator[dict[str, Any]]:
        age = 0
        while True:
            age += 1
            if age > 100:
                raise AssertionError("the pipeline read far more rows than it was asked for")
            yield person(age)

    mod = load("4-pipeline")
    assert len(list(islice(mod.valid(mod.normalise(endless())), 3))) == 3
