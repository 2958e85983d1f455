"""/cohorts/<slug>/progress/: learners × opened projects, for the cohort's mentors and staff."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core.models import Attempt, Cohort, Membership, Module, Project, ProjectRelease, User
from core.reporting.dashboards import cohort_snapshot
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    ExtensionFactory,
    MembershipFactory,
    ModuleFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    UserFactory,
)

URL = "/cohorts/cohort-7/progress/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def learner_in(cohort: Cohort, name: str) -> User:
    user = UserFactory(display_name=name)
    MembershipFactory(user=user, cohort=cohort, role="learner")
    return user


def release_in(
    cohort: Cohort, title: str, module: Module | None = None, *, days_ago: int = 2
) -> ProjectRelease:
    now = timezone.now()
    project = ProjectFactory(title=title, **({"module": module} if module else {}))
    return ProjectReleaseFactory(
        cohort=cohort,
        project=project,
        opens_at=now - timedelta(days=days_ago),
        first_deadline=now - timedelta(days=days_ago) + timedelta(days=5),
        second_deadline=now - timedelta(days=days_ago) + timedelta(days=12),
    )


def table(body: str) -> str:
    return body[body.index('<table class="matrix">') : body.index("</table>")]


def rows(body: str) -> list[str]:
    """Learner names in row order."""
    return re.findall(r'<th scope="row" class="matrix-name">([^<]+)</th>', body)


@pytest.fixture
def grid(cohort: Cohort, release: ProjectRelease) -> dict[str, object]:
    """Three learners in every state on the fixture project and a second module's project."""
    web = ModuleFactory(title="Web APIs", slug="web-apis")
    api = release_in(cohort, "REST Basics", web)
    ada, bob, cy = (learner_in(cohort, name) for name in ("Ada", "Bob", "Cy"))
    approved = AttemptFactory(learner=ada, release=release, status="approved", score=Decimal(150))
    changes = AttemptFactory(
        learner=bob, release=release, status="changes_requested", score=Decimal("40.4")
    )
    waiting = AttemptFactory(learner=cy, release=api, status="waiting")
    AttemptFactory(learner=ada, release=api, status="approved", score=Decimal(90))
    return {"approved": approved, "changes": changes, "waiting": waiting, "api": api}


def test_it_shows_mentors_every_learner_on_every_opened_project(
    mentor_client: Client, grid: dict[str, Attempt]
) -> None:
    response = mentor_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Progress matrix" in body
    assert rows(body) == ["Ada", "Bob", "Cy"]
    assert re.findall(r'<th scope="col" class="matrix-project"><a [^>]*>([^<]+)</a>', body) == [
        "Python Generators",
        "REST Basics",
    ]
    assert '<th scope="colgroup" colspan="1">Web APIs</th>' in body
    approved, changes, waiting = grid["approved"], grid["changes"], grid["waiting"]
    assert (
        f'<td class="pm-ap"><a href="/attempts/{approved.pk}/">150'
        '<span class="pm-sr"> approved</span></a></td>' in body
    )
    assert (
        f'<td class="pm-ch"><a href="/attempts/{changes.pk}/">40'
        '<span class="pm-sr"> changes requested</span></a></td>' in body
    )
    assert (
        f'<td class="pm-wa"><a href="/attempts/{waiting.pk}/">…'
        '<span class="pm-sr"> waiting for review</span></a></td>' in body
    )
    assert '<td class="pm-ns">–<span class="pm-sr"> not started</span></td>' in body
    # Ada: (150 + 90) over two modules; Bob: 40.4 in one module; Cy: nothing scored.
    assert '<td class="matrix-total">120%</td>' in body
    assert '<td class="matrix-total">40.4%</td>' in body
    assert '<td class="matrix-total">–</td>' in body
    assert "3 learners × 2 opened projects" in body
    assert "style=" not in body


