"""Markdown rendered on the server, sanitized, and cached by a hash of its source.

GitHub's cmark-gfm parses (its time grows linearly with the input, unlike
Python-Markdown's, which a page of ``[`` kept busy for minutes: issue #17), nh3
sanitizes, and only then do we add what the author must not choose: code
highlighting classes and heading ids. Every id is ours and starts with
``user-content-`` (as on GitHub), so a learner's text can never take over an
element the page uses (``#comment-list``, ``#main``, ``#task-3``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import cache as memoize
from html import escape, unescape
from itertools import accumulate
from typing import TYPE_CHECKING
from urllib.parse import unquote

import cffi
import nh3
from cmarkgfm import _cmark
from cmarkgfm.cmark import Options
from django.core.cache import cache
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from pygments import format as format_tokens
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

if TYPE_CHECKING:
    from pygments.token import _TokenType

logger = logging.getLogger(__name__)

# Bump when the renderer or the allow-list changes, so cached HTML is rebuilt.
RENDERER_VERSION = "3"
CACHE_SECONDS = 60 * 60 * 24 * 30

# Raw HTML goes through to nh3, which drops <script> and its content (cmark's
# "tagfilter" would instead show it as text). GITHUB_PRE_LANG puts a fence's
# language on <pre lang>, which survives sanitizing (a class would not).
CMARK_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_GITHUB_PRE_LANG
CMARK_EXTENSIONS = ["table", "strikethrough", "autolink", "tasklist"]

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
# No id and no class from the author: both are added after sanitizing, by us.
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "pre": {"lang"},
    # Column alignment as an attribute: nh3 would strip a style attribute.
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
)

# nh3 parses HTML as a browser does (html5ever), and the HTML standard's parsing
# slows with the square of how deeply elements nest, or of how many formatting tags
# with attributes stay open (figures in docs/benchmarks.md).
# cmark-gfm's own output nests only through quotes and lists, so these bound the
# parse (bench/markdown_bound.py times each at 64 KB; a real text is far below them):
# - past this many tags of raw HTML in the source (counted as "<" before a letter,
#   "/", "!" or "?", so code and autolinks count too), the raw HTML is left out;
MAX_RAW_HTML_TAGS = 64
# - past this depth of quotes, lists and list items, or this much markup for nh3 to
#   parse (tags, attributes and character references; a 20,000-character table of
#   one-letter cells has 16,000), the text is shown as written.
MAX_NESTING = 32
MAX_MARKUP = 20_000
# The benchmark times texts of this size, above both forms' limits; a longer text (a
# row older than the limits, or a limit raised past it) is shown as written, unparsed.
MAX_SOURCE_CHARS = 64 * 1024

# The only classes rendered Markdown carries: code highlighting's (static/css/pygments.css).
HIGHLIGHT_CLASSES = frozenset({"codehilite", *(name for name in STANDARD_TYPES.values() if name)})
# Languages we highlight; any other fence shows as plain code. The author picks the
# lexer, and Pygments' lexers differ tenfold in speed on hostile input: these are the
# curriculum's, each held to the budget below by bench/markdown_bound.py.
HIGHLIGHT_LANGUAGES = frozenset({
    "bash", "console", "diff", "django", "docker", "dockerfile", "graphql", "html", "http",
    "ini", "javascript", "jinja", "js", "json", "nginx", "postgresql", "py", "pycon",
    "python", "python3", "pytb", "sh", "shell", "sql", "toml", "ts", "typescript", "xml",
    "yaml", "yml", "zsh",
})  # fmt: skip
# Past these budgets (per document) code shows plain, so highlighting keeps to a share
# of the time bound every text is held to (bench/markdown_bound.py). A task body or a
# review quotes far less code than this.
HIGHLIGHT_MAX_CHARS = 6_000
HIGHLIGHT_MAX_BLOCKS = 40
# Heading ids stay readable in a URL; a longer heading is cut. Past the first few
# hundred headings (or links to them) we stop numbering: each costs a Python call.
HEADING_ID_MAX_CHARS = 80
MAX_HEADING_IDS = 300
MAX_HEADING_LINKS = 1_000
ID_PREFIX = "user-content-"

# Matched on nh3's output, where text can hold no "<" and attribute values no '"'.
_CODE_BLOCK = re.compile(r'<pre(?: lang="([^"]*)")?><code>([^<]*)</code></pre>')
# What Pygments makes of plain text, so a block shown plain looks the same (\2: the code).
_PLAIN_CODE = r'<div class="codehilite"><pre><span></span><code>\2</code></pre></div>'
_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.DOTALL)
_FRAGMENT_LINK = re.compile(r'(<a\b[^>]*?\shref="#)([^"]+)"')
_TAG = re.compile(r"<[^>]*>")
_NOT_IN_SLUG = re.compile(r"[^\w\- ]")
_RAW_HTML_TAG = re.compile(r"<[A-Za-z/!?]")
_RAW_HTML_OMITTED = "<!-- raw HTML omitted -->"
# Quotes nested past the bound on one line: cmark-gfm itself is slow on a long run of
# ">", so such text is shown as written before it is parsed.
_DEEP_QUOTE = re.compile(rf"^(?:[ \t]{{0,3}}>){{{MAX_NESTING + 1}}}", re.MULTILINE)
_CONTAINER_TAG = re.compile(r"<(/?)(?:blockquote|ol|ul|li)\b")
_DEPTH_STEP = {"": 1, "/": -1}
# GFM task list items: a disabled checkbox nh3 would drop, so a character instead.
_TASK_BOXES = {
    '<input type="checkbox" disabled="" />': "\N{BALLOT BOX}",
    '<input type="checkbox" checked="" disabled="" />': "\N{BALLOT BOX WITH CHECK}",
}
_TASK_BOX = re.compile("|".join(re.escape(box) for box in _TASK_BOXES))


@memoize
def _lexer_class(language: str) -> type[Lexer] | None:
    """Pygments' lexer for an allowed language (memoized: the set is small and fixed)."""
    if language not in HIGHLIGHT_LANGUAGES:
        return None  # "text", no language, or one we do not trust: plain code
    try:
        return find_lexer_class_by_name(language)
    except ClassNotFound:  # a Pygments upgrade dropped the name: plain beats a 500
        logger.warning("Pygments has no lexer named %r", language)
        return None


