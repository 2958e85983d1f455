"""Hypothesis fuzzes every user-facing form through the test client (issue #7, item 6).

Each form gets at least ``EXAMPLES`` generated posts, valid and hostile: random text,
huge values, numbers as text ("NaN", "1e309", 2**64), unicode (right-to-left marks,
emoji, combining marks, NUL and other control characters), bytes that are not UTF-8
(how a lone surrogate arrives), missing fields, lists where one value is expected,
wrong choices and the ids of other people's objects. Three properties hold for every
example:

- no 500: the test client re-raises any exception a view lets escape (its default,
  ``raise_request_exception=True``), and no response is a 5xx;
- a refusal is the form shown again with an error (200), never a silent success;
- valid input takes the success path, and what is stored is what was posted.

Every example runs in a savepoint that is rolled back, with an empty cache (rate
limits), so examples never see each other's writes. Examples are derandomized (the
same ones on every run, no ``.hypothesis`` database), so CI cannot flake.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from core.cohorts.join_codes import code_normalized, join_code_create
from core.cohorts.services import CALENDAR_YEARS, MAX_SHIFT_DAYS
from core.models import (
    Attachment,
    Cohort,
    Comment,
    EmailPreference,
    Iteration,
    Membership,
    Notification,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    ReviewRating,
    ReviewReport,
    Task,
    User,
)
from core.peer.forms import MAX_REPORT_CHARS
from core.platform.admin_helpers import pk_or_none
from core.platform.uploads import MAX_NAME_CHARS
from core.reviews.forms import MAX_FEEDBACK_CHARS, MAX_VERDICT_COMMENT_CHARS, NOTES_MAX_CHARS
from core.reviews.models import validate_repository_url
from core.reviews.services import claim_take
from tests.factories import (
    PASSWORD,
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProgramFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)
from tests.peer.test_peer_review import assign, classmate, peer_policy, peer_review
from tests.platform.test_uploads import EXE_BYTES, PDF_BYTES, PNG_BYTES

# At least 200 examples per form (the floor).
EXAMPLES = 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI cannot flake
    database=None,  # no .hypothesis directory in the repository
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # fixtures are shared; examples roll back
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

DISPLAY_NAME_MAX = User._meta.get_field("display_name").max_length
MARKDOWN_MAX_CHARS = django_settings.MARKDOWN_MAX_CHARS  # every Markdown field, the preview
# Every form here answers a refusal with the page (or fragment) showing the form again.
REFUSAL_STATUS = 200
NAIROBI = ZoneInfo("Africa/Nairobi")

# --- What gets posted ------------------------------------------------------------------

# A posted value: text, raw bytes (sent as they are, maybe not UTF-8), or a list of
# them (the field repeated; an empty list leaves the field out).
Scalar = str | bytes
Value = Scalar | list[Scalar]
Data = dict[str, Value]

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "1e309",
    "-1e309",
    "1e-400",
    "0",
    "-0",
    "-1",
    "+1",
    "00",
    "1_000",
    str(2**63),
    str(-(2**63) - 1),
    str(2**64),
    "9" * 400,
    "1.5",
    "1,5",
    "0x1F",
    "١٢٣",  # Arabic-Indic digits: int() accepts them
    "Ⅻ",
    "\u202eevil\u202c",  # right-to-left override
    "\u200f\u200e",
    "مرحبا بالعالم",
    "👩🏽‍💻🏳️‍🌈",
    "e\u0301\u0301\u0301\u0301",  # combining marks
    "\ufeff",
    "\ufffd",
    "\x1b[31mred\x1b[0m",
    "\r\n",
    "\t",
    "\x7f",
    "\x85",
    "\u2028",
    "null",
    "None",
    "true",
    "false",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "' OR '1'='1' --",
    "../../etc/passwd",
    "%00",
    "%s%s%n",
    "{{ 7*7 }}",
    "{% debug %}",
    "${7*7}",
]
# Bytes that are not UTF-8: an encoded lone surrogate, an overlong '/', stray bytes.
INVALID_UTF8 = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\xaf", b"\xff\xfe", b"\x80", b"a\xe2\x82"]
HUGE_UNITS = ["x", "é", "😀", "\u0301", " ", "\x00", "1", "a\n"]
# Past every field's limit (the longest, notes and feedback, take 20,000 characters).
HUGE_LENGTHS = [81, 256, 2_001, 5_001, 10_001, 20_001]


def huge_text() -> st.SearchStrategy[str]:
    """Very long values, cheap to generate: one unit repeated past a field's limit."""
    return st.builds(
        lambda unit, n: unit * n, st.sampled_from(HUGE_UNITS), st.sampled_from(HUGE_LENGTHS)
    )


SCALAR: st.SearchStrategy[Scalar] = st.one_of(
    st.text(max_size=30),  # any code point but surrogates: controls, NUL, RTL, emoji
    st.sampled_from(NASTY_TEXT),
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(INVALID_UTF8),
    st.binary(max_size=12),
    huge_text(),
)
VALUE: st.SearchStrategy[Value] = st.one_of(
    SCALAR,
    st.just([]),  # the field is missing
    st.lists(SCALAR, min_size=2, max_size=3),  # a list where one value is expected
)
# Fields nobody may set through these forms (mass assignment noise).
EXTRA_FIELDS = ["is_staff", "is_superuser", "learner", "reviewer", "score", "status", "email"]


def hostile(valid: Data, names: list[str], draw: Callable[..., Any]) -> Data:
    """``valid`` with some fields replaced by hostile values (or removed), plus noise."""
    data = dict(valid)
    for name in draw(st.sets(st.sampled_from(names), min_size=1, max_size=len(names))):
        data[name] = draw(VALUE)
    return data | noise(draw)


def seen(value: Value | None) -> str | None:
    """What ``request.POST.get(name)`` gives the view for a posted value (None: absent)."""
    if isinstance(value, list):
        return seen(value[-1]) if value else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def seen_list(value: Value | None) -> list[str]:
    """What ``request.POST.getlist(name)`` gives the view."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [seen(item) or "" for item in values]


def text_ok(value: str | None, *, max_length: int, required: bool = False) -> bool:
    """Whether a Django CharField (strip=True) with ``max_length`` accepts ``value``."""
    text = (value or "").strip()
    if not text:
        return not required
    return "\x00" not in text and len(text) <= max_length


def urlencoded(data: Mapping[str, Value]) -> str:
    return urlencode(data, doseq=True)


def post(client: Client, url: str, data: Mapping[str, Value], **headers: str) -> HttpResponse:
    """POST ``data`` form-urlencoded, bytes as they are (the test client would encode them)."""
    assert client.raise_request_exception  # an exception in a view fails the example
    forget_messages(client)
    response = client.post(
        url,
        urlencoded(data),
        content_type="application/x-www-form-urlencoded",
        headers=headers or None,
    )
    assert response.status_code < 500, response.status_code
    return response


def forget_messages(client: Client) -> None:
    """Drop messages an earlier example left in the client's cookie (never shown)."""
    client.cookies.pop(CookieStorage.cookie_name, None)


def htmx_headers(htmx: bool) -> dict[str, str]:
    return {"HX-Request": "true"} if htmx else {}


def form_errors(response: HttpResponse, name: str = "form") -> dict[str, Any]:
    """The errors of the form the response shows again (it must show one)."""
    assert response.status_code == REFUSAL_STATUS, response.status_code
    assert response.context is not None, "a refusal must render the form"
    form = response.context[name]
    return dict(form.errors)


def messages_of(response: HttpResponse) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in get_messages(response.wsgi_request)]


class _Rollback(Exception):
    """Raised to roll an example's savepoint back."""


