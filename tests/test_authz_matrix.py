"""The authorization matrix: every URL of the site, as seven users, for GET and POST.

Every pattern of our URLconf (found through Django's resolver, so a new view cannot hide)
is requested with real objects as seven users and the answer compared with ONE table,
MATRIX. A pattern missing from the table fails ``test_every_url_pattern_is_in_the_table``.
The admin and allauth have their own small checks at the end of the file.

Outcomes:
    200, 204, 400, 403, 404, 405   that status code
    LOGIN                          a redirect to the sign-in page
    REDIRECT                       any other redirect (a form's "done", or back to a page)

The users (columns):
    ANON        not signed in
    OWNER       alice, the learner whose attempt, iteration, attachment, notification ... it is
    CLASSMATE   another learner of the same cohort
    ASSIGNED    rex, reviewer of the cohort with a PeerAssignment on alice's iteration
    UNASSIGNED  another reviewer of the cohort, with no assignment
    MENTOR_ELSEWHERE  a mentor of another cohort
    STAFF       sam

The cohort's own mentor (mia) holds the claim on alice's iteration; she is part of the
scenery (claim extend/release need a claim to exist), not a column.

Every GET is also checked to write nothing to the database (sessions and audit events
aside), and every refused POST (sign-in, 400, 403, 404, 405) to write nothing either: a
view that changes state before checking who asks fails here even when its status is right.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from core.accounts.invitations import invitation_path
from core.cohorts.join_codes import join_code_create
from core.models import (
    Attachment,
    CheckRun,
    Cohort,
    Dispute,
    Iteration,
    Notification,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    ScoreExport,
    User,
)
from core.reviews.services import claim_take
from tests.disputes.scene import disputed_verdict
from tests.factories import (
    AttemptFactory,
    CheckFileFactory,
    CheckSuiteFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    NotificationFactory,
    ReviewFactory,
    UserFactory,
)
from tests.platform.test_uploads import PDF_BYTES

# --- The vocabulary -------------------------------------------------------------------------

LOGIN = "login"
REDIRECT = "redirect"
Outcome = int | str
Cell = tuple[Outcome, Outcome]  # (GET, POST)

ANON = "anonymous"
OWNER = "owner"
CLASSMATE = "classmate"
ASSIGNED = "assigned_reviewer"
UNASSIGNED = "unassigned_reviewer"
MENTOR_ELSEWHERE = "mentor_elsewhere"
STAFF = "staff"
USERS = (ANON, OWNER, CLASSMATE, ASSIGNED, UNASSIGNED, MENTOR_ELSEWHERE, STAFF)

# --- The table ------------------------------------------------------------------------------

MATRIX: dict[str, dict[str, Cell]] = {
    # Public pages.
    "landing": {
        ANON: (200, 405),
        OWNER: (REDIRECT, 405),  # signed in: off to the dashboard
        CLASSMATE: (REDIRECT, 405),
        ASSIGNED: (REDIRECT, 405),
        UNASSIGNED: (REDIRECT, 405),
        MENTOR_ELSEWHERE: (REDIRECT, 405),
        STAFF: (REDIRECT, 405),
    },
    "healthz": {
        ANON: (200, 405),
        OWNER: (200, 405),
        CLASSMATE: (200, 405),
        ASSIGNED: (200, 405),
        UNASSIGNED: (200, 405),
        MENTOR_ELSEWHERE: (200, 405),
        STAFF: (200, 405),
    },
    # The token in the URL is the key: whoever holds alice's link reads her deadlines.
    "calendar_feed": {
        ANON: (200, 405),
        OWNER: (200, 405),
        CLASSMATE: (200, 405),
        ASSIGNED: (200, 405),
        UNASSIGNED: (200, 405),
        MENTOR_ELSEWHERE: (200, 405),
        STAFF: (200, 405),
    },
    # The token in the URL is the key: whoever holds the invited person's link may choose
    # their password (an empty POST re-renders the form with its errors).
    "invitation_accept": {
        ANON: (200, 200),
        OWNER: (200, 200),
        CLASSMATE: (200, 200),
        ASSIGNED: (200, 200),
        UNASSIGNED: (200, 200),
        MENTOR_ELSEWHERE: (200, 200),
        STAFF: (200, 200),
    },
    # A poll from a tab whose session ended: 204, never a sign-in page in the navbar.
    "notifications_bell": {
        ANON: (204, 405),
        OWNER: (200, 405),
        CLASSMATE: (200, 405),
        ASSIGNED: (200, 405),
        UNASSIGNED: (200, 405),
        MENTOR_ELSEWHERE: (200, 405),
        STAFF: (200, 405),
    },
    # Joining a cohort with a code: anyone signed in may try (an empty POST: the form's
    # errors). The link's code is the key: who holds it may join, as a learner; members of
    # the cohort are told they are in it already (and sent to it on a POST).
    "join": {
        ANON: (LOGIN, LOGIN),
        OWNER: (200, 200),
        CLASSMATE: (200, 200),
        ASSIGNED: (200, 200),
        UNASSIGNED: (200, 200),
        MENTOR_ELSEWHERE: (200, 200),
        STAFF: (200, 200),
    },
    "join_link": {
        ANON: (LOGIN, LOGIN),
        OWNER: (200, REDIRECT),  # in the cohort already: to its curriculum
        CLASSMATE: (200, REDIRECT),
        ASSIGNED: (200, REDIRECT),
        UNASSIGNED: (200, REDIRECT),
        MENTOR_ELSEWHERE: (200, REDIRECT),  # joins as a learner (mentors of others may)
        STAFF: (200, REDIRECT),
    },
    # Every signed-in user's own pages.
    "home": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (200, 405),
        ASSIGNED: (200, 405),
        UNASSIGNED: (200, 405),
        MENTOR_ELSEWHERE: (200, 405),
        STAFF: (200, 405),
    },
    "curriculum": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (200, 405),
        ASSIGNED: (200, 405),
        UNASSIGNED: (200, 405),
        MENTOR_ELSEWHERE: (200, 405),  # their own cohort's program
        STAFF: (200, 405),
    },
    # A blank name is allowed (the page then shows the email's local part): saved.
    "account_settings": {
        ANON: (LOGIN, LOGIN),
        OWNER: (200, REDIRECT),
        CLASSMATE: (200, REDIRECT),
        ASSIGNED: (200, REDIRECT),
        UNASSIGNED: (200, REDIRECT),
        MENTOR_ELSEWHERE: (200, REDIRECT),
        STAFF: (200, REDIRECT),
    },
    "calendar_reset": {
        ANON: (405, LOGIN),
        OWNER: (405, REDIRECT),
        CLASSMATE: (405, REDIRECT),
        ASSIGNED: (405, REDIRECT),
        UNASSIGNED: (405, REDIRECT),
        MENTOR_ELSEWHERE: (405, REDIRECT),
        STAFF: (405, REDIRECT),
    },
    "markdown_preview": {
        ANON: (405, LOGIN),
        OWNER: (405, 200),
        CLASSMATE: (405, 200),
        ASSIGNED: (405, 200),
        UNASSIGNED: (405, 200),
        MENTOR_ELSEWHERE: (405, 200),
        STAFF: (405, 200),
    },
    "notifications": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (200, 405),
        ASSIGNED: (200, 405),
        UNASSIGNED: (200, 405),
        MENTOR_ELSEWHERE: (200, 405),
        STAFF: (200, 405),
    },
    "notifications_read_all": {
        ANON: (405, LOGIN),
        OWNER: (405, REDIRECT),
        CLASSMATE: (405, REDIRECT),
        ASSIGNED: (405, REDIRECT),
        UNASSIGNED: (405, REDIRECT),
        MENTOR_ELSEWHERE: (405, REDIRECT),
        STAFF: (405, REDIRECT),
    },
    "notification_settings": {
        ANON: (LOGIN, LOGIN),
        OWNER: (200, REDIRECT),  # every box unticked is a valid choice
        CLASSMATE: (200, REDIRECT),
        ASSIGNED: (200, REDIRECT),
        UNASSIGNED: (200, REDIRECT),
        MENTOR_ELSEWHERE: (200, REDIRECT),
        STAFF: (200, REDIRECT),
    },
    "peer_dashboard": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (200, 405),
        ASSIGNED: (200, 405),
        UNASSIGNED: (200, 405),
        MENTOR_ELSEWHERE: (200, 405),
        STAFF: (200, 405),
    },
    "peer_next": {
        ANON: (405, LOGIN),
        OWNER: (405, REDIRECT),  # nothing to review: back to the dashboard
        CLASSMATE: (405, REDIRECT),
        ASSIGNED: (405, REDIRECT),
        UNASSIGNED: (405, REDIRECT),
        MENTOR_ELSEWHERE: (405, REDIRECT),
        STAFF: (405, REDIRECT),
    },
    # A user's own notification.
    "notification_read": {
        ANON: (405, LOGIN),
        OWNER: (405, REDIRECT),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, 404),  # staff do not read other people's notifications either
    },
    # Projects: visible to the cohort's members (and staff) once released.
    "project_detail": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (200, 405),
        ASSIGNED: (200, 405),
        UNASSIGNED: (200, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    # Only learners submit; members who may see the project get a friendly 403.
    "project_submit": {
        ANON: (LOGIN, LOGIN),
        OWNER: (200, 200),  # an empty POST re-renders the form with its errors
        CLASSMATE: (200, 200),  # their own submit page for the same project
        ASSIGNED: (403, 403),
        UNASSIGNED: (403, 403),
        MENTOR_ELSEWHERE: (404, 404),
        STAFF: (403, 403),
    },
    "project_submit_validate": {
        ANON: (405, LOGIN),
        OWNER: (405, 400),  # no HX-Trigger-Name: which field?
        CLASSMATE: (405, 400),
        ASSIGNED: (405, 403),
        UNASSIGNED: (405, 403),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, 403),
    },
    # "Check my code": like submitting, for learners of the release only.
    "project_checks": {
        ANON: (405, LOGIN),
        OWNER: (405, 400),  # an empty POST: the form with its errors
        CLASSMATE: (405, 400),
        ASSIGNED: (405, 403),
        UNASSIGNED: (405, 403),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, 403),
    },
    # The review page's checks, for who may review the iteration (a plain GET goes to it).
    "review_checks": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (REDIRECT, 405),
    },
    # A check run: its learner, the cohort's mentors and staff.
    "check_run": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    # The owner's attempt: the learner, the cohort's mentors and staff.
    # A peer reviewer sees only the iteration assigned to them (peer_review), never the
    # attempt with its other iterations, score and reviews: 404 here is deliberate.
    "attempt_detail": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    "attempt_comments": {
        ANON: (LOGIN, LOGIN),
        OWNER: (REDIRECT, 200),  # GET without HTMX: to the page; empty POST: form errors
        CLASSMATE: (404, 404),
        ASSIGNED: (404, 404),
        UNASSIGNED: (404, 404),
        MENTOR_ELSEWHERE: (404, 404),
        STAFF: (REDIRECT, 200),
    },
    # What-if: whoever sees the attempt's score; a read that writes nothing, so GET only.
    "attempt_whatif": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    # Staff's adjustments of a score or a verdict: staff only, 404 to everyone else (the
    # attempt's own learner and mentors too). An empty POST names nothing to adjust: 400.
    "attempt_adjust": {
        ANON: (LOGIN, LOGIN),
        OWNER: (404, 404),
        CLASSMATE: (404, 404),
        ASSIGNED: (404, 404),
        UNASSIGNED: (404, 404),
        MENTOR_ELSEWHERE: (404, 404),
        STAFF: (200, 400),
    },
    # The attachment goes with the iteration: its attempt's viewers and its assigned peer.
    "attachment_download": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (200, 405),  # the live assignment lets rex read the files he reviews
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    # The peer review page of rex's assignment.
    "peer_review": {
        ANON: (LOGIN, LOGIN),
        OWNER: (404, 404),
        CLASSMATE: (404, 404),
        ASSIGNED: (200, REDIRECT),  # an empty POST is a draft (drafts need nothing): saved
        UNASSIGNED: (404, 404),
        MENTOR_ELSEWHERE: (404, 404),
        STAFF: (404, 404),  # the assignment is rex's alone; staff use the admin
    },
    # A submitted peer review of alice's work: only alice rates or reports it.
    "review_rate": {
        ANON: (405, LOGIN),
        OWNER: (405, REDIRECT),  # no choice made: back to the attempt with a message
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, 404),
    },
    "review_report": {
        ANON: (405, LOGIN),
        OWNER: (405, REDIRECT),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, 404),
    },
    # The mentors' review loop: mentors of the iteration's cohort and staff.
    "review_queue": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),  # only mentors have a queue
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (200, 405),  # their own cohort's queue
        STAFF: (200, 405),
    },
    "review_claim_next": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, REDIRECT),  # nothing in their queue
        STAFF: (405, REDIRECT),  # alice's iteration is mia's for now: nothing free
    },
    "review_detail": {
        ANON: (LOGIN, LOGIN),
        OWNER: (404, 404),  # never one's own work
        CLASSMATE: (404, 404),
        ASSIGNED: (404, 404),
        UNASSIGNED: (404, 404),
        MENTOR_ELSEWHERE: (404, 404),
        STAFF: (200, 200),  # without mia's claim the form is read-only; errors re-rendered
    },
    "review_claim": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, REDIRECT),  # refused (mia holds it): back to the queue with a message
    },
    "review_draft": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, 200),  # not staff's claim: "Not saved", and nothing written
    },
    "review_extend": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, REDIRECT),  # not staff's claim: refused with a message
    },
    "review_release": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, REDIRECT),
    },
    # The cohort's pages for its mentors (mia, not a column) and staff.
    "cohort_schedule": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    "cohort_progress": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    # Staff pages: 404 for everyone else, like any page one may not see.
    "staff_sla": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    "staff_checks": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    "staff_reviewers": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    "staff_cohorts": {  # the navigation's link: on to the newest cohort's health page
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (REDIRECT, 405),
    },
    "staff_cohort_health": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    # Enrolment by CSV: an empty upload re-renders the form with its error; an apply
    # without a signed preview goes back to the upload form.
    "cohort_enrol": {
        ANON: (LOGIN, LOGIN),
        OWNER: (404, 404),
        CLASSMATE: (404, 404),
        ASSIGNED: (404, 404),
        UNASSIGNED: (404, 404),
        MENTOR_ELSEWHERE: (404, 404),
        STAFF: (200, 200),
    },
    "cohort_enrol_apply": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, REDIRECT),
    },
    "staff_export_start": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, REDIRECT),  # back to the health page, where the export shows
    },
    "staff_export_status": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (REDIRECT, 405),  # without HTMX: to the health page
    },
    "staff_export_download": {
        ANON: (LOGIN, 405),
        OWNER: (404, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    # A dispute: only its learner opens one, on her own attempt (none to contest here: the
    # scene's attempt waits for review); her empty POST re-renders the form.
    "dispute_new": {
        ANON: (LOGIN, LOGIN),
        OWNER: (200, 200),
        CLASSMATE: (404, 404),
        ASSIGNED: (404, 404),
        UNASSIGNED: (404, 404),
        MENTOR_ELSEWHERE: (404, 404),
        STAFF: (404, 404),  # staff correct scores through overrides, not disputes
    },
    # Its learner reads it; the cohort's mentors (but Vera, whose verdict it contests) and
    # staff decide it.
    "dispute_detail": {
        ANON: (LOGIN, 405),
        OWNER: (200, 405),
        CLASSMATE: (404, 405),
        ASSIGNED: (404, 405),
        UNASSIGNED: (404, 405),
        MENTOR_ELSEWHERE: (404, 405),
        STAFF: (200, 405),
    },
    "dispute_claim": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),  # the learner never decides her own dispute
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, REDIRECT),  # claimed: back to the dispute
    },
    "dispute_resolve": {
        ANON: (405, LOGIN),
        OWNER: (405, 404),
        CLASSMATE: (405, 404),
        ASSIGNED: (405, 404),
        UNASSIGNED: (405, 404),
        MENTOR_ELSEWHERE: (405, 404),
        STAFF: (405, 200),  # no outcome chosen: the form's errors
    },
}

# Pages anyone may fetch without signing in.
PUBLIC = {"landing", "healthz", "calendar_feed", "notifications_bell", "invitation_accept"}
# Views that change state (or only answer a form's POST): GET is refused with 405.
POST_ONLY = {
    "calendar_reset",
    "markdown_preview",
    "notifications_read_all",
    "notification_read",
    "peer_next",
    "project_submit_validate",
    "project_checks",
    "review_rate",
    "review_report",
    "review_claim_next",
    "review_claim",
    "review_draft",
    "review_extend",
    "review_release",
    "staff_export_start",
    "cohort_enrol_apply",
    "dispute_claim",
    "dispute_resolve",
}
# Object URLs whose token is the credential (no membership involved).
TOKEN_URLS = {"calendar_feed", "join_link", "invitation_accept"}


# --- The objects ----------------------------------------------------------------------------


@dataclass
class Scene:
    """Alice's work on the fixed cast's release, and everything the URLs point at."""

    users: dict[str, User | None]
    project: Project
    cohort: Cohort
    iteration: Iteration
    assignment: PeerAssignment
    attachment: Attachment
    notification: Notification
    peer_review: Review
    export: ScoreExport
    check_run: CheckRun
    calendar_token: str
    dispute: Dispute
    join_code: str
    invitation: dict[str, object]


@pytest.fixture
def scene(
    settings: Settings,
    tmp_path: Path,
    learner: User,
    mentor: User,
    reviewer: User,
    staff: User,
    cohort: Cohort,
    release: ProjectRelease,
    project: Project,
) -> Scene:
    settings.MEDIA_ROOT = tmp_path / "media"
    now = timezone.now()
    classmate = UserFactory(email="bob@example.com", display_name="Bob Classmate")
    MembershipFactory(user=classmate, cohort=cohort, role="learner")
    unassigned = UserFactory(email="una@example.com", display_name="Una Reviewer")
    MembershipFactory(user=unassigned, cohort=cohort, role="reviewer")
    mentor_elsewhere = UserFactory(email="otto@example.com", display_name="Otto Mentor")
    other_cohort = CohortFactory(name="Cohort 8", slug="cohort-8")
    MembershipFactory(user=mentor_elsewhere, cohort=other_cohort, role="mentor")

    attempt = AttemptFactory(learner=learner, release=release)
    iteration = IterationFactory(attempt=attempt, number=1, submitted_at=now - timedelta(hours=5))
    iteration.tasks_claimed.set(project.tasks.filter(number__in=[0, 1]))
    attachment = Attachment.objects.create(
        iteration=iteration,
        file=ContentFile(PDF_BYTES, name="report.pdf"),
        original_name="report.pdf",
        content_type="application/pdf",
        size=len(PDF_BYTES),
    )
    claim_take(iteration=iteration, reviewer=mentor)
    assignment = PeerAssignment.objects.create(
        iteration=iteration,
        project=project,
        reviewer=reviewer,
        assigned_at=now - timedelta(hours=1),
        expires_at=now + timedelta(hours=8),
    )
    # An earlier peer's submitted review, for alice to rate or report.
    peer_review = ReviewFactory(
        iteration=iteration,
        reviewer=UserFactory(email="pat@example.com", display_name="Pat Peer"),
        kind=Review.Kind.PEER,
        decision=Review.Decision.APPROVED,
    )
    notification = NotificationFactory(user=learner)
    export = ScoreExport.objects.create(
        cohort=cohort,
        requested_by=staff,
        status=ScoreExport.Status.DONE,
        finished_at=now,
        file=ContentFile(b"email,score\r\n", name="scores.csv"),
    )
    # Task 0 has automated checks, and alice's submission was checked.
    suite = CheckSuiteFactory(task=project.tasks.get(number=0))
    CheckFileFactory(suite=suite)
    check_run = CheckRun.objects.create(
        learner=learner,
        release=release,
        iteration=iteration,
        requested_by=learner,
        trigger=CheckRun.Trigger.SUBMISSION,
        repo_url=iteration.repo_url,
        status=CheckRun.Status.PASSED,
        started_at=now,
        finished_at=now,
    )
    users = {
        ANON: None,
        OWNER: learner,
        CLASSMATE: classmate,
        ASSIGNED: reviewer,
        UNASSIGNED: unassigned,
        MENTOR_ELSEWHERE: mentor_elsewhere,
        STAFF: staff,
    }
    return Scene(
        users=users,
        project=project,
        cohort=cohort,
        iteration=iteration,
        assignment=assignment,
        attachment=attachment,
        notification=notification,
        peer_review=peer_review,
        export=export,
        check_run=check_run,
        calendar_token=learner.calendar_token,
        dispute=disputed_verdict(learner, cohort),
        join_code=join_code_create(cohort=cohort, max_uses=10).code,
        invitation=invitation_kwargs(),
    )


def invitation_kwargs() -> dict[str, object]:
    """The link of someone enrolled by CSV who has not chosen a password yet."""
    invited = User.objects.create(email="ivy@example.com", password=make_password(None))
    uidb64, token = invitation_path(invited).rstrip("/").split("/")[-2:]
    return {"uidb64": uidb64, "token": token}


# The URL keyword arguments of each pattern that takes some.
KWARGS: dict[str, Callable[[Scene], dict[str, object]]] = {
    "project_detail": lambda s: {"slug": s.project.slug},
    "project_submit": lambda s: {"slug": s.project.slug},
    "project_submit_validate": lambda s: {"slug": s.project.slug},
    "project_checks": lambda s: {"slug": s.project.slug},
    "check_run": lambda s: {"pk": s.check_run.pk},
    "review_checks": lambda s: {"pk": s.iteration.pk},
    "calendar_feed": lambda s: {"token": s.calendar_token},
    "join_link": lambda s: {"code": s.join_code},
    "cohort_schedule": lambda s: {"slug": s.cohort.slug},
    "cohort_progress": lambda s: {"slug": s.cohort.slug},
    "notification_read": lambda s: {"pk": s.notification.pk},
    "review_detail": lambda s: {"pk": s.iteration.pk},
    "review_claim": lambda s: {"pk": s.iteration.pk},
    "review_draft": lambda s: {"pk": s.iteration.pk},
    "review_extend": lambda s: {"pk": s.iteration.pk},
    "review_release": lambda s: {"pk": s.iteration.pk},
    "attachment_download": lambda s: {"pk": s.attachment.pk},
    "attempt_detail": lambda s: {"pk": s.iteration.attempt_id},
    "attempt_comments": lambda s: {"pk": s.iteration.attempt_id},
    "attempt_adjust": lambda s: {"pk": s.iteration.attempt_id},
    "attempt_whatif": lambda s: {"pk": s.iteration.attempt_id},
    "dispute_new": lambda s: {"pk": s.iteration.attempt_id},
    "dispute_detail": lambda s: {"pk": s.dispute.pk},
    "dispute_claim": lambda s: {"pk": s.dispute.pk},
    "dispute_resolve": lambda s: {"pk": s.dispute.pk},
    "peer_review": lambda s: {"pk": s.assignment.pk},
    "review_rate": lambda s: {"pk": s.peer_review.pk},
    "review_report": lambda s: {"pk": s.peer_review.pk},
    "staff_cohort_health": lambda s: {"slug": s.cohort.slug},
    "staff_export_start": lambda s: {"slug": s.cohort.slug},
    "cohort_enrol": lambda s: {"slug": s.cohort.slug},
    "cohort_enrol_apply": lambda s: {"slug": s.cohort.slug},
    "invitation_accept": lambda s: s.invitation,
    "staff_export_status": lambda s: {"pk": s.export.pk},
    "staff_export_download": lambda s: {"pk": s.export.pk},
}


# --- Enumerating the URLconf ----------------------------------------------------------------

# Checked on their own below (admin, allauth) or absent from tests (the debug toolbar).
SKIPPED_NAMESPACES = {"admin", "djdt"}
SKIPPED_MODULES = ("allauth.",)


@dataclass(frozen=True)
class Route:
    name: str
    route: str  # the full route, e.g. "attempts/<int:pk>/"


def _walk(resolvers: list[URLPattern | URLResolver], prefix: str) -> Iterator[Route]:
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            module = getattr(entry.urlconf_module, "__name__", "")
            if entry.namespace in SKIPPED_NAMESPACES or module.startswith(SKIPPED_MODULES):
                continue
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        else:
            route = prefix + str(entry.pattern)
            # An unnamed pattern is listed by its route, so it cannot slip through either.
            yield Route(name=entry.name or route, route=route)


def our_routes(urlconf: str | None = None) -> list[Route]:
    return list(_walk(get_resolver(urlconf).url_patterns, ""))


def route_of(name: str) -> str:
    return next(route.route for route in our_routes() if route.name == name)


def takes_object(name: str) -> bool:
    """Whether the pattern's route names an object (has a converter: <int:pk>, <slug:…>)."""
    return "<" in route_of(name)


