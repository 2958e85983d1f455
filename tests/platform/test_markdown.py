"""Markdown is rendered on the server, sanitized, and cached."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.template import Context, Template
from hypothesis import given, settings
from hypothesis import strategies as st

from core.platform import markdown
from core.platform.markdown import render_markdown

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


def test_it_drops_every_class_the_author_writes() -> None:
    # Even the highlighting classes: only the highlighter may use them (issue #17).
    html = str(render_markdown('<div class="position-fixed codehilite d-none">x</div>'))
    assert html == "<div>x</div>"


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


# GitHub Flavored Markdown through cmark-gfm (issue #17).


def test_it_renders_gfm_strikethrough_and_autolinks() -> None:
    html = str(render_markdown("~~old~~ see https://docs.python.org and www.djangoproject.com"))
    assert "<del>old</del>" in html
    assert (
        '<a href="https://docs.python.org" rel="noopener noreferrer">https://docs.python.org</a>'
        in html
    )
    assert '<a href="http://www.djangoproject.com" rel="noopener noreferrer">' in html


def test_it_shows_task_list_items_as_ballot_boxes() -> None:
    html = str(render_markdown("- [ ] write tests\n- [x] read the issue"))
    assert html == "<ul>\n<li>\u2610 write tests</li>\n<li>\u2611 read the issue</li>\n</ul>"


def test_it_aligns_table_columns_with_an_attribute() -> None:
    html = str(render_markdown("| a | b | c |\n| :-- | :-: | --: |\n| 1 | 2 | 3 |"))
    assert '<th align="left">a</th>' in html
    assert '<td align="center">2</td>' in html
    assert '<td align="right">3</td>' in html


def test_it_shows_code_in_an_unknown_language_plain_in_the_same_box() -> None:
    html = str(render_markdown("```nosuchlang\nx = 1 < 2\n```"))
    assert (
        html == '<div class="codehilite"><pre><span></span><code>x = 1 &lt; 2\n</code></pre></div>'
    )
    # Pygments has a Makefile lexer, but too slow on hostile input: plain too.
    assert "<span" not in str(render_markdown("```make\nall:\n\techo hi\n```")).replace(
        "<span></span>", ""
    )


def test_it_gives_subtoken_classes_the_stylesheets_class() -> None:
    # pygments.css styles "l", not Pygments' "l l-Scalar l-Scalar-Plain".
    html = str(render_markdown("```yaml\nimage: postgres:16\n```"))
    assert '<span class="l">postgres:16</span>' in html


@pytest.mark.parametrize("language", sorted(markdown.HIGHLIGHT_LANGUAGES))
def test_every_highlighted_language_has_a_lexer(language: str) -> None:
    assert markdown._lexer_class(language) is not None


def test_it_highlights_up_to_a_budget_of_blocks_then_shows_code_plain() -> None:
    blocks = markdown.HIGHLIGHT_MAX_BLOCKS + 3
    html = str(render_markdown("```python\nx = 1\n```\n\n" * blocks))
    assert html.count('<div class="codehilite">') == blocks
    assert html.count('<span class="n">x</span>') == markdown.HIGHLIGHT_MAX_BLOCKS


def test_it_shows_a_block_past_the_highlighting_budget_plain() -> None:
    big = "x = 1\n" * (markdown.HIGHLIGHT_MAX_CHARS // 6 + 1)
    html = str(render_markdown(f"```python\n{big}```\n\n```python\ny = 2\n```"))
    assert html.count('<div class="codehilite">') == 2
    assert '<span class="n">x</span>' not in html  # too big: plain
    assert '<span class="n">y</span>' in html  # still within the budget


# Ids and classes: the author chooses none of them (issue #17).

# Targets the pages use: the thread's live list, the layout, a project's sections.
PAGE_IDS = ["comment-list", "comment-form", "main", "main-nav", "project-tasks", "task-1"]


class Attributes(HTMLParser):
    """Every id and class attribute of an HTML text, as a browser would read them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.classes: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id":
                self.ids.append(value or "")
            elif name == "class":
                self.classes.extend((value or "").split())