@contextmanager
def isolated() -> Iterator[None]:
    """One example: an empty cache (rate limits) and a savepoint rolled back afterwards."""
    cache.clear()
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def pk_in_url(own: int, foreign: int) -> st.SearchStrategy[tuple[str, int]]:
    """Whose object the URL names: one's own (mostly), someone else's, or none at all
    (huge ids too)."""
    missing = st.integers(min_value=0, max_value=2**70).filter(lambda pk: pk not in (own, foreign))
    targets = {"own": st.just(own), "foreign": st.just(foreign), "missing": missing}
    return st.sampled_from(["own", "own", "own", "foreign", "missing"]).flatmap(
        lambda whose: targets[whose].map(lambda pk: (whose, pk))
    )


def noise(draw: Callable[..., Any]) -> Data:
    """Fields no form has (mass assignment): a valid post stays valid with them."""
    return draw(st.dictionaries(st.sampled_from(EXTRA_FIELDS), SCALAR, max_size=2))


# --- The cast for the forms ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PEER_ASSIGNMENT_HOURS = 8


@pytest.fixture
def other_cohort(db: None) -> Cohort:
    """Another cohort of the same program, with a learner and a waiting iteration."""
    cohort = CohortFactory(name="Cohort 8", slug="cohort-8")
    project = ProjectFactory(title="Other Project", slug="other-project")
    TaskFactory(project=project, number=0)
    release = ProjectReleaseFactory(cohort=cohort, project=project)
    stranger = UserFactory(email="stranger@example.com")
    MembershipFactory(user=stranger, cohort=cohort, role="learner")
    IterationFactory(attempt__learner=stranger, attempt__release=release, number=1)
    return cohort


@pytest.fixture
def foreign_iteration(other_cohort: Cohort) -> Iteration:
    return Iteration.objects.get(attempt__release__cohort=other_cohort)


@pytest.fixture
def foreign_task(foreign_iteration: Iteration) -> Task:
    return foreign_iteration.attempt.release.project.tasks.get()


@pytest.fixture
def waiting(learner: User, release: ProjectRelease) -> Iteration:
    """The learner's waiting iteration of the released project."""
    attempt = AttemptFactory(learner=learner, release=release)
    return IterationFactory(
        attempt=attempt, number=1, submitted_at=timezone.now() - timedelta(hours=3)
    )


def task_ids(project: Project) -> list[int]:
    return list(project.tasks.order_by("number").values_list("pk", flat=True))


# --- Submit a project (and its live field check) -------------------------------------------

SUBMIT_URL = "/projects/python-generators/submit/"
VALIDATE_URL = "/projects/python-generators/submit/validate/"
SHA_RE = re.compile(r"[0-9a-f]{40}")

NAME_PART = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,19}", fullmatch=True)
REPO_URL = st.builds(
    lambda host, owner, repo, end: f"https://{host}/{owner}/{repo}{end}",
    st.sampled_from(sorted(django_settings.REPOSITORY_HOSTS)),
    NAME_PART,
    NAME_PART,
    st.sampled_from(["", "/", ".git"]),
)
SHA = st.one_of(
    st.just(""),
    st.text("0123456789abcdef", min_size=40, max_size=40),
    st.text("0123456789ABCDEF", min_size=40, max_size=40).map(lambda sha: f"  {sha} "),
)


# Text a person may write: anything but NUL, within a limit (and the limit itself).
def prose(max_length: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60),
        st.just("é" * max_length),
        st.just("😀" * (max_length - 2) + "  "),
    )


# Display names are one plain line (core.accounts.models.validate_display_name).
NAME_REFUSED_CATEGORIES = ("Cc", "Zl", "Zp")


def name_prose(max_length: int) -> st.SearchStrategy[str]:
    """Names people really have: any script, emoji, joiners; never control characters."""
    return st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=NAME_REFUSED_CATEGORIES)),
        st.just("é" * max_length),
        st.just("😀" * (max_length - 2) + "  "),
    )


def name_ok(value: str | None) -> bool:
    """Whether the display name field accepts ``value``."""
    text = (value or "").strip()
    return text_ok(value, max_length=DISPLAY_NAME_MAX) and not any(
        unicodedata.category(char) in NAME_REFUSED_CATEGORIES for char in text
    )


ATTACHMENT_NAME = st.text(
    st.characters(codec="utf-8", exclude_characters='"\r\n/\\'), max_size=30
).flatmap(
    lambda stem: st.sampled_from([".png", ".pdf", ".txt", ".md", ".exe", ".PNG", ""]).map(
        lambda suffix: stem + suffix
    )
)
ATTACHMENT_BODY = st.one_of(
    st.sampled_from([PNG_BYTES, PDF_BYTES, EXE_BYTES, b"", b"Hello **world**\n", b"\xff\xfe"]),
    st.binary(max_size=64),
)


VALID_ATTACHMENTS = [
    [],
    [("screen shot.png", PNG_BYTES)],
    [("design.pdf", PDF_BYTES), ("notes.md", b"# Notes\n\nDone.\n")],
]


@dataclass(frozen=True)
class SubmitCase:
    data: Data
    files: list[tuple[str, bytes]]
    valid: bool


@st.composite
def submit_cases(draw: Callable[..., Any], own: list[int], foreign: int) -> SubmitCase:
    valid: Data = {
        "repo_url": draw(REPO_URL),
        "commit_sha": draw(SHA),
        "tasks": [str(pk) for pk in draw(st.lists(st.sampled_from(own), unique=True))],
        "notes": draw(prose(NOTES_MAX_CHARS)),
        "submit_token": str(draw(st.uuids())),
    }
    if draw(st.booleans()):
        return SubmitCase(valid | noise(draw), draw(st.sampled_from(VALID_ATTACHMENTS)), valid=True)
    data = hostile(valid, list(valid), draw)
    if draw(st.booleans()):  # someone else's task, or ids that name nothing
        ids = st.sampled_from([*own, foreign, 0, -1, 2**63, 2**70]).map(str)
        data["tasks"] = draw(st.lists(ids | SCALAR, min_size=1, max_size=3))
    files = draw(st.lists(st.tuples(ATTACHMENT_NAME, ATTACHMENT_BODY), max_size=2))
    return SubmitCase(data, files, valid=False)


def submit_must_refuse(data: Data, own: list[int]) -> bool:
    """Inputs the submit form must refuse, whatever else was posted."""
    notes, sha, token = (
        seen(data.get("notes")),
        seen(data.get("commit_sha")),
        seen(data.get("submit_token")),
    )
    own_ids = {str(pk) for pk in own}
    return (
        not text_ok(notes, max_length=NOTES_MAX_CHARS)
        or "\x00" in (sha or "")
        or "\x00" in (seen(data.get("repo_url")) or "")
        or not (seen(data.get("repo_url")) or "").strip()
        or not (token or "").strip()
        or any(value not in own_ids for value in seen_list(data.get("tasks")))
    )


def post_submit(client: Client, case: SubmitCase) -> HttpResponse:
    if not case.files:
        return post(client, SUBMIT_URL, case.data)
    # Files need multipart, which carries text only: bytes arrive as the browser would send
    # them after replacing what is not UTF-8.
    data: dict[str, Any] = {
        name: [seen(item) for item in value] if isinstance(value, list) else seen(value)
        for name, value in case.data.items()
    }
    data["attachments"] = [SimpleUploadedFile(name or "x", body) for name, body in case.files]
    forget_messages(client)
    response = client.post(SUBMIT_URL, data)
    assert response.status_code < 500
    return response


