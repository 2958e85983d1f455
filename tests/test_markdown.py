"""Markdown is rendered on the server, sanitized, and cached."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.template import Context, Template

from core import markdown
from core.markdown import render_markdown

# Anything that could run script, load a frame or restyle the page.
DANGER = re.compile(
    r"<\s*(script|iframe|style|object|embed|svg|math|form|input|base|meta|link|img)\b"
    r"|\son\w+\s*="
    r"|javascript:"
    r"|data:"
    r"|style\s*=",
    re.IGNORECASE,
)

HOSTILE = [
    pytest.param("<script>alert(1)</script>", id="script"),
    pytest.param("Hi <SCRIPT SRC=https://evil.example/x.js></SCRIPT>", id="script-src"),
    pytest.param('<img src=x onerror="alert(1)">', id="img-onerror"),
    pytest.param("![x](https://evil.example/x.png)", id="markdown-image"),
    pytest.param("![x](javascript:alert(1))", id="markdown-image-javascript"),
    pytest.param("[click](javascript:alert(1))", id="javascript-link"),
    pytest.param("[click](JaVaScRiPt:alert(1))", id="javascript-link-mixed-case"),
    pytest.param("[click](java&#x09;script:alert(1))", id="javascript-link-tab-entity"),
    pytest.param('<a href="&#106;avascript:alert(1)">x</a>', id="javascript-link-entity"),
    pytest.param('<a href="javascript:alert(1)">x</a>', id="javascript-anchor"),
    pytest.param("<svg><g><script>alert(1)</script></g></svg>", id="nested-svg-script"),
    pytest.param(
        '<svg onload="alert(1)"><a xlink:href="javascript:alert(1)">x</a></svg>', id="svg"
    ),
    pytest.param('<iframe src="https://evil.example"></iframe>', id="iframe"),
    pytest.param("<style>body { display: none }</style>", id="style-tag"),
    pytest.param('<p style="position:fixed" onclick="x()">hi</p>', id="style-attribute"),
    pytest.param('<object data="evil.swf"></object><embed src="evil.swf">', id="object-embed"),
    pytest.param(
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", id="data-url-link"
    ),
    pytest.param("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", id="mxss"),
    pytest.param('<form action="/x"><input name="a"></form>', id="form"),
    pytest.param('<base href="https://evil.example/">', id="base"),
    pytest.param('<meta http-equiv="refresh" content="0;url=https://evil.example">', id="meta"),
    pytest.param('<div onmouseover="alert(1)">t</div>', id="event-handler"),
    pytest.param("<!-- <script>alert(1)</script> -->", id="comment"),
]


@pytest.mark.parametrize("source", HOSTILE)
def test_it_renders_hostile_input_inert(source: str) -> None:
    html = str(render_markdown(source))
    assert not DANGER.search(html), html


@pytest.mark.parametrize(
    "source",
    [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
        "`<script>alert(1)</script>`",
    ],
)
def test_it_keeps_escaped_markup_as_text(source: str) -> None:
    html = str(render_markdown(source))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html


def test_it_drops_the_content_of_script_and_style() -> None:
    html = str(render_markdown("Before <script>alert(1)</script><style>p{}</style> after"))
    assert "alert" not in html
    assert "p{}" not in html
    assert "Before" in html and "after" in html


def test_it_adds_noopener_noreferrer_to_links() -> None:
    html = str(render_markdown("[docs](https://docs.python.org/3/)"))
    assert html == (
        '<p><a href="https://docs.python.org/3/" rel="noopener noreferrer">docs</a></p>'
    )


def test_it_replaces_an_authors_rel() -> None:
    html = str(render_markdown('<a href="https://example.com" rel="opener">x</a>'))
    assert 'rel="noopener noreferrer"' in html
    assert 'rel="opener"' not in html


def test_it_keeps_mailto_links() -> None:
    assert 'href="mailto:staff@example.com"' in str(render_markdown("<mailto:staff@example.com>"))


def test_it_highlights_fenced_code() -> None:
    html = str(render_markdown("```python\ndef main():\n    return 'hi'\n```"))
    assert html.startswith('<div class="codehilite"><pre>')
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">main</span>' in html


def test_it_escapes_markup_inside_code_blocks() -> None:
    html = str(render_markdown("```html\n<script>alert(1)</script>\n```"))
    assert "<script" not in html
    assert "script" in html and "&lt;" in html


def test_it_renders_tables() -> None:
    html = str(render_markdown("| Task | Points |\n| --- | ---: |\n| 0 | 10 |"))
    assert "<table>" in html
    assert "<th>Task</th>" in html
    assert '<td align="right">10</td>' in html  # column alignment survives sanitizing


def test_it_keeps_only_code_highlighting_classes() -> None:
    html = str(render_markdown('<div class="position-fixed codehilite d-none">x</div>'))
    assert 'class="codehilite"' in html
    assert "position-fixed" not in html and "d-none" not in html
    assert "style=" not in html  # column alignment would need an inline style


def test_it_renders_nothing_for_empty_source() -> None:
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_it_renders_the_same_source_once() -> None:
    source = "# Title\n\nSome **bold** text."
    with mock.patch.object(markdown, "_render", wraps=markdown._render) as render:
        first = render_markdown(source)
        second = render_markdown(source)
        render_markdown(source + " More.")
    assert first == second
    assert render.call_count == 2  # once per distinct source


def test_it_caches_through_the_template_filter() -> None:
    template = Template("{% load prodev %}{{ body|markdown }}")
    with mock.patch.object(markdown, "_render", wraps=markdown._render) as render:
        first = template.render(Context({"body": "*hello*"}))
        second = template.render(Context({"body": "*hello*"}))
    assert first == second == "<p><em>hello</em></p>"
    assert render.call_count == 1


def test_it_renders_without_a_cache() -> None:
    with mock.patch.object(markdown.cache, "get", side_effect=ConnectionError("cache down")):
        assert render_markdown("*still works*") == "<p><em>still works</em></p>"