def assert_only_our_ids_and_classes(html: str) -> None:
    found = Attributes(html)
    assert all(value.startswith("user-content-") for value in found.ids), html
    assert set(found.classes) <= markdown.HIGHLIGHT_CLASSES, html


@pytest.mark.parametrize("page_id", PAGE_IDS)
@pytest.mark.parametrize(
    "template",
    [
        pytest.param('<h2 id="{id}">Notes</h2>', id="raw-heading-id"),
        pytest.param('<div id="{id}" class="d-none position-fixed">x</div>', id="raw-div"),
        pytest.param('<ol id="{id}"><li>x</li></ol>', id="raw-list"),
        pytest.param("<a name='{id}' id={id}>x</a>", id="raw-anchor"),
        pytest.param("## Notes {{: #{id} .d-none }}", id="attr-list-heading"),
        pytest.param("Some notes\n{{: #{id} }}", id="attr-list-paragraph"),
        pytest.param("## {id}", id="heading-text"),
        pytest.param('<h2 id="{id}">{id}</h2>\n\n## {id}', id="raw-and-markdown"),
    ],
)
def test_no_id_or_class_of_the_page_survives(template: str, page_id: str) -> None:
    html = str(render_markdown(template.format(id=page_id)))
    assert_only_our_ids_and_classes(html)
    assert f'id="{page_id}"' not in html


def test_headings_get_prefixed_ids_numbered_as_github_does() -> None:
    html = str(render_markdown("## Set *up*!\n\n## Set up\n\n### Ça marche\n\n## ???"))
    assert '<h2 id="user-content-set-up">Set <em>up</em>!</h2>' in html
    assert '<h2 id="user-content-set-up-1">Set up</h2>' in html
    assert '<h3 id="user-content-ça-marche">Ça marche</h3>' in html
    assert '<h2 id="user-content-section">???</h2>' in html


def test_links_to_a_heading_of_the_text_follow_its_prefixed_id() -> None:
    html = str(render_markdown("## Setup\n\nSee [setup](#setup) and [task 3](#task-3)."))
    assert '<a href="#user-content-setup" rel="noopener noreferrer">setup</a>' in html
    # No heading of that name here: the link keeps pointing at the page's own target.
    assert '<a href="#task-3" rel="noopener noreferrer">task 3</a>' in html


HOSTILE_PIECES = [
    "## Comment list\n",
    '<h2 id="comment-list" class="codehilite d-none">',
    "</h2>",
    "{: #main .position-fixed }",
    '<div class="k nf" id="main-nav">',
    "</div>",
    "```python\n",
    "```\n",
    "x = 1\n",
    "[a](#comment-list)",
    "- [ ] ",
    "> ",
    "<span class=\"s\" id='x'>",
    "\n\n",
    "*",
    "`",
    "|a|\n|-|\n",
]


@given(st.lists(st.sampled_from(HOSTILE_PIECES), max_size=30).map("".join))
@settings(max_examples=200, deadline=None)
def test_no_author_chosen_id_or_class_survives_any_mix(source: str) -> None:
    html = markdown._render(source)
    assert_only_our_ids_and_classes(html)
    assert not DANGER.search(html), html


# The parser bounds (issue #17): text past them still renders, in linear time.


def test_too_deep_nesting_is_shown_as_written() -> None:
    source = "> " * (markdown.MAX_NESTING + 1) + "<b>deep</b>"
    html = str(render_markdown(source))
    assert (
        html
        == f"<pre><code>{'&gt; ' * (markdown.MAX_NESTING + 1)}&lt;b&gt;deep&lt;/b&gt;</code></pre>"
    )