@FUZZ
@given(data=st.data())
def test_the_submit_form_survives_fuzzing(
    learner_client: Client, learner: User, project: Project, foreign_task: Task, data: st.DataObject
) -> None:
    own = task_ids(project)
    case = data.draw(submit_cases(own, foreign_task.pk))
    refuse = submit_must_refuse(case.data, own)
    assert not (case.valid and refuse)
    with isolated():
        before = Iteration.objects.count()
        response = post_submit(learner_client, case)
        if response.status_code == 302:
            event("submitted")
            assert not refuse, case
            iteration = Iteration.objects.get(attempt__learner=learner, status="waiting")
            assert response["Location"] == f"/attempts/{iteration.attempt_id}/"
            assert Iteration.objects.count() == before + 1
            validate_repository_url(iteration.repo_url)
            assert iteration.commit_sha == "" or SHA_RE.fullmatch(iteration.commit_sha)
            assert "\x00" not in iteration.notes and len(iteration.notes) <= NOTES_MAX_CHARS
            assert set(iteration.tasks_claimed.values_list("pk", flat=True)) <= set(own)
            for attachment in Attachment.objects.filter(iteration=iteration):
                assert attachment.original_name.isprintable()
                assert len(attachment.original_name) <= MAX_NAME_CHARS
            if case.valid:
                names = Attachment.objects.filter(iteration=iteration).values_list(
                    "original_name", flat=True
                )
                assert sorted(names) == sorted(name for name, _ in case.files)
                posted = case.data
                assert str(iteration.submit_token) == posted["submit_token"]
                assert iteration.repo_url == posted["repo_url"]
                assert iteration.commit_sha == str(posted["commit_sha"]).strip().lower()
                assert iteration.notes == str(posted["notes"]).strip()
                assert sorted(iteration.tasks_claimed.values_list("pk", flat=True)) == sorted(
                    int(pk) for pk in posted["tasks"]
                )
        else:
            event("refused")
            assert not case.valid, (response.status_code, case)
            assert form_errors(response), case
            assert Iteration.objects.count() == before


@st.composite
def live_checks(draw: Callable[..., Any]) -> tuple[str, Scalar, bool]:
    """(field name, value, whether the value is valid) for the live field check."""
    name = draw(st.one_of(st.sampled_from(["repo_url", "commit_sha"]), st.text(max_size=12)))
    if name == "repo_url" and draw(st.booleans()):
        return name, draw(REPO_URL), True
    if name == "commit_sha" and draw(st.booleans()):
        return name, draw(SHA.filter(bool)), True
    return name, draw(SCALAR), False


@FUZZ
@given(check=live_checks())
def test_the_live_field_check_survives_fuzzing(
    learner_client: Client, project: Project, check: tuple[str, Scalar, bool]
) -> None:
    name, value, valid = check
    # Header values travel as latin-1 (a browser percent-encodes anything else).
    header = name.encode("utf-8", "replace").decode("latin-1")
    with isolated():
        response = post(
            learner_client,
            VALIDATE_URL,
            {name: value},
            **{"HX-Request": "true", "HX-Trigger-Name": header},
        )
    event("valid" if valid else "unknown field" if response.status_code == 400 else "checked")
    if name not in ("repo_url", "commit_sha"):
        assert response.status_code == 400  # "Name a field the submit form checks as you type."
        return
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<div id="submit-field-{name}"')
    if valid:
        assert "is-valid" in body and "is-invalid" not in body, value
    elif "\x00" in (seen(value) or ""):
        assert "is-invalid" in body, value


# --- Review forms: the mentor's review page and the peer review page -----------------------

PASSED_CHOICES = ["pass", "fail"]
CONFIDENCES = ["1", "2", "3", "4", "5"]


@st.composite
def review_cases(draw: Callable[..., Any], tasks: list[int], *, peer: bool) -> tuple[Data, bool]:
    """A verdict form post: (data, generated valid). Valid drafts need nothing."""
    submitting = draw(st.booleans())
    valid: Data = {
        "action": "submit" if submitting else "draft",
        "feedback": draw(prose(MAX_FEEDBACK_CHARS)),
        "decision": draw(
            st.sampled_from(Review.Decision.values if submitting else ["", *Review.Decision.values])
        ),
    }
    for pk in tasks:
        choices = PASSED_CHOICES if submitting else ["", *PASSED_CHOICES]
        valid[f"task_{pk}_passed"] = draw(st.sampled_from(choices))
        valid[f"task_{pk}_comment"] = draw(prose(MAX_VERDICT_COMMENT_CHARS))
    if peer:
        valid["confidence"] = draw(
            st.sampled_from(CONFIDENCES if submitting else ["", *CONFIDENCES])
        )
    if draw(st.booleans()):
        return valid | noise(draw), True
    data = hostile(valid, list(valid), draw)
    if draw(st.booleans()):  # verdicts on someone else's task and on no task at all
        for pk in draw(st.lists(st.sampled_from([0, -1, 2**63, 10**30]), max_size=2)):
            data[f"task_{pk}_passed"] = draw(st.sampled_from(PASSED_CHOICES))
    return data, False


def review_must_refuse(data: Data, tasks: list[int], *, peer: bool) -> bool:
    """Exactly what ReviewForm refuses (the view shows the form again for these)."""
    submitting = seen(data.get("action")) == "submit"
    decision = seen(data.get("decision")) or ""
    if not text_ok(seen(data.get("feedback")), max_length=MAX_FEEDBACK_CHARS):
        return True
    if decision not in ("", *Review.Decision.values) or (submitting and not decision):
        return True
    for pk in tasks:
        passed = seen(data.get(f"task_{pk}_passed")) or ""
        if passed not in ("", *PASSED_CHOICES) or (submitting and not passed):
            return True
        comment = seen(data.get(f"task_{pk}_comment"))
        if not text_ok(comment, max_length=MAX_VERDICT_COMMENT_CHARS):
            return True
    if peer:
        confidence = seen(data.get("confidence")) or ""
        if confidence not in ("", *CONFIDENCES) or (submitting and not confidence):
            return True
    return False


def assert_review_stored(review: Review, data: Data, tasks: list[int], *, peer: bool) -> None:
    """The review holds what was posted (cleaned as the form cleans it)."""
    assert review.feedback == (seen(data.get("feedback")) or "").strip()
    if peer:
        confidence = seen(data.get("confidence")) or ""
        assert review.confidence == (int(confidence) if confidence else None)
    verdicts = {verdict.task_id: verdict for verdict in review.verdicts.all()}
    assert set(verdicts) == set(tasks)
    for pk in tasks:
        passed = seen(data.get(f"task_{pk}_passed")) or ""
        assert verdicts[pk].passed == {"pass": True, "fail": False, "": None}[passed]
        assert verdicts[pk].comment == (seen(data.get(f"task_{pk}_comment")) or "").strip()
    if seen(data.get("action")) == "submit":
        assert review.submitted_at is not None
        assert review.decision == seen(data.get("decision"))
    else:
        assert review.submitted_at is None


@pytest.fixture
def claimed(waiting: Iteration, mentor: User) -> Iteration:
    """The learner's waiting iteration, claimed by the mentor."""
    claim_take(iteration=waiting, reviewer=mentor)
    return waiting