def _standard(kind: _TokenType) -> _TokenType:
    """The token type, or its nearest ancestor with a class in pygments.css (a YAML scalar
    is "l", not "l l-Scalar l-Scalar-Plain")."""
    while kind not in STANDARD_TYPES:
        assert kind.parent is not None  # Token, every type's root, is in STANDARD_TYPES
        kind = kind.parent
    return kind


# One per process: building a formatter computes the style of every token type, 0.5 ms,
# which was a third of rendering a task's text. Formatting only reads it (and memoises a
# token type's opening tag, the same string whichever thread writes it), so threads share it.
_FORMATTER = HtmlFormatter(cssclass="codehilite", wrapcode=True)


class _Highlighter:
    """Highlights code blocks until the document's budget is spent, then shows them plain."""

    def __init__(self) -> None:
        self.chars_left = HIGHLIGHT_MAX_CHARS

    def __call__(self, match: re.Match[str]) -> str:
        language, escaped = (match[1] or "").lower(), match[2]
        code = unescape(escaped)
        lexer_class = _lexer_class(language)
        if lexer_class is None or len(code) > self.chars_left:
            return match.expand(_PLAIN_CODE)
        self.chars_left -= len(code)
        tokens = ((_standard(kind), text) for kind, text in lexer_class().get_tokens(code))
        return format_tokens(tokens, _FORMATTER).rstrip("\n")


def _highlight(html: str) -> str:
    """Fenced and indented code in the codehilite box, highlighted within the budget."""
    html = _CODE_BLOCK.sub(_Highlighter(), html, count=HIGHLIGHT_MAX_BLOCKS)
    # Past the first blocks, no Python per block: the same box, plain.
    return _CODE_BLOCK.sub(_PLAIN_CODE, html)