def test_lists_indented_past_the_bound_are_shown_as_written() -> None:
    # Each level is a list and an item: 17 levels nest 34 deep.
    source = "".join("  " * level + "- x\n" for level in range(markdown.MAX_NESTING // 2 + 1))
    assert str(render_markdown(source)).startswith("<pre><code>- x\n  - x\n")


def test_a_text_longer_than_the_benchmark_is_shown_as_written() -> None:
    source = "lorem " * (markdown.MAX_SOURCE_CHARS // 6) + "**ipsum**"
    assert str(render_markdown(source)) == f"<pre><code>{source}</code></pre>"
    assert str(render_markdown(source[-100:])).endswith("<strong>ipsum</strong></p>")


def test_nesting_within_the_bound_renders() -> None:
    html = str(render_markdown("> " * 10 + "deep"))
    assert html.count("<blockquote>") == 10


def test_past_the_raw_html_bound_raw_html_is_left_out_and_markdown_renders() -> None:
    source = "<kbd>x</kbd> " * (markdown.MAX_RAW_HTML_TAGS // 2 + 1) + "**bold**"
    html = str(render_markdown(source))
    assert "<kbd>" not in html and "raw HTML" not in html
    assert "<strong>bold</strong>" in html


def test_raw_html_within_the_bound_is_kept() -> None:
    assert str(render_markdown("Press <kbd>Ctrl</kbd>")) == "<p>Press <kbd>Ctrl</kbd></p>"


def test_text_with_too_much_markup_is_shown_as_written() -> None:
    source = "`a` " * (markdown.MAX_MARKUP // 2)
    html = str(render_markdown(source))
    assert html.startswith("<pre><code>`a` `a` ")


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param("| 1 | 2 | 3 |\n", id="table"),
        pytest.param("- [ ] a task\n", id="task-list"),
        pytest.param("> a quote\n\n", id="quotes"),
        pytest.param("`code` ", id="code-spans"),
        pytest.param("[a link](https://example.com) ", id="links"),
        pytest.param("## A heading\n\npara\n\n", id="headings"),
        pytest.param("- a\n  - b\n    - c\n", id="nested-lists"),
    ],
)
def test_dense_text_at_the_forms_limit_still_renders(unit: str) -> None:
    # The parser bounds are for hostile text: what a form accepts renders normally.
    header = "| a | b | c |\n| - | - | - |\n" if unit.startswith("|") else ""
    limit = django_settings.MARKDOWN_MAX_CHARS
    source = header + unit * ((limit - len(header)) // len(unit))
    assert not str(render_markdown(source)).startswith("<pre><code>")


# Python-Markdown was quadratic in the length of each of these: they render whole, and
# quickly (the time bound is bench/markdown_bound.py).
SIZE = 20_000


def test_a_run_of_brackets_renders_as_text() -> None:
    assert render_markdown("[" * SIZE) == f"<p>{'[' * SIZE}</p>"


def test_a_run_of_open_links_renders_as_text() -> None:
    assert render_markdown("[a](" * (SIZE // 4)) == f"<p>{'[a](' * (SIZE // 4)}</p>"


def test_a_run_of_open_images_renders_as_text() -> None:
    assert render_markdown("![x](" * (SIZE // 5)) == f"<p>{'![x](' * (SIZE // 5)}</p>"


def test_a_run_of_emphasis_renders() -> None:
    html = str(render_markdown("*a" * (SIZE // 2)))
    assert html.startswith("<p><em>a</em>a<em>a</em>")
    assert html.count("<em>") == SIZE // 4


def test_a_run_of_angle_brackets_renders_as_text() -> None:
    # Half the size: 20,000 character references would be past nh3's markup bound.
    run = SIZE // 2
    assert render_markdown("<" * run) == f"<p>{'&lt;' * run}</p>"


def test_deeply_nested_quotes_are_shown_as_written() -> None:
    assert render_markdown(">" * SIZE) == f"<pre><code>{'&gt;' * SIZE}</code></pre>"


def test_rendering_frees_what_cmark_allocates() -> None:
    # cmarkgfm's helpers leaked the tree and the HTML: 150 KB per 10 KB rendered.
    statm = Path("/proc/self/statm")
    if not statm.exists():
        pytest.skip("needs Linux's /proc to read the resident memory")

    def resident_mb() -> float:
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    source = "## Notes\n\n" + "Some *notes* with `code` and [a link](https://x.example).\n" * 300
    markdown.cmark_html(source)
    before = resident_mb()
    for _ in range(300):
        markdown.cmark_html(source)
    assert resident_mb() - before < 20  # leaking, it grows by about 200 MB