@FUZZ
@given(data=st.data())
def test_the_mentor_review_form_survives_fuzzing(
    mentor_client: Client,
    mentor: User,
    claimed: Iteration,
    foreign_iteration: Iteration,
    data: st.DataObject,
) -> None:
    tasks = task_ids(claimed.attempt.release.project)
    whose, pk = data.draw(pk_in_url(claimed.pk, foreign_iteration.pk))
    posted, valid = data.draw(review_cases(tasks, peer=False))
    refuse = review_must_refuse(posted, tasks, peer=False)
    assert not (valid and refuse)
    with isolated():
        response = post(mentor_client, f"/review/{pk}/", posted)
        if whose != "own":  # another cohort's iteration, or none at all
            assert response.status_code == 404
            event("not theirs: 404")
            assert not Review.objects.exists()
            return
        if refuse:
            event("refused")
            assert form_errors(response), posted
            assert not Review.objects.exists()
            return
        review = Review.objects.get(iteration=claimed, reviewer=mentor)
        assert_review_stored(review, posted, tasks, peer=False)
        event("draft saved" if review.is_draft else "submitted")
        if review.is_draft:
            assert response["Location"] == f"/review/{claimed.pk}/"
        else:
            assert response["Location"] == "/review/"
            claimed.refresh_from_db()
            assert claimed.status == Iteration.Status.REVIEWED


@pytest.fixture
def assignment(waiting: Iteration, reviewer: User, project: Project) -> PeerAssignment:
    """Rex's live peer assignment on the learner's waiting iteration."""
    peer_policy(project, required=2)
    return assign(waiting, reviewer)


@pytest.fixture
def foreign_assignment(
    waiting: Iteration, cohort: Cohort, release: ProjectRelease, assignment: PeerAssignment
) -> PeerAssignment:
    """Another peer's assignment on the same iteration."""
    return assign(waiting, classmate(cohort, release, "Bob Peer"))


@FUZZ
@given(data=st.data())
def test_the_peer_review_form_survives_fuzzing(
    reviewer_client: Client,
    reviewer: User,
    assignment: PeerAssignment,
    foreign_assignment: PeerAssignment,
    data: st.DataObject,
) -> None:
    iteration = assignment.iteration
    tasks = task_ids(iteration.attempt.release.project)
    whose, pk = data.draw(pk_in_url(assignment.pk, foreign_assignment.pk))
    posted, valid = data.draw(review_cases(tasks, peer=True))
    refuse = review_must_refuse(posted, tasks, peer=True)
    assert not (valid and refuse)
    with isolated():
        response = post(reviewer_client, f"/peer-review/{pk}/", posted)
        if whose != "own":
            assert response.status_code == 404
            event("not theirs: 404")
            assert not Review.objects.exists()
            return
        if refuse:
            event("refused")
            assert form_errors(response), posted
            assert not Review.objects.exists()
            return
        review = Review.objects.get(iteration=iteration, reviewer=reviewer, kind=Review.Kind.PEER)
        assert_review_stored(review, posted, tasks, peer=True)
        event("draft saved" if review.is_draft else "submitted")
        if review.is_draft:
            assert response["Location"] == f"/peer-review/{assignment.pk}/"
        else:
            assert response["Location"] == "/peer-review/"
            assignment.refresh_from_db()
            assert assignment.completed_at == review.submitted_at


# --- The discussion thread on an attempt ----------------------------------------------------


@st.composite
def comment_cases(draw: Callable[..., Any]) -> tuple[Data, bool]:
    valid: Data = {"body": draw(prose(MARKDOWN_MAX_CHARS).filter(str.strip))}
    if draw(st.booleans()):
        valid["after"] = str(draw(st.integers(min_value=0, max_value=10)))
    if draw(st.booleans()):
        return valid | noise(draw), True
    return hostile(valid, ["body", "after"], draw), False


@FUZZ
@given(data=st.data(), htmx=st.booleans())
def test_the_comment_form_survives_fuzzing(
    learner_client: Client,
    learner: User,
    waiting: Iteration,
    foreign_iteration: Iteration,
    data: st.DataObject,
    htmx: bool,
) -> None:
    attempt = waiting.attempt
    whose, pk = data.draw(pk_in_url(attempt.pk, foreign_iteration.attempt_id))
    posted, valid = data.draw(comment_cases())
    body = seen(posted.get("body"))
    accept = text_ok(body, max_length=MARKDOWN_MAX_CHARS, required=True)
    assert accept or not valid
    with isolated():
        response = post(learner_client, f"/attempts/{pk}/comments/", posted, **htmx_headers(htmx))
        if whose != "own":
            assert response.status_code == 404
            event("not theirs: 404")
            assert not Comment.objects.exists()
            return
        if not accept:
            event("refused")
            assert "body" in form_errors(response), posted
            assert not Comment.objects.exists()
            if htmx:  # the form comes back in place, not as a new message
                assert response["HX-Retarget"] == "#comment-form"
            return
        event("posted")
        comment = Comment.objects.get()
        assert (comment.attempt, comment.author, comment.body) == (attempt, learner, body.strip())
        if htmx:
            assert response.status_code == 200 and "HX-Retarget" not in response
            assert f'id="comment-{comment.pk}"' in response.content.decode()
        else:
            assert response["Location"] == f"/attempts/{attempt.pk}/#comment-{comment.pk}"


# --- Rating and reporting a peer review (the reviewed learner) -----------------------------


@pytest.fixture
def bobs_review(
    waiting: Iteration, cohort: Cohort, release: ProjectRelease, project: Project
) -> Review:
    """Bob's submitted peer review of the learner's iteration."""
    peer_policy(project, required=2)
    return peer_review(waiting, classmate(cohort, release, "Bob Peer"))


@pytest.fixture
def foreign_review(foreign_iteration: Iteration) -> Review:
    """A peer review of another learner's work (another cohort)."""
    return peer_review(foreign_iteration, UserFactory(display_name="Somebody Else"))


def assert_refused_with_message(response: HttpResponse, review: Review) -> None:
    """Without HTMX a refusal goes back to the review on the attempt page, with an error."""
    assert response.status_code == 302
    assert response["Location"] == f"/attempts/{review.iteration.attempt_id}/#review-{review.pk}"
    assert [level for level, _ in messages_of(response)] == [message_levels.ERROR]


@FUZZ
@given(data=st.data(), htmx=st.booleans())
def test_the_review_rating_form_survives_fuzzing(
    learner_client: Client,
    learner: User,
    bobs_review: Review,
    foreign_review: Review,
    data: st.DataObject,
    htmx: bool,
) -> None:
    whose, pk = data.draw(pk_in_url(bobs_review.pk, foreign_review.pk))
    if data.draw(st.booleans()):
        posted: Data = {"helpful": data.draw(st.sampled_from(["yes", "no"]))} | noise(data.draw)
    else:
        posted = hostile({"helpful": "yes"}, ["helpful"], data.draw)
    helpful = seen(posted.get("helpful"))
    with isolated():
        response = post(learner_client, f"/reviews/{pk}/rate/", posted, **htmx_headers(htmx))
        if whose != "own":
            assert response.status_code == 404
            event("not theirs: 404")
            assert not ReviewRating.objects.exists()
            return
        if helpful not in ("yes", "no"):
            event("refused")
            assert not ReviewRating.objects.exists()
            if htmx:
                assert "helpful" in form_errors(response, "rating_form")
            else:
                assert_refused_with_message(response, bobs_review)
            return
        event("rated")
        rating = ReviewRating.objects.get()
        assert (rating.review, rating.rated_by, rating.helpful) == (
            bobs_review,
            learner,
            helpful == "yes",
        )
        assert response.status_code == (200 if htmx else 302)


