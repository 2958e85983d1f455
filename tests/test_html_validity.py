"""The HTML checker harness (tests/html_validity.py) hides htmx's attributes and the
autocomplete Django's inlines.js sets on a formset's hidden counts, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.html_validity import Document, Problem, report, require_vnu, validate

HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
SAMPLES = {
    "valid with htmx and data attributes": (
        '<body><main><button type="button" hx-post="/x" hx-target="#a" hx-swap="outerHTML" '
        'data-countdown data-bs-toggle="dropdown">Go</button><p id="a">A</p></main></body>'
    ),
    "six-digit fraction": (
        '<body><p><time datetime="2026-10-01T06:00:00.123456+00:00">1 Oct</time></p></body>'
    ),
    "block in a span": "<body><ul><li><span><div>Markdown</div></span></li></ul></body>",
    "unknown attribute": '<body><p foo="bar" hx-get="/x">P</p></body>',
    "warning only": "<body><section><p>No heading</p></section></body>",
    # What Django's admin/js/inlines.js leaves in the DOM, and the same on another input.
    "formset counts with autocomplete": (
        '<body><form><input type="hidden" name="modules-TOTAL_FORMS" value="9" '
        'id="id_modules-TOTAL_FORMS" autocomplete="off"><input type="hidden" '
        'name="modules-MAX_NUM_FORMS" value="1000" id="id_modules-MAX_NUM_FORMS" '
        'autocomplete="off"></form></body>'
    ),
    "other hidden input with autocomplete": (
        '<body><form><input type="hidden" name="token" value="t" autocomplete="off"></form></body>'
    ),
}


@pytest.fixture(scope="module")
def problems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Problem]]:
    """Every sample checked in one run of vnu.jar, the problems by sample."""
    command = require_vnu()
    documents = [Document(label, HEAD + body + "</html>") for label, body in SAMPLES.items()]
    found = validate(documents, tmp_path_factory.mktemp("html"), command)
    return {label: [p for p in found if p.label == label] for label in SAMPLES}


def test_it_allows_htmx_and_data_attributes(problems: dict[str, list[Problem]]) -> None:
    assert problems["valid with htmx and data attributes"] == []


def test_it_refuses_a_six_digit_fraction_of_a_second(problems: dict[str, list[Problem]]) -> None:
    [problem] = problems["six-digit fraction"]
    assert problem.kind == "error"
    assert "fraction of a second" in problem.message
    assert problem.line == 1 and problem.file.name.endswith("six-digit-fraction.html")


def test_it_refuses_a_block_inside_a_span(problems: dict[str, list[Problem]]) -> None:
    assert [p.message for p in problems["block in a span"]] == [
        "Element “div” not allowed as child of element “span” in this context. "
        "(Suppressing further errors from this subtree.)"
    ]


def test_it_filters_only_the_htmx_attribute(problems: dict[str, list[Problem]]) -> None:
    assert [p.message for p in problems["unknown attribute"]] == [
        "Attribute “foo” not allowed on element “p” at this point."
    ]


def test_a_warning_counts(problems: dict[str, list[Problem]]) -> None:
    [problem] = problems["warning only"]
    assert problem.kind == "warning"
    assert problem.message.startswith("Section lacks heading.")


def test_the_report_names_the_document_line_and_message(
    problems: dict[str, list[Problem]], tmp_path: Path
) -> None:
    text = report(problems["unknown attribute"], tmp_path)
    assert "found 1 problem(s)" in text
    assert "unknown attribute\n" in text
    assert ":1:" in text and "Attribute “foo” not allowed" in text


def test_it_allows_the_autocomplete_djangos_inlines_js_sets_on_formset_counts(
    problems: dict[str, list[Problem]],
) -> None:
    assert problems["formset counts with autocomplete"] == []


def test_it_refuses_autocomplete_on_any_other_hidden_input(
    problems: dict[str, list[Problem]],
) -> None:
    [problem] = problems["other hidden input with autocomplete"]
    assert "must not have an “autocomplete” attribute" in problem.message