def _slug(inner_html: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    text = unescape(_TAG.sub("", inner_html)).strip().lower()
    return _NOT_IN_SLUG.sub("", text).replace(" ", "-")[:HEADING_ID_MAX_CHARS]


def _add_heading_ids(html: str) -> tuple[str, set[str]]:
    """Give each heading a unique prefixed id; return the HTML and the bare slugs."""
    seen: dict[str, int] = {}
    slugs: set[str] = set()

    def heading(match: re.Match[str]) -> str:
        base = _slug(match[2]) or "section"
        slug = base
        while slug in slugs:  # "setup", "setup-1", "setup-2", as GitHub numbers them
            seen[base] = seen.get(base, 0) + 1
            slug = f"{base}-{seen[base]}"
        slugs.add(slug)
        return f'<h{match[1]} id="{ID_PREFIX}{slug}">{match[2]}</h{match[1]}>'

    return _HEADING.sub(heading, html, count=MAX_HEADING_IDS), slugs


def _link_to_headings(html: str, slugs: set[str]) -> str:
    """Point ``[see](#setup)`` at this document's own heading (now ``#user-content-setup``);
    a fragment that names no heading here (``#task-3``) keeps pointing at the page."""

    def link(match: re.Match[str]) -> str:
        fragment = match[2]
        if unquote(unescape(fragment)) in slugs:
            return f'{match[1]}{ID_PREFIX}{fragment}"'
        return match[0]

    return _FRAGMENT_LINK.sub(link, html, count=MAX_HEADING_LINKS) if slugs else html


# cmarkgfm's own helpers (2025.10.22) never free the syntax tree nor the HTML that
# cmark-gfm allocates: a worker grew by 150 KB per 10 KB rendered. So we drive the
# same C functions ourselves and free both, with the allocator cmark-gfm used.
_ffi = cffi.FFI()
_ffi.cdef(
    """
    typedef struct cmark_mem {
        void *(*calloc)(size_t, size_t);
        void *(*realloc)(void *, size_t);
        void (*free)(void *);
    } cmark_mem;
    cmark_mem *cmark_get_default_mem_allocator(void);
    void cmark_node_free(void *node);
    """
)
_cmark_lib = _ffi.dlopen(_cmark.__file__)
# cffi's stubs cannot know the functions a cdef declares: they exist from run time only.
_cmark_free = (
    _cmark_lib.cmark_get_default_mem_allocator().free  # type: ignore[attr-defined]  # cdef'd
)
_cmark_node_free = _cmark_lib.cmark_node_free  # type: ignore[attr-defined]  # cdef'd
_cmark.lib.cmark_gfm_core_extensions_ensure_registered()
_CMARK_EXTENSIONS = [
    _cmark.lib.cmark_find_syntax_extension(name.encode()) for name in CMARK_EXTENSIONS
]


def cmark_html(source: str, options: int = CMARK_OPTIONS) -> str:
    """cmark-gfm's HTML for ``source`` with our extensions, every byte it allocated freed."""
    lib, text = _cmark.lib, source.encode()
    parser = lib.cmark_parser_new(options)
    try:
        for extension in _CMARK_EXTENSIONS:
            lib.cmark_parser_attach_syntax_extension(parser, extension)
        lib.cmark_parser_feed(parser, text, len(text))
        root = lib.cmark_parser_finish(parser)  # the caller's to free, not the parser's
        try:
            extensions = lib.cmark_parser_get_syntax_extensions(parser)
            html = lib.cmark_render_html(root, options, extensions)
            try:
                rendered: str = _cmark.ffi.string(html).decode()
                return rendered
            finally:
                _cmark_free(_ffi.cast("void *", html))
        finally:
            _cmark_node_free(_ffi.cast("void *", root))
    finally:
        lib.cmark_parser_free(parser)


def _past_bounds(source: str) -> str:
    """The source as preformatted text: what a text past the parser bounds shows."""
    logger.info("Markdown past the parser bounds (%d characters): shown as text", len(source))
    return f"<pre><code>{escape(source, quote=False)}</code></pre>"


def _markup(html: str) -> int:
    """nh3's work on cmark's output: in it every "<" opens a tag, every '="' is an
    attribute and every "&" a character reference (text has its quotes escaped)."""
    return html.count("<") + html.count('="') + html.count("&")


def _nesting(html: str) -> int:
    """How deep cmark's quotes and lists go (raw HTML can skew this by its few tags)."""
    steps = map(_DEPTH_STEP.__getitem__, _CONTAINER_TAG.findall(html))
    return max(accumulate(steps), default=0)


def _render(source: str) -> str:
    if len(source) > MAX_SOURCE_CHARS or _DEEP_QUOTE.search(source):
        return _past_bounds(source)
    raw_html = len(_RAW_HTML_TAG.findall(source)) <= MAX_RAW_HTML_TAGS
    options = CMARK_OPTIONS if raw_html else CMARK_OPTIONS & ~Options.CMARK_OPT_UNSAFE
    html = cmark_html(source, options)
    if not raw_html:  # cmark left a comment in place of each piece: nothing to parse
        html = html.replace(_RAW_HTML_OMITTED, "")
    if _markup(html) > MAX_MARKUP or _nesting(html) > MAX_NESTING:
        return _past_bounds(source)
    if "checkbox" in html:
        html = _TASK_BOX.sub(lambda match: _TASK_BOXES[match[0]], html)
    html = _CLEANER.clean(html)
    # From here on the HTML is nh3's: what we add is ours, not the author's.
    html = _highlight(html)
    html, slugs = _add_heading_ids(html)
    return _link_to_headings(html, slugs).strip()


def render_markdown(source: str | None) -> SafeString:
    """Safe HTML for ``source``; re-rendered only when the source (or renderer) changes."""
    if not source:
        return mark_safe("")
    digest = hashlib.sha256(source.encode()).hexdigest()
    key = f"md:{RENDERER_VERSION}:{digest}"
    try:
        html: str | None = cache.get(key)
    except Exception:  # the cache being down must never break a page
        logger.warning("Markdown cache unavailable; rendering directly", exc_info=True)
        return mark_safe(_render(source))
    if html is None:
        html = _render(source)
        try:
            cache.set(key, html, CACHE_SECONDS)
        except Exception:
            logger.warning("Markdown cache unavailable; not storing", exc_info=True)
    return mark_safe(html)


def plain_excerpt(source: str | None, limit: int) -> str:
    """``source`` as plain text of at most ``limit`` characters, for notifications, emails
    and previews: the Markdown rendered and its tags dropped, so `**this**` reads "this"."""
    text = unescape(strip_tags(render_markdown(source)))
    return Truncator(" ".join(text.split())).chars(limit)