@FUZZ
@given(data=st.data(), htmx=st.booleans())
def test_the_review_report_form_survives_fuzzing(
    learner_client: Client,
    learner: User,
    bobs_review: Review,
    foreign_review: Review,
    data: st.DataObject,
    htmx: bool,
) -> None:
    whose, pk = data.draw(pk_in_url(bobs_review.pk, foreign_review.pk))
    if data.draw(st.booleans()):
        posted: Data = {"reason": data.draw(prose(MAX_REPORT_CHARS).filter(str.strip))}
    else:
        posted = hostile({"reason": "Insulting."}, ["reason"], data.draw)
    reason = seen(posted.get("reason"))
    with isolated():
        response = post(learner_client, f"/reviews/{pk}/report/", posted, **htmx_headers(htmx))
        if whose != "own":
            assert response.status_code == 404
            event("not theirs: 404")
            assert not ReviewReport.objects.exists()
            return
        if not text_ok(reason, max_length=MAX_REPORT_CHARS, required=True):
            event("refused")
            assert not ReviewReport.objects.exists()
            if htmx:
                assert "reason" in form_errors(response, "report_form")
            else:
                assert_refused_with_message(response, bobs_review)
            return
        event("reported")
        report = ReviewReport.objects.get()
        assert (report.review, report.reporter, report.reason) == (
            bobs_review,
            learner,
            reason.strip(),
        )
        assert response.status_code == (200 if htmx else 302)


# --- Settings: the profile and the email preferences ---------------------------------------


@FUZZ
@given(data=st.data())
def test_the_profile_form_survives_fuzzing(
    learner_client: Client, learner: User, data: st.DataObject
) -> None:
    if data.draw(st.booleans()):
        posted: Data = {"display_name": data.draw(name_prose(DISPLAY_NAME_MAX))}
    else:
        posted = hostile({"display_name": "Alice"}, ["display_name"], data.draw)
    name = seen(posted.get("display_name"))
    with isolated():
        response = post(learner_client, "/settings/", posted)
        learner.refresh_from_db()
        if not name_ok(name):
            event("refused")
            assert "display_name" in form_errors(response), posted
            assert learner.display_name == "Alice Learner"
        else:
            event("saved")
            assert response["Location"] == "/settings/"
            assert learner.display_name == (name or "").strip()
        # Nothing else about the account is settable here.
        assert (learner.email, learner.is_staff, learner.is_superuser) == (
            "alice@example.com",
            False,
            False,
        )


KINDS = [kind.value for kind in Notification.Kind]


def checkbox_checked(value: Value | None) -> bool:
    """How a checkbox reads a posted value: absent, "" and "false" (any case) are unticked."""
    text = seen(value)
    return text is not None and text.lower() != "false" and text != ""


@FUZZ
@given(
    posted=st.dictionaries(
        st.sampled_from([f"email_{kind}" for kind in KINDS]),
        st.one_of(st.just("on"), VALUE),
    )
)
def test_the_notification_settings_form_survives_fuzzing(
    learner_client: Client, learner: User, posted: Data
) -> None:
    with isolated():
        response = post(learner_client, "/settings/notifications/", posted)
        # Every value is an answer to "email me?": the form always saves.
        assert response["Location"] == "/settings/notifications/"
        event(f"{sum(checkbox_checked(value) for value in posted.values())} ticked")
        saved = dict(EmailPreference.objects.filter(user=learner).values_list("kind", "enabled"))
        assert saved == {kind: checkbox_checked(posted.get(f"email_{kind}")) for kind in KINDS}


# --- Joining a cohort with a code ----------------------------------------------------------


@st.composite
def join_code_posts(draw: Callable[..., Any], code: str) -> Data:
    """The code as people type it (any case, dashes or spaces or neither, O for 0), one
    character short or changed, or anything at all."""
    kind = draw(st.sampled_from(["typed", "typed", "near miss", "hostile"]))
    if kind == "hostile":
        return hostile({"code": code}, ["code"], draw)
    raw = code.replace("-", "")
    separator = draw(st.sampled_from(["-", " ", "", " - "]))
    typed = separator.join(raw[i : i + 5] for i in range(0, len(raw), 5))
    typed = draw(st.sampled_from([typed, typed.lower(), typed.replace("0", "O")]))
    if kind == "near miss":
        where = draw(st.integers(min_value=0, max_value=len(typed) - 1))
        typed = typed[:where] + draw(st.sampled_from(["", "U", "7", "#"])) + typed[where + 1 :]
    return {"code": typed} | noise(draw)


@FUZZ
@given(data=st.data(), htmx=st.booleans())
def test_the_join_code_form_survives_fuzzing(
    outsider_client: Client, outsider: User, cohort: Cohort, data: st.DataObject, htmx: bool
) -> None:
    new = join_code_create(cohort=cohort, max_uses=5)
    posted = data.draw(join_code_posts(new.code))
    typed = seen(posted.get("code"))
    joins = text_ok(typed, max_length=64, required=True) and code_normalized(
        (typed or "").strip()
    ) == code_normalized(new.code)
    with isolated():
        response = post(outsider_client, "/join/", posted, **htmx_headers(htmx))
        membership = Membership.objects.filter(user=outsider).first()
        if not joins:
            event("refused")
            assert "code" in form_errors(response), posted
            assert membership is None
            return
        event("joined")
        assert membership is not None
        assert (membership.cohort, membership.role) == (cohort, "learner")
        expected = "/curriculum/?cohort=cohort-7"
        if htmx:
            assert response["HX-Redirect"] == expected
        else:
            assert response["Location"] == expected


# --- The review queue's filters (a GET form) -----------------------------------------------


@pytest.fixture
def two_queues(
    mentor: User, waiting: Iteration, foreign_iteration: Iteration
) -> dict[int, tuple[str, str]]:
    """The mentor also mentors cohort-8: each cohort has one waiting iteration."""
    MembershipFactory(user=mentor, cohort=foreign_iteration.attempt.release.cohort, role="mentor")
    return {
        waiting.pk: ("cohort-7", "python-generators"),
        foreign_iteration.pk: ("cohort-8", "other-project"),
    }


@st.composite
def queue_params(draw: Callable[..., Any]) -> Data:
    """The queue's query string: each filter absent, a real slug, a near miss or hostile."""
    slugs = {
        "cohort": ["cohort-7", "cohort-8"],
        "project": ["python-generators", "other-project"],
        "page": ["1", "2"],
    }
    near_misses = ["cohort-9", "Cohort-7", "cohort-7 ", "python-generators/", "0", "-1"]
    params: Data = {}
    for name, real in slugs.items():
        kind = draw(st.sampled_from(["absent", "real", "real", "near miss", "hostile"]))
        if kind == "real":
            params[name] = draw(st.sampled_from(real))
        elif kind == "near miss":
            params[name] = draw(st.sampled_from(near_misses))
        elif kind == "hostile":
            params[name] = draw(VALUE)
    return params


@FUZZ
@given(params=queue_params(), htmx=st.booleans())
def test_the_queue_filters_survive_fuzzing(
    mentor_client: Client, two_queues: dict[int, tuple[str, str]], params: Data, htmx: bool
) -> None:
    asked = {name: seen(params.get(name)) or "" for name in ("cohort", "project")}
    known = {"cohort": {"cohort-7", "cohort-8"}, "project": {"python-generators", "other-project"}}
    chosen = {name: value for name, value in asked.items() if value in known[name]}
    expected = {
        pk
        for pk, (cohort, project) in two_queues.items()
        if chosen.get("cohort", cohort) == cohort and chosen.get("project", project) == project
    }
    with isolated():
        response = mentor_client.get(f"/review/?{urlencoded(params)}", headers=htmx_headers(htmx))
    assert response.status_code == 200
    # An unknown filter is ignored (and marked on the form), never an error page.
    event(f"{len(chosen)} filters, {len(expected)} rows")
    body = response.content.decode()
    assert ("(filtered)" in body) == bool(chosen)
    assert {int(pk) for pk in re.findall(r'data-iteration="(\d+)"', body)} == expected
    if not htmx:  # the whole page, with the filter form
        refused = {name for name, value in asked.items() if value and name not in chosen}
        assert set(response.context["filter_form"].errors) == refused


