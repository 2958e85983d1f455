"""Markdown rendered on the server, sanitized, and cached by a hash of its source."""

from __future__ import annotations

import hashlib
import logging
from html import unescape

import markdown as markdown_lib
import nh3
from django.core.cache import cache
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from pygments.token import STANDARD_TYPES

logger = logging.getLogger(__name__)

# Bump when the renderer or the allow-list changes, so cached HTML is rebuilt.
RENDERER_VERSION = "2"
CACHE_SECONDS = 60 * 60 * 24 * 30

EXTENSIONS = ["fenced_code", "tables", "toc", "codehilite", "sane_lists", "attr_list"]
EXTENSION_CONFIGS = {
    "codehilite": {"guess_lang": False, "css_class": "codehilite"},
    "toc": {"permalink": False},
    # Column alignment as an attribute: nh3 would strip a style attribute.
    "tables": {"use_align_attribute": True},
}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
# Only the classes code highlighting produces, so Markdown cannot borrow page
# classes (position-fixed, d-none, ...) to restyle or hide parts of the page.
ALLOWED_CLASSES = {
    "div": {"codehilite"},
    "span": {name for name in STANDARD_TYPES.values() if name},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _render(source: str) -> str:
    html = markdown_lib.markdown(
        source, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html"
    )
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(source: str | None) -> SafeString:
    """Safe HTML for ``source``; re-rendered only when the source (or renderer) changes."""
    if not source:
        return mark_safe("")
    digest = hashlib.sha256(source.encode()).hexdigest()
    key = f"md:{RENDERER_VERSION}:{digest}"
    try:
        html = cache.get(key)
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
