"""Markdown cannot take over an element the page uses (issue #17).

Python-Markdown's attr_list let a learner write ``{: #comment-list }`` under their
notes: the attempt page then had two #comment-list, and the live thread put new
comments inside the learner's notes. Rendered Markdown now carries only ids we make
(``user-content-…``) and only the code highlighter's classes; these tests render
hostile text where people write it and read the pages as a browser would.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest
from django.test import Client

from core.models import Attempt, Project, ProjectRelease, User
from tests.factories import (
    AttemptFactory,
    CommentFactory,
    IterationFactory,
    ReviewFactory,
    VerdictFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
MARKER = "hostile-marker"  # a class no page uses: it shows whether an author's class survived


def hostile(*ids: str) -> str:
    """Markdown that tries every way we know to give an element one of ``ids``."""
    parts = []
    for target in ids:
        title = target.replace("-", " ").title()
        parts += [
            f'<div id="{target}" class="{MARKER} d-none position-fixed">raw div</div>',
            f'<ol id="{target}" class="{MARKER}"><li>raw list</li></ol>',
            f"<a id={target} name={target} class={MARKER}>raw anchor</a>",
            f"## {title} {{: #{target} .{MARKER} }}",
            f"## {target}",
            f"## {title}",
            f"A paragraph.\n{{: #{target} .{MARKER} }}",
        ]
    return "\n\n".join(parts)


class Ids(HTMLParser):
    """Every id on a page, and every id inside a .markdown-body, as a browser reads them."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self, html: str) -> None:
        super().__init__()
        self.all: Counter[str] = Counter()
        self.in_markdown: list[str] = []
        self.classes_in_markdown: set[str] = set()
        self._stack: list[bool] = []  # per open element: is it inside a .markdown-body?
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        inside = bool(self._stack and self._stack[-1])
        classes = (values.get("class") or "").split()
        if values.get("id") is not None:
            self.all[values["id"] or ""] += 1
            if inside:
                self.in_markdown.append(values["id"] or "")
        if inside:
            self.classes_in_markdown.update(classes)
        if tag not in self.VOID:
            self._stack.append(inside or "markdown-body" in classes)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self._stack:
            self._stack.pop()


def assert_not_shadowed(html: str, targets: list[str]) -> Ids:
    ids = Ids(html)
    assert ids.in_markdown, "the hostile Markdown should be on the page"
    for target in targets:
        assert ids.all[target] == 1, f"#{target} appears {ids.all[target]} times"
    assert all(value.startswith("user-content-") for value in ids.in_markdown), ids.in_markdown
    assert MARKER not in ids.classes_in_markdown
    assert ids.classes_in_markdown <= {"codehilite"} | _highlight_classes()
    return ids


def _highlight_classes() -> set[str]:
    from core.platform.markdown import HIGHLIGHT_CLASSES

    return set(HIGHLIGHT_CLASSES)


# The attempt page: notes, reviews, the thread and its live updates.

ATTEMPT_TARGETS = ["main", "comment-list", "comment-form", "comment-poller", "timeline"]


@pytest.fixture
def attempt(learner: User, mentor: User, release: ProjectRelease, project: Project) -> Attempt:
    attempt = AttemptFactory(learner=learner, release=release)
    iteration = IterationFactory(attempt=attempt, number=1, notes=hostile(*ATTEMPT_TARGETS))
    review = ReviewFactory(iteration=iteration, reviewer=mentor, feedback=hostile("main"))
    task = project.tasks.order_by("number").first()
    VerdictFactory(review=review, task=task, comment=hostile("comment-list"))
    CommentFactory(attempt=attempt, author=learner, body=hostile(*ATTEMPT_TARGETS))
    return attempt


def test_the_attempt_page_keeps_its_own_targets(learner_client: Client, attempt: Attempt) -> None:
    body = learner_client.get(f"/attempts/{attempt.pk}/").content.decode()
    ids = assert_not_shadowed(body, ATTEMPT_TARGETS)
    assert "user-content-comment-list" in ids.in_markdown  # the heading kept an id, ours
    # The live thread targets the page's list, and there is only one.
    assert 'hx-target="#comment-list"' in body


def test_the_live_thread_brings_no_author_ids(
    learner_client: Client, attempt: Attempt, learner: User
) -> None:
    poll = learner_client.get(f"/attempts/{attempt.pk}/comments/?after=0", **HTMX)
    assert_not_shadowed(poll.content.decode(), [])

    posted = learner_client.post(
        f"/attempts/{attempt.pk}/comments/",
        {"body": hostile("comment-list", "comment-form"), "after": "0"},
        **HTMX,
    )
    html = posted.content.decode()
    ids = assert_not_shadowed(html, [])
    # The fragment's own form (swapped out of band) is the only #comment-form in it.
    assert ids.all["comment-form"] == 1
    assert ids.all["comment-list"] == 0


# The project page: its contents link to sections and tasks the curriculum text sits in.

PROJECT_TARGETS = ["main", "project-overview", "project-tasks", "task-0", "task-1", "task-2"]


def test_the_project_page_and_its_contents_keep_their_targets(
    learner_client: Client, project: Project, release: ProjectRelease
) -> None:
    project.description = hostile("project-tasks", "task-1") + "\n\nSee [task 1](#task-1)."
    project.save()
    task = project.tasks.get(number=0)
    task.body = hostile("project-overview", "task-2") + "\n\n## Setup\n\n[Setup](#setup)"
    task.save()
    for number in (3, 4):  # four tasks or more: the page shows its table of contents
        project.tasks.create(number=number, title=f"Task {number}", body="Do it.")

    body = learner_client.get(f"/projects/{project.slug}/").content.decode()

    ids = assert_not_shadowed(body, PROJECT_TARGETS)
    assert '<a href="#project-tasks">Tasks</a>' in body  # the contents, in both navs
    assert body.count('href="#task-1"') >= 2  # the contents and the description's link
    # A link to the text's own heading follows the heading's prefixed id.
    assert 'href="#user-content-setup"' in body
    assert "user-content-setup" in ids.in_markdown