# --- Markdown preview ----------------------------------------------------------------------


# A URL's scheme as a browser reads it (it ignores ASCII whitespace and controls).
URL_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
SAFE_SCHEMES = {"http", "https", "mailto"}


class ActiveContentFinder(HTMLParser):
    """Collects what sanitized Markdown must never contain: scripts, handlers, js: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "iframe", "object", "embed", "form", "img", "svg"}:
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag} {name}")
            scheme = URL_SCHEME.match(re.sub(r"[\x00-\x20]", "", value or ""))
            if name in {"href", "src"} and scheme and scheme[1].lower() not in SAFE_SCHEMES:
                self.found.append(f"{tag} {name}={value}")

    handle_startendtag = handle_starttag


def active_content(html: str) -> list[str]:
    finder = ActiveContentFinder()
    finder.feed(html)
    finder.close()
    return finder.found


MARKDOWN_FIELDS = ["notes", "feedback", "body", "reason", "field", "csrfmiddlewaretoken"]


@st.composite
def preview_cases(draw: Callable[..., Any]) -> tuple[Data, str]:
    """(posted data, the valid word it bolds, or '' for hostile posts)."""
    if draw(st.booleans()):
        word = draw(st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True))
        name = draw(st.sampled_from(MARKDOWN_FIELDS[:4]))
        return {"field": name, name: f"Some **{word}** text."}, word
    name = draw(st.one_of(st.sampled_from(MARKDOWN_FIELDS), SCALAR))
    data: Data = {"field": name}
    source = draw(
        st.one_of(
            prose(MARKDOWN_MAX_CHARS),
            st.sampled_from(["a", "😀\n"]).map(lambda unit: unit * (MARKDOWN_MAX_CHARS + 1)),
            VALUE,
            st.sampled_from(NASTY_TEXT).map(
                lambda text: f"**{text}** [link]({text}) <b>{text}</b>"
            ),
        )
    )
    key = seen(name) or ""
    if key and key != "field":
        data[key] = source
    return data, ""


@FUZZ
@given(case=preview_cases())
def test_the_markdown_preview_survives_fuzzing(
    learner_client: Client, case: tuple[Data, str]
) -> None:
    posted, word = case
    name = seen(posted["field"]) or ""
    expected = "" if name == "csrfmiddlewaretoken" else seen(posted.get(name)) or "" if name else ""
    with isolated():
        response = post(learner_client, "/preview/markdown/", posted)
    assert response.status_code == 200
    assert response.context["source"] == expected[:MARKDOWN_MAX_CHARS]
    assert response.context["too_long"] == (len(expected) > MARKDOWN_MAX_CHARS)
    body = response.content.decode()
    assert active_content(body) == [], body
    event("too long" if response.context["too_long"] else "rendered" if expected else "empty")
    if word:
        assert f"<strong>{word}</strong>" in body


# --- Sign-up and sign-in (django-allauth) --------------------------------------------------

# Passwords without lowercase letters cannot resemble the (lowercase) email addresses.
NEW_PASSWORD = st.from_regex(r"[A-Z0-9#%&*!]{10,24}", fullmatch=True).map(lambda tail: f"Q#{tail}")
NEW_EMAIL = st.from_regex(r"[a-z]{3,12}[0-9]{0,3}", fullmatch=True).map(
    lambda local: f"{local}@example.org"
)


@st.composite
def signup_cases(draw: Callable[..., Any]) -> tuple[Data, bool]:
    password = draw(NEW_PASSWORD)
    valid: Data = {
        "email": draw(NEW_EMAIL),
        "password1": password,
        "password2": password,
        "display_name": draw(name_prose(DISPLAY_NAME_MAX)),
    }
    kind = draw(st.sampled_from(["valid", "valid", "taken", "hostile", "hostile"]))
    if kind == "valid":
        return valid, True
    if kind == "taken":  # someone else's address, as anyone may type it
        taken = st.sampled_from(["alice@example.com", "ALICE@example.com", " mia@example.com "])
        return valid | {"email": draw(taken)}, False
    return hostile(valid, list(valid), draw), False


def signup_must_refuse(data: Data) -> bool:
    values = {
        name: seen(data.get(name)) for name in ("email", "password1", "password2", "display_name")
    }
    return (
        any("\x00" in (value or "") for value in values.values())
        or not (values["email"] or "").strip()
        or not values["password1"]
        or values["password1"] != values["password2"]
        or not name_ok(values["display_name"])
    )


@FUZZ
@given(case=signup_cases())
def test_the_sign_up_form_survives_fuzzing(
    client: Client, learner: User, case: tuple[Data, bool]
) -> None:
    posted, valid = case
    refuse = signup_must_refuse(posted)
    assert not (valid and refuse)
    email = (seen(posted.get("email")) or "").strip()
    with isolated():
        users = User.objects.count()
        # (PostgreSQL refuses NUL even in a query; such an address is refused anyway.)
        in_use = "\x00" not in email and EmailAddress.objects.filter(email__iexact=email).exists()
        client.cookies.clear()  # a visitor with no session
        response = post(client, "/accounts/signup/", posted)
        if response.status_code != 302:
            event("refused")
            assert not valid, posted
            assert form_errors(response), posted
            assert User.objects.count() == users
            return
        assert not refuse, posted
        if in_use:
            # With mandatory verification (production) allauth answers as for a new
            # account, so nobody learns who has one, and creates nothing. (The test
            # settings make verification optional: the form says the address is taken.)
            event("address in use")
            assert User.objects.count() == users
            return
        event("signed up")
        user = User.objects.get(email__iexact=email)
        assert User.objects.count() == users + 1
        assert user.display_name == (seen(posted.get("display_name")) or "").strip()
        assert user.check_password(seen(posted["password1"]))
        assert not user.is_staff and not user.is_superuser
        if valid:
            assert user.email == posted["email"]


LOGIN = "alice@example.com"


@st.composite
def signin_cases(draw: Callable[..., Any]) -> tuple[Data, bool]:
    # The address in any letter case, with spaces around it.
    cases = draw(st.lists(st.booleans(), min_size=len(LOGIN), max_size=len(LOGIN)))
    login = "".join(
        char.upper() if upper else char for char, upper in zip(LOGIN, cases, strict=True)
    )
    padding = st.text(" \t", max_size=2)
    valid: Data = {"login": draw(padding) + login + draw(padding), "password": PASSWORD}
    if draw(st.booleans()):
        valid["remember"] = draw(st.sampled_from(["on", "true", "1"]))
    if draw(st.booleans()):
        return valid | noise(draw), True
    data = hostile(valid, ["login", "password", "remember"], draw)
    if draw(st.booleans()):  # someone else's account, with the learner's password
        data["login"] = draw(
            st.sampled_from(["mia@example.com", "charlie@example.com", "nobody@example.com"])
        )
    return data, False


@FUZZ
@given(case=signin_cases())
def test_the_sign_in_form_survives_fuzzing(
    client: Client, learner: User, case: tuple[Data, bool]
) -> None:
    posted, valid = case
    login, password = seen(posted.get("login")) or "", seen(posted.get("password"))
    may_succeed = login.strip().lower() == LOGIN and password == PASSWORD
    assert may_succeed or not valid
    with isolated():
        client.cookies.clear()  # a visitor with no session
        response = post(client, "/accounts/login/", posted)
        event("signed in" if may_succeed else "refused")
        if may_succeed:
            assert response["Location"] == "/dashboard/"
            assert client.session["_auth_user_id"] == str(learner.pk)
        else:
            assert form_errors(response), posted
            assert "_auth_user_id" not in client.session


# --- Admin actions with an intermediate form (core/cohorts/admin.py) -----------------------

COHORTS_URL = "/admin/core/cohort/"
# The calendar's edges (year 1 at midnight cannot be turned into UTC), and dates that
# do not exist.
DATE_TEXT = st.one_of(
    st.sampled_from(
        [
            "0001-01-01",
            "9999-12-31",
            "1999-12-31",
            "2100-12-31",
            "2101-01-01",
            "2026-02-30",
            "99999-01-01",
            "2026-13-01",
            "1/2/2026",
            "2026-W01",
            "١٠-١٠-٢٠٢٦",
        ]
    ),
    st.dates().map(lambda day: day.isoformat()),
)
TIME_TEXT = st.one_of(
    st.sampled_from(["00:00", "23:59", "24:00", "23:59:60", "25:00", "-1:00", "12:00 PM"]),
    st.times().map(lambda moment: moment.isoformat()),
)
MULTIPLIER = st.decimals(min_value=0, max_value=1, places=2).map(str)
RELEASE_FIELDS = [
    "project",
    *(
        f"{name}_{part}"
        for name in ("opens_at", "first_deadline", "second_deadline")
        for part in (0, 1)
    ),
    "first_multiplier",
    "second_multiplier",
    "late_multiplier",
]


def split(name: str, moment: datetime) -> Data:
    return {f"{name}_0": moment.date().isoformat(), f"{name}_1": moment.strftime("%H:%M")}


@st.composite
def release_cases(draw: Callable[..., Any], spare: int, taken: list[int]) -> tuple[Data, bool]:
    opens = datetime.combine(
        date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 700))),
        time(draw(st.integers(0, 23)), draw(st.integers(0, 59))),
    )
    first = opens + timedelta(minutes=draw(st.integers(1, 60 * 24 * 60)))
    second = first + timedelta(minutes=draw(st.integers(0, 60 * 24 * 60)))
    valid: Data = {
        "project": str(spare),
        **split("opens_at", opens),
        **split("first_deadline", first),
        **split("second_deadline", second),
        "first_multiplier": draw(MULTIPLIER),
        "second_multiplier": draw(MULTIPLIER),
        "late_multiplier": draw(MULTIPLIER),
    }
    if draw(st.booleans()):
        return valid | noise(draw), True
    data = dict(valid)
    for name in draw(st.sets(st.sampled_from(RELEASE_FIELDS), min_size=1)):
        extreme = (
            DATE_TEXT if name.endswith("_0") else TIME_TEXT if name.endswith("_1") else st.nothing()
        )
        ids = (
            st.sampled_from([*taken, 0, -1, 2**63, 2**70]).map(str)
            if name == "project"
            else st.nothing()
        )
        data[name] = draw(st.one_of(VALUE, extreme, ids))
    return data, False


def release_must_refuse(data: Data, spare: int) -> bool:
    """Inputs the release form must refuse: another project, NUL, a date outside the
    calendar's years, a multiplier out of 0–1."""
    project = (seen(data.get("project")) or "").strip()
    if not (re.fullmatch(r"[0-9]{1,30}", project) and int(project) == spare):
        return True
    if any("\x00" in (seen(data.get(name)) or "") for name in RELEASE_FIELDS):
        return True
    for name in ("opens_at_0", "first_deadline_0", "second_deadline_0"):
        try:
            day = date.fromisoformat((seen(data.get(name)) or "").strip())
        except ValueError:
            continue  # Django may read other formats; the fuzz accepts either answer
        if day.year not in CALENDAR_YEARS:
            return True
    for name in ("first_multiplier", "second_multiplier", "late_multiplier"):
        try:
            value = Decimal((seen(data.get(name)) or "").strip())
        except ArithmeticError:
            return True
        if not value.is_finite() or not 0 <= value <= 1:
            return True
    return False


