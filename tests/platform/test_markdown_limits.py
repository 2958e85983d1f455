"""Every Markdown field has a maximum length: forms refuse longer text and say the limit.

What people write (iteration notes, comments, review feedback and verdict comments,
mentors' and peers') is held to ``MARKDOWN_MAX_CHARS``; curriculum text (program and
project descriptions, task bodies, edited in the admin) to
``MARKDOWN_CURRICULUM_MAX_CHARS``. Issue #17.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from core.models import (
    Comment,
    Iteration,
    PeerAssignment,
    Program,
    Project,
    ProjectRelease,
    Review,
    Task,
    User,
)
from core.reviews.services import claim_take
from tests.cohorts.test_admin_calendar import page, project_form, task_row, url
from tests.factories import IterationFactory, ProgramFactory
from tests.peer import test_peer_review as peer
from tests.reviews import test_review_detail as mentor_review
from tests.reviews.test_submit import URL as SUBMIT_URL
from tests.reviews.test_submit import form_data as submit_data

LEARNER = settings.MARKDOWN_MAX_CHARS
CURRICULUM = settings.MARKDOWN_CURRICULUM_MAX_CHARS
TOO_LONG = "x" * (LEARNER + 1)


def refusal(limit: int) -> str:
    """Django's message for a field past its max_length, by one character."""
    return f"Ensure this value has at most {limit} characters (it has {limit + 1})."


def says_the_limit(limit: int) -> str:
    return f"Markdown, up to {limit:,} characters"


def test_the_migrations_match_the_models(db: None) -> None:
    # The limits live in the models and in 0009 alike, read from the same settings.
    call_command("makemigrations", "core", "--check", "--dry-run", stdout=StringIO())


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [
        (Iteration, "notes", LEARNER),
        (Comment, "body", LEARNER),
        (Review, "feedback", LEARNER),
        ("core.Verdict", "comment", LEARNER),
        (Program, "description", CURRICULUM),
        (Project, "description", CURRICULUM),
        (Task, "body", CURRICULUM),
    ],
)
def test_every_markdown_field_has_its_limit(model: object, field: str, limit: int) -> None:
    from django.apps import apps

    model_class = apps.get_model(model) if isinstance(model, str) else model
    assert model_class._meta.get_field(field).max_length == limit  # type: ignore[union-attr]


# What people write ---------------------------------------------------------------------


def test_the_submit_form_says_the_limit_and_refuses_longer_notes(
    learner_client: Client, learner: User, project: Project
) -> None:
    page_body = learner_client.get(SUBMIT_URL).content.decode()
    assert says_the_limit(LEARNER) in page_body
    assert f'maxlength="{LEARNER}"' in page_body

    response = learner_client.post(SUBMIT_URL, submit_data(project, notes=TOO_LONG))
    assert response.status_code == 200
    assert refusal(LEARNER) in response.content.decode()
    assert not Iteration.objects.filter(attempt__learner=learner).exists()


def test_the_thread_says_the_limit_and_refuses_a_longer_comment(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    iteration = IterationFactory(attempt__learner=learner, attempt__release=release)
    attempt_url = f"/attempts/{iteration.attempt_id}/"
    assert says_the_limit(LEARNER) in learner_client.get(attempt_url).content.decode()

    response = learner_client.post(f"{attempt_url}comments/", {"body": TOO_LONG}, follow=True)
    assert refusal(LEARNER) in response.content.decode()
    assert not Comment.objects.exists()


@pytest.fixture
def claimed(learner: User, release: ProjectRelease, mentor: User) -> Iteration:
    iteration = IterationFactory(attempt__learner=learner, attempt__release=release)
    claim_take(iteration=iteration, reviewer=mentor)
    return iteration


def test_the_review_form_says_the_limits(mentor_client: Client, claimed: Iteration) -> None:
    body = mentor_client.get(mentor_review.url(claimed)).content.decode()
    assert says_the_limit(LEARNER) in body  # the feedback's editor
    assert f"Each comment is optional Markdown, up to {LEARNER:,} characters." in body
    assert body.count('aria-describedby="review-comment-help"') == 3  # one per task


@pytest.mark.parametrize("where", ["feedback", "verdict comment"])
def test_a_mentor_review_refuses_longer_text(
    mentor_client: Client, claimed: Iteration, project: Project, where: str
) -> None:
    data = mentor_review.verdict_data(project, "pass", "pass", "pass", decision="approved")
    task = project.tasks.order_by("number").first()
    data["feedback" if where == "feedback" else f"task_{task.pk}_comment"] = TOO_LONG
    response = mentor_client.post(mentor_review.url(claimed), data)
    assert response.status_code == 200
    assert refusal(LEARNER) in response.content.decode()
    assert not Review.objects.filter(submitted_at__isnull=False).exists()


@pytest.mark.parametrize("where", ["feedback", "verdict comment"])
def test_a_peer_review_refuses_longer_text(
    reviewer_client: Client,
    reviewer: User,
    learner: User,
    release: ProjectRelease,
    project: Project,
    where: str,
) -> None:
    peer.peer_policy(project, required=2)
    assignment: PeerAssignment = peer.assign(peer.submit(learner, release), reviewer)
    data = peer.verdict_data(project, "pass", "pass", "pass", decision="approved", confidence="4")
    task = project.tasks.order_by("number").first()
    data["feedback" if where == "feedback" else f"task_{task.pk}_comment"] = TOO_LONG
    response = reviewer_client.post(peer.url(assignment), data)
    assert response.status_code == 200
    assert refusal(LEARNER) in response.content.decode()
    assert not Review.objects.exists()


# Curriculum text, in the admin -------------------------------------------------------------


def test_the_admin_says_the_limit_of_task_bodies_and_descriptions(
    staff_client: Client, project: Project
) -> None:
    body = page(staff_client.get(url("project", "change", project.pk)))
    assert f"{says_the_limit(CURRICULUM)}." in body
    assert f'maxlength="{CURRICULUM}"' in body


def test_the_admin_refuses_a_longer_task_body(staff_client: Client, project: Project) -> None:
    too_long = "x" * (CURRICULUM + 1)
    data = project_form(project.module_id, [task_row(9, body=too_long)])
    data |= {"order": project.order, "title": project.title, "slug": project.slug}
    response = staff_client.post(url("project", "change", project.pk), data)
    assert response.status_code == 200
    assert refusal(CURRICULUM) in page(response)
    assert not project.tasks.filter(number=9).exists()


def test_the_admin_refuses_a_longer_program_description(staff_client: Client, db: None) -> None:
    program = ProgramFactory()
    data = {"name": program.name, "slug": program.slug, "description": "x" * (CURRICULUM + 1)}
    data |= {
        f"modules-{key}": value
        for key, value in {
            "TOTAL_FORMS": 0,
            "INITIAL_FORMS": 0,
            "MIN_NUM_FORMS": 0,
            "MAX_NUM_FORMS": 1000,
        }.items()
    }
    response = staff_client.post(url("program", "change", program.pk), data)
    assert response.status_code == 200
    assert refusal(CURRICULUM) in page(response)
    program.refresh_from_db()
    assert program.description != data["description"]
