"""``make bench-markdown``: hostile Markdown through the real renderer, within a time bound.

Renders an adversarial corpus (issue #17: runs of ``[``, ``*a``, ``<``, ``[a](``,
``![x](``, nested ``>``, deep lists, quotes, emphasis and links, long tables, many
fenced blocks in every language we highlight, raw HTML that makes HTML parsers slow)
through ``core.platform.markdown.render_markdown`` with the cache switched off, each input
at 64 KiB: above every Markdown field's limit, so the bound holds for any text a
form accepts, and for older rows written before the limits. Prints the median CPU
time of ``--runs`` renders per input and exits 1, loudly, if any is over
``--budget-ms`` (50 ms): a bound to keep by bounding the renderer, not by raising it.

``--compare`` also times the parse alone with Python-Markdown (the parser we left:
the same extensions as before) and markdown-it-py, doubling the size from 1 KiB
until a parse takes longer than ``--give-up-ms`` (so quadratic ones stop in time),
next to cmark-gfm's parse at the same sizes. Those two packages are dev-only
(requirements-dev.txt); nothing at run time imports them.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")

SIZE = 64 * 1024
BUDGET_MS = 50.0
RUNS = 5
GIVE_UP_MS = 2_000.0
COMPARE_SIZES = [1024 * 2**power for power in range(7)]  # 1 KiB … 64 KiB
# Code that lexers find hard: unterminated strings and comments, escapes, template
# tags, nested brackets, long words and numbers, on lines of every length.
HOSTILE_CODE = (
    "def f(x):\n    return '''\"\\\\'\\n\" + f\"{x!r:>{x}}\" # ' \" \\\n"
    "/* {{ {% ${x} `a` <!-- <div a='b\"> */ ((([[[{{{ 0x1f 1e10 1_000.5e-3j\n"
    + "a" * 200
    + " "
    + "9" * 200
    + "\n"
    + "SELECT * FROM t WHERE a = 'b'' -- c /* d\n<<EOF $((1+2)) \"$(echo `x`)\"\n"
    + "key: &anchor [a, {b: c}] | > ! %TAG ? @ ~\n"
    + "\t\t  \\\n"
)


WIDE_HEADER = "|" + "a|" * 1000 + "\n|" + "-|" * 1000 + "\n"


def fill(unit: str, size: int = SIZE) -> str:
    """``unit`` repeated to exactly ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def nested(opening: str, middle: str, closing: str, size: int = SIZE) -> str:
    """``opening`` × n, ``middle``, ``closing`` × n, about ``size`` characters in all."""
    count = (size - len(middle)) // (len(opening) + len(closing))
    return opening * count + middle + closing * count