def test_it_marks_work_missing_past_the_first_deadline(
    mentor_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    now = timezone.now()
    late = ProjectReleaseFactory(
        cohort=cohort,
        project=ProjectFactory(title="Overdue Project"),
        opens_at=now - timedelta(days=10),
        first_deadline=now - timedelta(days=1),
        second_deadline=now + timedelta(days=6),
    )
    learner_in(cohort, "Late Lee")
    extended = learner_in(cohort, "Extended Eve")
    ExtensionFactory(release=late, learner=extended)
    body = mentor_client.get(URL).content.decode()
    assert body.count('<td class="pm-od">!<span class="pm-sr"> not started, past the first') == 1


def test_it_leaves_out_projects_not_opened_yet(
    mentor_client: Client, cohort: Cohort, grid: dict[str, Attempt]
) -> None:
    ProjectReleaseFactory(
        cohort=cohort,
        project=ProjectFactory(title="Future Project"),
        opens_at=timezone.now() + timedelta(days=3),
    )
    body = mentor_client.get(URL).content.decode()
    assert "Future Project" not in body


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("name", ["Ada", "Bob", "Cy"]),
        ("score", ["Bob", "Ada", "Cy"]),
        ("-score", ["Ada", "Bob", "Cy"]),
    ],
)
def test_it_sorts_learners(
    mentor_client: Client, grid: dict[str, Attempt], sort: str, order: list[str]
) -> None:
    body = mentor_client.get(URL, {"sort": sort}).content.decode()
    assert rows(body) == order  # learners without a score come last either way
    assert f'<option value="{sort}" selected>' in body


def test_it_ignores_an_unknown_sort(mentor_client: Client, grid: dict[str, Attempt]) -> None:
    body = mentor_client.get(URL, {"sort": "evil"}).content.decode()
    assert rows(body) == ["Ada", "Bob", "Cy"]


def test_it_filters_by_module_and_sorts_by_the_module_score(
    mentor_client: Client, grid: dict[str, Attempt]
) -> None:
    body = mentor_client.get(URL, {"module": "web-apis", "sort": "-score"}).content.decode()
    headers = re.findall(r'class="matrix-project"><a [^>]*>([^<]+)</a>', body)
    assert headers == ["REST Basics"]
    assert rows(body) == ["Ada", "Bob", "Cy"]  # Ada 90 in the module; Bob and Cy none
    assert '<td class="matrix-total">90%</td>' in body
    assert ">Module</th>" in body
    assert "1 opened project in Web APIs" in body
    assert '<option value="web-apis" selected>' in body


def test_it_ignores_an_unknown_module(mentor_client: Client, grid: dict[str, Attempt]) -> None:
    body = mentor_client.get(URL, {"module": "nope"}).content.decode()
    assert len(re.findall(r'class="matrix-project"', body)) == 2