# --- Requests and outcomes ------------------------------------------------------------------

# Writes a GET may do without changing anyone's state (a standing is derived from the
# learner's work, and stored by the read that finds it stale).
HARMLESS_WRITES = {"django_session", "core_auditevent", "core_standing"}
WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


# Answers that refuse the request: a refused POST must change nothing either.
REFUSALS = {LOGIN, 400, 403, 404, 405}


def outcome(response: HttpResponse) -> Outcome:
    if 300 <= response.status_code < 400:
        location = response["Location"]
        return LOGIN if location.startswith(reverse("account_login")) else REDIRECT
    return response.status_code


def writes(queries: CaptureQueriesContext) -> list[str]:
    tables = []
    for query in queries.captured_queries:
        match = WRITE.match(query["sql"])
        if match and match.group(1) not in HARMLESS_WRITES:
            tables.append(match.group(1))
    return tables


def client_as(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- The tests ------------------------------------------------------------------------------


def test_every_url_pattern_is_in_the_table() -> None:
    names = [route.name for route in our_routes()]
    assert len(names) == len(set(names)), "two patterns share a name"
    assert set(names) == set(MATRIX)


def test_a_new_view_missing_from_the_table_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard above works: a view added under a nested include shows up unlisted."""
    urls = types.ModuleType("authz_matrix_new_view_urls")
    new_view = path("exports/<int:pk>/", lambda request, pk: HttpResponse(), name="new_view")
    patterns = [*get_resolver().url_patterns, path("new/", include([new_view]))]
    urls.urlpatterns = patterns  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, urls.__name__, urls)
    routes = our_routes(urls.__name__)
    assert {route.name for route in routes} - set(MATRIX) == {"new_view"}
    assert Route("new_view", "new/exports/<int:pk>/") in routes


def test_every_row_lists_the_seven_users() -> None:
    incomplete = {
        name: set(USERS) ^ set(row) for name, row in MATRIX.items() if set(row) != set(USERS)
    }
    assert incomplete == {}


def test_every_object_url_has_its_objects() -> None:
    assert {name for name in MATRIX if takes_object(name)} == set(KWARGS)


def test_anonymous_users_are_sent_to_sign_in_except_on_public_pages() -> None:
    wrong = {
        name: row[ANON]
        for name, row in MATRIX.items()
        if name not in PUBLIC and not (set(row[ANON]) <= {LOGIN, 405} and LOGIN in row[ANON])
    }
    assert wrong == {}


def test_non_members_get_404_on_object_urls() -> None:
    """A mentor of another cohort sees nothing of cohort-7; nobody but its people sees an
    object of alice's (her attempt, notification, reviews; rex's assignment)."""
    outsiders_of: dict[str, tuple[str, ...]] = {}
    for name in MATRIX:
        if not takes_object(name) or name in TOKEN_URLS:
            continue
        if "<slug:" in route_of(name):  # a project or a cohort: its members may see it
            outsiders_of[name] = (MENTOR_ELSEWHERE,)
        else:  # one object of alice's (or rex's assignment, or staff's export)
            outsiders_of[name] = (CLASSMATE, UNASSIGNED, MENTOR_ELSEWHERE)
    wrong = {
        (name, user): MATRIX[name][user]
        for name, users in outsiders_of.items()
        for user in users
        if not set(MATRIX[name][user]) <= {404, 405} or 404 not in MATRIX[name][user]
    }
    assert wrong == {}


def test_state_changing_views_refuse_get() -> None:
    wrong = {
        name: MATRIX[name] for name in POST_ONLY if any(MATRIX[name][u][0] != 405 for u in USERS)
    }
    assert wrong == {}
    # And every view the table refuses GET to everyone is declared here, on purpose.
    refused = {name for name, row in MATRIX.items() if all(row[u][0] == 405 for u in USERS)}
    assert refused == POST_ONLY


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_user_gets_the_listed_answer(name: str, scene: Scene) -> None:
    url = reverse(name, kwargs=KWARGS[name](scene) if name in KWARGS else None)
    mismatches = []
    for user in USERS:
        client = client_as(scene.users[user])
        expected_get, expected_post = MATRIX[name][user]
        with CaptureQueriesContext(connection) as queries:
            got = outcome(client.get(url))
        if got != expected_get:
            mismatches.append(f"GET  as {user}: {got!r}, expected {expected_get!r}")
        if written := writes(queries):
            mismatches.append(f"GET  as {user} wrote to {sorted(set(written))}")
        with CaptureQueriesContext(connection) as queries:
            got = outcome(client.post(url))
        if got != expected_post:
            mismatches.append(f"POST as {user}: {got!r}, expected {expected_post!r}")
        if got in REFUSALS and (written := writes(queries)):
            mismatches.append(
                f"POST as {user} refused with {got!r} but wrote {sorted(set(written))}"
            )
    assert not mismatches, f"{url}\n" + "\n".join(mismatches)


def test_the_write_detector_sees_a_state_change(scene: Scene) -> None:
    """The GET check above is not vacuous: marking a notification read is seen."""
    url = reverse("notification_read", kwargs=KWARGS["notification_read"](scene))
    with CaptureQueriesContext(connection) as queries:
        response = client_as(scene.users[OWNER]).post(url)
    assert outcome(response) == REDIRECT
    assert "core_notification" in writes(queries)


# --- The admin and allauth ------------------------------------------------------------------


def test_the_admin_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    # ... which is allauth's sign-in (with its rate limits).
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_admin_index_is_for_staff_only(learner_client: Client, staff_client: Client) -> None:
    # A signed-in learner is sent to the admin's sign-in, which refuses them.
    response = learner_client.get("/admin/", follow=True)
    assert response.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert response.status_code == 403
    assert staff_client.get("/admin/").status_code == 200


def test_the_allauth_sign_in_page_is_open_to_anonymous_users(client: Client, db: None) -> None:
    assert client.get(reverse("account_login")).status_code == 200
    assert client.get(reverse("account_reset_password")).status_code == 200