@pytest.fixture
def spare_project(release: ProjectRelease) -> Project:
    """A project of the cohort's program not released to it yet."""
    return ProjectFactory(module=release.project.module, title="Python Iterators")


@pytest.fixture
def foreign_program_project(db: None) -> Project:
    return ProjectFactory(module__program=ProgramFactory(slug="data-science", name="Data Science"))


def action_post(action: str, cohort: Cohort, fields: Data) -> Data:
    return {"action": action, "_selected_action": [str(cohort.pk)], "apply": "1", **fields}


@FUZZ
@given(data=st.data())
def test_the_release_project_action_survives_fuzzing(
    staff_client: Client,
    cohort: Cohort,
    release: ProjectRelease,
    spare_project: Project,
    foreign_program_project: Project,
    data: st.DataObject,
) -> None:
    taken = [release.project_id, foreign_program_project.pk]
    fields, valid = data.draw(release_cases(spare_project.pk, taken))
    refuse = release_must_refuse(fields, spare_project.pk)
    assert not (valid and refuse)
    with isolated():
        response = post(
            staff_client, COHORTS_URL, action_post("release_project_action", cohort, fields)
        )
        created = ProjectRelease.objects.filter(cohort=cohort, project=spare_project).first()
        event("released" if response.status_code == 302 else "refused")
        if response.status_code != 302:
            assert not valid, fields
            assert response.templates[0].name == "admin/core/cohort/action_form.html"
            assert form_errors(response), fields
            assert created is None
            return
        assert not refuse, fields
        assert created is not None
        assert [level for level, _ in messages_of(response)] == [message_levels.SUCCESS]
        assert created.opens_at < created.first_deadline <= created.second_deadline
        dates = (created.opens_at, created.first_deadline, created.second_deadline)
        assert all(moment.astimezone(NAIROBI).year in CALENDAR_YEARS for moment in dates)
        multipliers = (created.first_multiplier, created.second_multiplier, created.late_multiplier)
        assert all(0 <= value <= 1 for value in multipliers)
        if valid:
            for name in ("opens_at", "first_deadline", "second_deadline"):
                typed = datetime.fromisoformat(f"{fields[f'{name}_0']} {fields[f'{name}_1']}")
                assert getattr(created, name) == typed.replace(tzinfo=NAIROBI), name
            assert [str(value) for value in multipliers] == [
                str(Decimal(str(fields[name])).quantize(Decimal("0.01")))
                for name in ("first_multiplier", "second_multiplier", "late_multiplier")
            ]


@FUZZ
@given(data=st.data())
def test_the_shift_deadlines_action_survives_fuzzing(
    staff_client: Client, cohort: Cohort, release: ProjectRelease, data: st.DataObject
) -> None:
    if data.draw(st.booleans()):
        days = data.draw(st.integers(-MAX_SHIFT_DAYS, MAX_SHIFT_DAYS).filter(bool))
        # Openings move too, and closing an open project is confirmed: every shift
        # within the limits is then accepted (the refusals are tested in tests/cohorts/).
        fields: Data = {"days": str(days), "move_openings": "on", "confirm_closing": "on"}
        if data.draw(st.booleans()):
            fields["only_open"] = "on"
        valid = True
    else:
        fields = hostile({"days": "7"}, ["days", "only_open"], data.draw)
        valid = False
    typed = (seen(fields.get("days")) or "").strip()
    plain = re.fullmatch(r"[+-]?[0-9]{1,30}", typed)
    refuse = (
        "\x00" in typed
        or not any(char.isdigit() for char in typed)
        or (plain is not None and not 0 < abs(int(typed)) <= MAX_SHIFT_DAYS)
    )
    assert not (valid and refuse)
    with isolated():
        release.refresh_from_db()  # an earlier example's refresh saw its own (undone) shift
        before = (release.opens_at, release.first_deadline, release.second_deadline)
        response = post(
            staff_client, COHORTS_URL, action_post("shift_deadlines_action", cohort, fields)
        )
        release.refresh_from_db()
        after = (release.opens_at, release.first_deadline, release.second_deadline)
        event("shifted" if response.status_code == 302 else "refused")
        if response.status_code != 302:
            assert not valid, fields
            # A shift due before its opening, or closing an open project, is refused too.
            assert {"days", "confirm_closing"} & set(form_errors(response)), fields
            assert after == before
            return
        assert not refuse, fields
        assert [level for level, _ in messages_of(response)] == [message_levels.SUCCESS]
        if "move_openings" not in fields:
            assert after[0] == before[0]  # deadlines only: the opening stays
            after, before = after[1:], before[1:]
        shifts = {new - old for new, old in zip(after, before, strict=True)}
        assert len(shifts) == 1  # every date moved by the same whole number of days
        (shift,) = shifts
        assert shift.seconds == 0 and shift.microseconds == 0
        assert 0 < abs(shift.days) <= MAX_SHIFT_DAYS
        if valid:
            assert shift.days == int(fields["days"])