def test_htmx_gets_only_the_table(mentor_client: Client, grid: dict[str, Attempt]) -> None:
    response = mentor_client.get(URL, {"module": "web-apis"}, **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="matrix-table"')
    assert "<html" not in body
    assert "matrix-controls" not in body
    assert "REST Basics" in body
    assert "HX-Request" in response["Vary"]


def test_it_shows_staff_any_cohort(staff_client: Client, grid: dict[str, Attempt]) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert rows(response.content.decode()) == ["Ada", "Bob", "Cy"]


def test_it_tells_mentors_when_there_is_nobody_yet(mentor_client: Client) -> None:
    body = mentor_client.get(URL).content.decode()
    assert "This cohort has no learners yet." in body
    assert '<table class="matrix">' not in body


def test_the_mentor_of_another_cohort_gets_404(release: ProjectRelease) -> None:
    other_mentor = UserFactory()
    MembershipFactory(user=other_mentor, cohort=CohortFactory(slug="other"), role="mentor")
    assert client_for(other_mentor).get(URL).status_code == 404


@pytest.mark.parametrize("fixture", ["learner_client", "reviewer_client", "outsider_client"])
def test_everyone_else_gets_404(request: pytest.FixtureRequest, fixture: str, db: None) -> None:
    assert request.getfixturevalue(fixture).get(URL).status_code == 404


def test_an_unknown_cohort_is_404(mentor_client: Client) -> None:
    assert mentor_client.get("/cohorts/nope/progress/").status_code == 404


def test_it_sends_anonymous_users_to_sign_in(client: Client, cohort: Cohort) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


def test_it_refuses_post(mentor_client: Client) -> None:
    assert mentor_client.post(URL).status_code == 405


# --- Size ---------------------------------------------------------------------------------


def bulk_grid(cohort: Cohort, learners: int, projects: int, modules: int = 6) -> None:
    """``learners`` × ``projects`` opened releases with an attempt in most cells (bulk inserts)."""
    now = timezone.now()
    program = cohort.program
    module_rows = Module.objects.bulk_create(
        Module(program=program, order=10_000 + i, title=f"Bulk {i}", slug=f"bulk-{i}")
        for i in range(modules)
    )
    project_rows = Project.objects.bulk_create(
        Project(
            module=module_rows[i % modules],
            order=1000 + i,
            title=f"Bulk project {i}",
            slug=f"bulk-project-{i}",
        )
        for i in range(projects)
    )
    releases = ProjectRelease.objects.bulk_create(
        ProjectRelease(
            cohort=cohort,
            project=project,
            opens_at=now - timedelta(days=60 - i),
            first_deadline=now - timedelta(days=50 - i),
            second_deadline=now - timedelta(days=40 - i),
        )
        for i, project in enumerate(project_rows)
    )
    users = User.objects.bulk_create(
        User(email=f"bulk{i}@example.com", display_name=f"Bulk Learner {i:03}")
        for i in range(learners)
    )
    Membership.objects.bulk_create(
        Membership(user=user, cohort=cohort, role="learner") for user in users
    )
    statuses = ["approved", "changes_requested", "waiting"]
    Attempt.objects.bulk_create(
        Attempt(
            learner=user,
            release=release,
            status=statuses[(u + r) % 3],
            score=None if (u + r) % 3 == 2 else Decimal((u * 7 + r * 13) % 200),
        )
        for u, user in enumerate(users)
        for r, release in enumerate(releases)
        if (u + r) % 5  # one cell in five not started
    )


@pytest.mark.parametrize("size", [1, 10])
def test_it_costs_a_constant_number_of_queries(
    mentor_client: Client,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    bulk_grid(cohort, learners=3 * size, projects=2 * size, modules=2)
    ExtensionFactory(
        release=ProjectRelease.objects.filter(cohort=cohort).last(), learner=User.objects.last()
    )
    # Cold cache (but the session comes from the cache), no standings yet:
    # 1. user  2. the cohort (with program) if the user mentors it
    # 3. the cohort's releases with project and module  4. its learners with standings
    # 5. the missing standings created  6. savepoint  7. the standings locked
    # 8. attempts on opened releases  9. extensions on them  10. standings stored
    # 11. savepoint released  12. this page's learners' attempts  13. the nav's roles
    with django_assert_num_queries(13):
        response = mentor_client.get(URL)
    body = response.content.decode()
    assert len(rows(body)) == 3 * size
    # An empty cache, standings kept: 1–4, 12 and 13, and the session from the database.
    cache.clear()
    with django_assert_num_queries(7):
        response = mentor_client.get(URL)
    assert table(response.content.decode()) == table(body)
    # Warm cache: the rendered table comes from the cache.
    with django_assert_num_queries(3):
        response = mentor_client.get(URL)
    assert table(response.content.decode()) == table(body)


def test_it_renders_300_learners_by_60_projects_a_page_of_50_at_a_time(
    mentor_client: Client,
    cohort: Cohort,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    bulk_grid(cohort, learners=300, projects=60)
    # The same queries as at any size (see above), then three once cached.
    with django_assert_num_queries(13):
        response = mentor_client.get(URL, {"sort": "-score"})
    body = response.content.decode()
    assert response.status_code == 200
    assert len(rows(body)) == 50
    assert "Learners 1–50 of 300." in body
    # 60 bulk projects and the fixture's Python Generators (which nobody has started).
    assert body.count('<th scope="col" class="matrix-project">') == 61
    assert body.count('<td class="pm-') == 50 * 61
    assert body.count('<td class="pm-ns">') + body.count('<td class="pm-od">') == 50 * 12 + 50
    with django_assert_num_queries(3):
        response = mentor_client.get(URL, {"sort": "-score"})
    assert table(response.content.decode()) == table(body)
    # Another page, sort or module reads the kept standings and renders its own table
    # (the facts around it are cached): releases, learners, this page's attempts.
    with django_assert_num_queries(6):
        response = mentor_client.get(URL, {"sort": "name", "module": "bulk-3", "page": 6})
    body = response.content.decode()
    assert body.count('<th scope="col" class="matrix-project">') == 10
    assert rows(body)[0] == "Bulk Learner 250" and len(rows(body)) == 50
    assert "Learners 251–300 of 300." in body


def scores(body: str) -> list[Decimal]:
    """The total column's scores in row order."""
    return [Decimal(v) for v in re.findall(r'<td class="matrix-total">([\d.]+)%</td>', body)]


@pytest.mark.parametrize("sort", ["score", "-score"])
def test_pages_split_the_whole_cohort_in_its_sorted_order(
    mentor_client: Client, cohort: Cohort, sort: str
) -> None:
    bulk_grid(cohort, learners=120, projects=4, modules=2)
    pages = [
        mentor_client.get(URL, {"sort": sort, "page": page}).content.decode() for page in (1, 2, 3)
    ]
    names = [name for body in pages for name in rows(body)]
    assert [len(rows(body)) for body in pages] == [50, 50, 20]
    assert sorted(names) == sorted(f"Bulk Learner {i:03}" for i in range(120))  # each once
    shown = [score for body in pages for score in scores(body)]
    assert shown == sorted(shown, reverse=sort == "-score")
    assert "Learners 101–120 of 120." in pages[2]


def test_the_pager_keeps_the_module_and_sort_and_answers_htmx_with_the_table(
    mentor_client: Client, cohort: Cohort
) -> None:
    bulk_grid(cohort, learners=60, projects=4, modules=2)
    body = mentor_client.get(URL, {"module": "bulk-1", "sort": "score"}).content.decode()
    pager = body[body.index('aria-label="Matrix pages"') :]
    assert 'href="?module=bulk-1&amp;sort=score&amp;page=2"' in pager
    assert 'hx-get="?module=bulk-1&amp;sort=score&amp;page=2"' in pager
    assert '<span class="page-link" aria-current="page">1</span>' in pager
    response = mentor_client.get(URL, {"module": "bulk-1", "sort": "score", "page": 2}, **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="matrix-table"')
    assert len(rows(body)) == 10
    assert 'href="?module=bulk-1&amp;sort=score&amp;page=1"' in body  # "Previous" and "1"


@pytest.mark.parametrize(("asked", "shown"), [("0", 1), ("-3", 1), ("x", 1), ("", 1), ("99", 2)])
def test_a_page_out_of_range_shows_the_nearest(
    mentor_client: Client, cohort: Cohort, asked: str, shown: int
) -> None:
    bulk_grid(cohort, learners=60, projects=2, modules=1)
    body = mentor_client.get(URL, {"page": asked}).content.decode()
    assert f'<span class="page-link" aria-current="page">{shown}</span>' in body
    assert len(rows(body)) == (50 if shown == 1 else 10)


def test_a_cohort_of_one_page_has_no_pager(mentor_client: Client, grid: dict[str, Attempt]) -> None:
    body = mentor_client.get(URL).content.decode()
    assert "Matrix pages" not in body
    assert "Learners 1–" not in body


@dataclass(frozen=True)
class NextMatrixFacts:
    """The page's facts as a next release might shape them: one more field. At module
    level, so it pickles as the real one does."""

    modules: list[tuple[str, str]]
    learner_count: int
    columns: dict[str, int]
    valid_until: datetime | None
    at_risk_count: int = 0


def test_a_deploy_that_reshapes_the_cached_facts_never_reads_the_old_ones(
    mentor_client: Client, grid: dict[str, Attempt], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's facts are pickled: a release that changes their dataclass (and no
    template) must miss, not unpickle the old shape and fail on a missing field."""
    from core.reporting.views import progress

    assert mentor_client.get(URL).status_code == 200  # facts and table now cached

    built = []
    monkeypatch.setattr(progress, "MatrixFacts", NextMatrixFacts)
    monkeypatch.setattr(
        progress, "cohort_snapshot", lambda *args: built.append(args) or cohort_snapshot(*args)
    )
    response = mentor_client.get(URL)

    assert response.status_code == 200
    assert len(rows(response.content.decode())) == 3
    assert len(built) == 1  # the facts were built again, under a key of their new shape
    assert mentor_client.get(URL).status_code == 200
    assert len(built) == 1  # and cached under it