def corpus() -> dict[str, str]:
    """Name → hostile Markdown, each 64 KiB (or just under, where units do not divide)."""
    from core.platform.markdown import HIGHLIGHT_LANGUAGES, HIGHLIGHT_MAX_CHARS

    texts = {
        # The probes: Python-Markdown was quadratic on each of these.
        "runs of [": fill("["),
        "runs of *a": fill("*a"),
        "runs of <": fill("<"),
        "runs of [a](": fill("[a]("),
        "runs of ![x](": fill("![x]("),
        "nested > (one line)": fill(">"),
        "nested > with spaces": fill("> "),
        # Deep nesting of blocks and inlines.
        "nested lists (one line)": fill("- a ", SIZE - 1) + "\n",
        "nested ordered lists": fill("1. "),
        "nested lists (indented)": "".join("  " * depth + "- x\n" for depth in range(250)),
        "nested quotes and lists": fill("> - "),
        "quotes, many": fill("> a\n\n"),
        "nested emphasis": nested("*a ", "b", " a*"),
        "nested strong": nested("**a ", "b", " a**"),
        "nested emphasis and links": nested("*[a ", "b", "](c) a*"),
        "nested brackets": nested("[", "a", "](b)"),
        "nested strikethrough": nested("~~a ", "b", " a~~"),
        "runs of _a": fill("_a"),
        "runs of **a": fill("**a "),
        "runs of `": fill("`"),
        "code spans": fill("`a` "),
        "runs of &amp;": fill("&amp;"),
        "runs of \\": fill("\\"),
        "link references": fill("[a]: /u\n"),
        "links": fill("[a](https://example.com/b) "),
        # Tables, long and wide.
        "long table": "| a | b | c |\n| --- | :-: | --: |\n" + fill("| 1 | 2 | 3 |\n", SIZE - 40),
        "wide table": WIDE_HEADER + fill("|x" * 1000 + "\n", SIZE - len(WIDE_HEADER)),
        "table of brackets": "| a |\n| --- |\n" + fill("| " + "[" * 50 + " |\n", SIZE - 16),
        # GFM extensions and what we add after sanitizing.
        "task lists": fill("- [ ] a\n- [x] b\n"),
        "autolinks www": fill("www.a "),
        "autolinks _": fill("www._"),
        "autolinks mail": fill("a.b@c. "),
        "headings": fill("# a\n"),
        "headings, distinct": fill("".join(f"## Part {n}\n" for n in range(2000))),
        "links to headings": "# a\n" + fill("[x](#a) ", SIZE - 4),
        "paragraphs": fill("a\n\n"),
        "hard breaks": fill("a  \n"),
        "setext headings": fill("a\n=\n"),
        "one long line": fill("lorem ipsum "),
        # Raw HTML that makes HTML parsers (nh3's html5ever, browsers') slow.
        "raw <div> nesting": fill("<div>"),
        "raw <ul> nesting": fill("<ul>"),
        "raw <b title> open": fill("".join(f"<b title={n}>" for n in range(600))),
        "raw <p><b title></p>": fill("".join(f"<p><b title={n}></p>x" for n in range(600))),
        "raw <a><div>": fill("<a><div>"),
        "raw </b>": fill("</b>"),
        "raw comments": fill("<!-- a "),
        "raw tags few + paragraphs": "<div>" * 60 + "\n\n" + fill("a\n\n", SIZE - 400),
        "raw attrs few + quotes": "".join(f"<b title={n}>" for n in range(60))
        + "\n\n"
        + fill("> a\n\n", SIZE - 1000),
        # The slowest parse and the most markup nh3 may be given, in one text.
        "runs of [a]( then emphasis": fill("[a](", SIZE // 2) + fill("*a* ", SIZE // 2),
        "runs of [a]( then hard breaks": fill("[a](", SIZE // 2) + fill("a  \n", SIZE // 2),
        # Fenced code: Pygments is the slow part, within its budget per document.
        "fences, many small": fill("```python\nx = 1\n```\n"),
        "fences, every language": fill(
            "".join(f"```{lang}\n{HOSTILE_CODE}```\n" for lang in sorted(HIGHLIGHT_LANGUAGES))
        ),
        "fence, unclosed": fill("```python\n"),
        "fences, unknown language": fill(f"```nosuchlang\n{HOSTILE_CODE}```\n"),
    }
    # The most code each lexer is given (the highlighting budget), then prose to 64 KiB.
    for lang in sorted(HIGHLIGHT_LANGUAGES):
        fence = f"```{lang}\n{fill(HOSTILE_CODE, HIGHLIGHT_MAX_CHARS - 1)}\n```\n\n"
        texts[f"fence, {lang}"] = fence + fill("lorem ipsum dolor ", SIZE - len(fence))
    return texts


def timed(render: Callable[[str], object], text: str, runs: int) -> tuple[float, float]:
    """Median CPU and wall milliseconds of ``runs`` renders of ``text``.

    The bound is on CPU time, the thread's own (nh3 and cmark-gfm run in it too):
    what a request costs the server, unmoved by other processes on a shared machine.
    """
    cpu, wall = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.thread_time()
        render(text)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def shown_as(text: str, html: str) -> str:
    """How core/platform/markdown.py showed ``text``: rendered, or past which of its bounds."""
    from html import escape

    from core import markdown

    if html == f"<pre><code>{escape(text, quote=False)}</code></pre>":
        return "as written"
    if len(markdown._RAW_HTML_TAG.findall(text)) > markdown.MAX_RAW_HTML_TAGS:
        return "without raw HTML"
    return "rendered"


def bound(args: argparse.Namespace) -> int:
    """Time every input through render_markdown; 1 if any is over the budget."""
    from django.test import override_settings

    from core.platform.markdown import HIGHLIGHT_LANGUAGES, MAX_SOURCE_CHARS, render_markdown

    texts = corpus()
    # Longer texts are shown as written without being parsed: timing them proves nothing.
    assert all(len(text) <= MAX_SOURCE_CHARS for text in texts.values())
    # Lexers are imported on first use, once per process: not what a request costs.
    render_markdown("".join(f"```{lang}\nx\n```\n" for lang in sorted(HIGHLIGHT_LANGUAGES)))
    slow: list[str] = []
    slowest = ("", 0.0)
    dummy = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    print(f"render_markdown, cache off, median of {args.runs}; budget {args.budget_ms:g} ms CPU")
    print("| input | KiB | shown | CPU ms | wall ms |\n| --- | ---: | --- | ---: | ---: |")
    with override_settings(CACHES=dummy):
        for name, text in texts.items():
            cpu, wall = timed(render_markdown, text, args.runs)
            shown = shown_as(text, str(render_markdown(text)))
            slowest = max(slowest, (name, cpu), key=lambda pair: pair[1])
            flag = "  <-- OVER BUDGET" if cpu > args.budget_ms else ""
            size = len(text) / 1024
            print(f"| {name} | {size:.0f} | {shown} | {cpu:.1f} | {wall:.1f} |{flag}")
            if flag:
                slow.append(f"{name}: {cpu:.1f} ms")
    if slow:
        bar = "!" * 72
        lines = "\n".join(f"  {line}" for line in slow)
        load, cpus = os.getloadavg()[0], os.cpu_count() or 1
        busy = (
            f"\n(The load average is {load:.1f} on {cpus} CPUs: contention inflates CPU time "
            "too. Run it again on a quieter machine before trusting this.)"
            if load > cpus
            else ""
        )
        print(
            f"\n{bar}\nMARKDOWN RENDERING OVER {args.budget_ms:g} ms OF CPU ON {len(slow)} "
            f"INPUT(S):\n{lines}\nA text a form accepts could pin a server thread: find the "
            "bound that fixes it (core/platform/markdown.py), do not raise the budget."
            f"{busy}\n{bar}",
            file=sys.stderr,
        )
        return 1
    name, cpu = slowest
    print(f"\nAll {len(texts)} inputs under {args.budget_ms:g} ms; slowest: {name}, {cpu:.1f} ms.")
    return 0


def parsers() -> dict[str, Callable[[str], object]]:
    """The three parsers, parse only (no sanitizing), configured as we would use them."""
    import markdown
    from markdown_it import MarkdownIt

    from core.platform.markdown import cmark_html

    # The configuration core/platform/markdown.py had before issue #17.
    python_markdown = {
        "extensions": ["fenced_code", "tables", "toc", "codehilite", "sane_lists", "attr_list"],
        "extension_configs": {"codehilite": {"guess_lang": False}},
    }
    markdown_it = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return {
        "cmark-gfm": cmark_html,
        "markdown-it-py": markdown_it.render,
        "Python-Markdown": lambda text: markdown.markdown(text, **python_markdown),
    }


# The probes and the deepest nestings, for the comparison of parsers.
COMPARED = (
    "runs of [",
    "runs of *a",
    "runs of <",
    "runs of [a](",
    "runs of ![x](",
    "nested > (one line)",
    "nested > with spaces",
    "nested lists (one line)",
    "nested emphasis",
    "nested brackets",
    "long table",
    "fences, many small",
)


def compare(args: argparse.Namespace) -> None:
    """Each parser on the probes, doubling the size until a parse takes too long."""
    texts = corpus()
    print(f"\nParse only, one run per size, ms; after a parse over {args.give_up_ms:g} ms, -")
    sizes = " | ".join(f"{size // 1024} KiB" for size in COMPARE_SIZES)
    print(f"| input | parser | {sizes} |\n| --- | --- |{' ---: |' * len(COMPARE_SIZES)}")
    for name in COMPARED:
        for parser, parse in parsers().items():
            cells = []
            for size in COMPARE_SIZES:
                try:
                    elapsed, _ = timed(parse, texts[name][:size], 1)
                except RecursionError:  # Python-Markdown recurses once per nested element
                    cells.append("RecursionError")
                    break
                cells.append(f"{elapsed:.1f}" if elapsed < 1000 else f"{elapsed / 1000:.1f} s")
                if elapsed > args.give_up_ms:
                    break
            cells += ["-"] * (len(COMPARE_SIZES) - len(cells))
            print(f"| {name} | {parser} | {' | '.join(cells)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--budget-ms", type=float, default=BUDGET_MS)
    parser.add_argument("--compare", action="store_true", help="also time the other parsers")
    parser.add_argument("--give-up-ms", type=float, default=GIVE_UP_MS)
    args = parser.parse_args()

    import django

    django.setup()
    # Texts past the parser bounds are logged at INFO, once per render: not news here.
    logging.getLogger("core.platform.markdown").setLevel(logging.WARNING)
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{platform.python_version()} on {os.cpu_count()} CPUs, load average {load}")
    status = bound(args)
    if args.compare:
        compare(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