@FUZZ
@given(data=st.data())
def test_the_cohort_actions_refuse_a_tampered_selection(
    staff_client: Client, cohort: Cohort, release: ProjectRelease, data: st.DataObject
) -> None:
    """The selection is input too: ids that are not ids are refused, never a crash."""
    ids = st.sampled_from([str(cohort.pk), f"00{cohort.pk}", "999999", str(2**63)])
    selected = data.draw(st.lists(st.one_of(ids, ids, SCALAR), min_size=1, max_size=3))
    posted: Data = {
        "action": "shift_deadlines_action",
        "_selected_action": selected,
        "apply": "1",
        "days": "7",
    }
    typed = [seen(value) or "" for value in selected]
    well_formed = all(re.fullmatch(r"[0-9]{1,19}", value) and int(value) < 2**63 for value in typed)
    with isolated():
        release.refresh_from_db()
        before = release.first_deadline
        response = post(staff_client, COHORTS_URL, posted)
        release.refresh_from_db()
        assert response.status_code == 302
        moved = release.first_deadline != before
        event("moved" if moved else "well formed" if well_formed else "refused")
        assert moved == (well_formed and cohort.pk in {int(value) for value in typed})
        if not well_formed:
            refusal = (message_levels.ERROR, "Select cohorts from the list.")
            assert messages_of(response) == [refusal]


# --- What the fuzzing found, pinned as plain tests -----------------------------------------


def submit_data(**overrides: Value) -> Data:
    data: Data = {
        "repo_url": "https://github.com/alice/prodev-backend-python",
        "commit_sha": "",
        "notes": "Done.",
        "submit_token": str(uuid.uuid4()),
    }
    return data | overrides


@pytest.mark.parametrize("task_id", [str(2**63), str(-(2**63) - 1), "9" * 30])
def test_a_task_id_beyond_the_id_range_is_a_form_error(
    learner_client: Client, project: Project, task_id: str
) -> None:
    # Found by fuzzing: Django's pk__in check crashed (OverflowError on SQLite, a DataError
    # on PostgreSQL) instead of refusing the choice.
    response = post(learner_client, SUBMIT_URL, submit_data(tasks=[task_id]))
    assert "tasks" in form_errors(response)
    assert not Iteration.objects.exists()


@pytest.mark.parametrize(
    "repo_url",
    [
        "[",
        "https://[github.com/alice/repo",
        "https://github.com:99999/a/b",
        "https://github.com:x/a/b",
    ],
)
def test_a_repository_url_that_cannot_be_parsed_is_a_form_error(
    learner_client: Client, project: Project, repo_url: str
) -> None:
    # Found by fuzzing: urlsplit's ValueError ("Invalid IPv6 URL", a bad port) escaped
    # validate_repository_url as a 500.
    response = post(learner_client, SUBMIT_URL, submit_data(repo_url=repo_url))
    assert "repo_url" in form_errors(response)
    response = post(
        learner_client,
        VALIDATE_URL,
        {"repo_url": repo_url},
        **{"HX-Request": "true", "HX-Trigger-Name": "repo_url"},
    )
    assert response.status_code == 200 and "is-invalid" in response.content.decode()


@pytest.mark.parametrize(
    ("day", "moment"), [("0001-01-01", "00:00"), ("9999-12-31", "23:59"), ("2101-01-01", "09:00")]
)
def test_the_release_action_refuses_a_date_outside_the_calendar(
    staff_client: Client, cohort: Cohort, spare_project: Project, day: str, moment: str
) -> None:
    # Found by fuzzing: year 1 at midnight in Nairobi is before year 1 in UTC, and saving
    # it crashed (SQLite) or stored a date no page could read back (PostgreSQL).
    fields = {
        "project": str(spare_project.pk),
        "opens_at_0": day,
        "opens_at_1": moment,
        **split("first_deadline", datetime(2100, 12, 31, 23, 59)),
        **split("second_deadline", datetime(2100, 12, 31, 23, 59)),
        "first_multiplier": "1.00",
        "second_multiplier": "0.65",
        "late_multiplier": "0.50",
    }
    response = post(
        staff_client, COHORTS_URL, action_post("release_project_action", cohort, fields)
    )
    assert form_errors(response)["opens_at"] == ["Pick a date between the years 2000 and 2100."]
    assert not ProjectRelease.objects.filter(project=spare_project).exists()


def test_the_release_admin_refuses_a_date_outside_the_calendar(
    staff_client: Client, release: ProjectRelease
) -> None:
    # The same crash on the release's own admin page (a ModelForm over the same fields).
    before = release.opens_at
    data = {
        "cohort": release.cohort_id,
        "project": release.project_id,
        "opens_at_0": "0001-01-01",
        "opens_at_1": "00:00",
        **split("first_deadline", datetime(2026, 12, 1, 9, 0)),
        **split("second_deadline", datetime(2026, 12, 8, 9, 0)),
        "first_multiplier": "1.00",
        "second_multiplier": "0.65",
        "late_multiplier": "0.50",
        "extensions-TOTAL_FORMS": "0",
        "extensions-INITIAL_FORMS": "0",
    }
    response = post(staff_client, f"/admin/core/projectrelease/{release.pk}/change/", data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["opens_at"] == ["Pick a date between the years 2000 and 2100."]
    release.refresh_from_db()
    assert release.opens_at == before


@pytest.mark.parametrize("selected", ["abc", "", "1.5", "²", str(2**70)])
def test_a_tampered_cohort_selection_is_refused(
    staff_client: Client, cohort: Cohort, release: ProjectRelease, selected: str
) -> None:
    # Found by fuzzing: the admin's pk__in=<posted ids> crashed on an id that is not one.
    before = release.first_deadline
    data = {
        "action": "shift_deadlines_action",
        "_selected_action": [selected],
        "apply": "1",
        "days": "7",
    }
    response = post(staff_client, COHORTS_URL, data)
    assert response.status_code == 302
    assert messages_of(response) == [(message_levels.ERROR, "Select cohorts from the list.")]
    release.refresh_from_db()
    assert release.first_deadline == before


def test_a_cohort_id_that_is_not_a_number_is_no_id() -> None:
    # Found while fixing the above: "²".isdigit() is true but int("²") raises, which
    # crashed the cohort's time zone lookup of the release and extension admin pages.
    values = ["12", str(2**63 - 1), "²", "١٢", "-1", "", None, str(2**63), "1" * 5001]
    assert [pk_or_none(value) for value in values] == [12, 2**63 - 1] + [None] * 7
