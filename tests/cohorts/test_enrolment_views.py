"""Enrolment by CSV, the pages: upload, preview, apply, result (staff only)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import DjangoAssertNumQueries, Settings
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.models import Cohort, Membership, User
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def upload_url(cohort: Cohort) -> str:
    return reverse("cohort_enrol", args=[cohort.slug])


def apply_url(cohort: Cohort) -> str:
    return reverse("cohort_enrol_apply", args=[cohort.slug])


def csv_file(text: str, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def signed_rows(html: str) -> str:
    match = re.search(r'name="rows" value="([^"]+)"', html)
    assert match, "the preview offers no apply button"
    return match.group(1)


PEOPLE = "email,name,role\nada@example.com,Ada Lovelace,learner\nmia@example.com,Mia,reviewer\n"


def test_it_shows_the_form_with_the_size_limit(staff_client: Client, cohort: Cohort) -> None:
    response = staff_client.get(upload_url(cohort))
    assert response.status_code == 200
    assert b"up to 512 KB and 2,000 people" in response.content


def test_it_previews_then_applies_and_says_what_happened(
    staff_client: Client,
    cohort: Cohort,
    mentor: User,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[mail.EmailMessage],
) -> None:
    response = staff_client.post(upload_url(cohort), {"file": csv_file(PEOPLE)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Check before you enrol" in html
    assert "New person" in html and "Role change" in html and "Mentor → Reviewer" in html
    assert not User.objects.filter(email="ada@example.com").exists()  # nothing yet

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(apply_url(cohort), {"rows": signed_rows(html)})
    assert response.status_code == 200
    assert "Enrolment done" in response.content.decode()
    assert "1 new member" in response.content.decode()
    roles = dict(cohort.memberships.values_list("user__email", "role"))
    assert roles["ada@example.com"] == "learner"
    assert roles["mia@example.com"] == "reviewer"
    assert [message.to for message in mailoutbox] == [["ada@example.com"]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,email\nAda,ada@example.com\n", "must name the columns"),
        (
            "email,name,role\r\nada@example.com,Ada,learner\nbob@example.com,Bob,learner\n",
            "mixes line endings",
        ),
    ],
)
def test_a_bad_file_is_refused_on_the_form(
    staff_client: Client, cohort: Cohort, content: str, message: str
) -> None:
    response = staff_client.post(upload_url(cohort), {"file": csv_file(content)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'name="rows"' not in response.content.decode()


def test_a_ten_megabyte_file_is_refused_by_its_size(staff_client: Client, cohort: Cohort) -> None:
    big = SimpleUploadedFile("big.csv", b"email,name,role\n" + b"x" * (10 * 1024 * 1024))
    users = User.objects.count()
    response = staff_client.post(upload_url(cohort), {"file": big})
    assert "The file is larger than 512 KB" in response.content.decode()
    assert User.objects.count() == users


def test_bad_rows_are_listed_with_their_reasons_and_cannot_be_applied(
    staff_client: Client, cohort: Cohort
) -> None:
    content = (
        "email,name,role\n"
        'ada@example.com,"=HYPERLINK(""http://evil.example"",""Click"")",learner\n'
        "nope,Nope,learner\n"
        "bob@example.com,Bob,teacher\n"
        "eve@example.com,Eve,learner\n"
        "eve@example.com,Eve again,learner\n"
    )
    response = staff_client.post(upload_url(cohort), {"file": csv_file(content)})
    html = response.content.decode()
    assert "5 rows cannot be applied" in html
    assert "spreadsheets run as a formula" in html
    assert "“nope” is not a valid email address." in html
    assert "Unknown role “teacher”" in html
    assert "also on line 6" in html and "also on line 5" in html
    assert 'name="rows"' not in html  # no apply button
    # The formula is shown as text, escaped, never as markup or a live link.
    assert "=HYPERLINK(&quot;http://evil.example&quot;,&quot;Click&quot;)" in html
    assert 'href="http://evil.example"' not in html


def test_a_tampered_preview_is_refused_and_changes_nothing(
    staff_client: Client, cohort: Cohort
) -> None:
    html = staff_client.post(upload_url(cohort), {"file": csv_file(PEOPLE)}).content.decode()
    signed = signed_rows(html)
    response = staff_client.post(apply_url(cohort), {"rows": signed[:-3] + "abc"})
    assert response.status_code == 302
    assert response["Location"] == upload_url(cohort)
    assert not User.objects.filter(email="ada@example.com").exists()


def test_a_preview_of_another_cohort_is_refused(
    staff_client: Client, cohort: Cohort, release: object
) -> None:
    from tests.factories import CohortFactory

    other = CohortFactory(slug="cohort-8")
    html = staff_client.post(upload_url(other), {"file": csv_file(PEOPLE)}).content.decode()
    response = staff_client.post(apply_url(cohort), {"rows": signed_rows(html)}, follow=True)
    assert "another cohort" in response.content.decode()
    assert not Membership.objects.filter(user__email="ada@example.com").exists()


def test_a_change_since_the_preview_shows_the_preview_again(
    staff_client: Client, cohort: Cohort
) -> None:
    html = staff_client.post(upload_url(cohort), {"file": csv_file(PEOPLE)}).content.decode()
    UserFactory(email="mia@example.com", is_active=False)  # deactivated meanwhile
    response = staff_client.post(apply_url(cohort), {"rows": signed_rows(html)})
    html = response.content.decode()
    assert "1 row cannot be applied" in html
    assert "deactivated" in html
    assert not User.objects.filter(email="ada@example.com").exists()


def test_outsiders_and_members_get_404(
    outsider_client: Client, mentor_client: Client, learner_client: Client, cohort: Cohort
) -> None:
    for client in (outsider_client, mentor_client, learner_client):
        assert client.get(upload_url(cohort)).status_code == 404
        assert client.post(upload_url(cohort), {"file": csv_file(PEOPLE)}).status_code == 404
        assert client.post(apply_url(cohort), {"rows": "x"}).status_code == 404


def test_anonymous_is_sent_to_sign_in(client: Client, cohort: Cohort) -> None:
    for response in (client.get(upload_url(cohort)), client.post(apply_url(cohort))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_wrong_methods_get_405(staff_client: Client, cohort: Cohort) -> None:
    assert staff_client.get(apply_url(cohort)).status_code == 405
    assert staff_client.put(upload_url(cohort)).status_code == 405


def test_csrf_is_required(staff: User, cohort: Cohort) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(upload_url(cohort), {"file": csv_file(PEOPLE)}).status_code == 403


def test_uploads_are_rate_limited(staff_client: Client, cohort: Cohort, settings: Settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "enrolment": 2}
    for _ in range(2):
        staff_client.post(upload_url(cohort), {"file": csv_file(PEOPLE)})
    assert staff_client.post(upload_url(cohort), {"file": csv_file(PEOPLE)}).status_code == 429


def csv_of_size(count: int, cohort: Cohort) -> str:
    lines = ["email,name,role"]
    for n in range(count):
        email = f"person{n}@example.com"
        if n % 2:
            MembershipFactory(user=UserFactory(email=email), cohort=cohort, role="learner")
        lines.append(f"{email},Person {n},{'mentor' if n % 4 == 3 else 'learner'}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("count", [10, 100])
def test_preview_and_apply_take_the_same_queries_at_two_sizes(
    count: int,
    staff_client: Client,
    cohort: Cohort,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    content = csv_of_size(count, cohort)
    # The signed-in user (sessions live in the cache), the cohort, the plan (people with
    # their role here).
    with django_assert_num_queries(3):
        response = staff_client.post(upload_url(cohort), {"file": csv_file(content)})
    # The user, the cohort, then the service's 12 (listed in test_enrolment.py).
    with django_assert_num_queries(14):
        staff_client.post(apply_url(cohort), {"rows": signed_rows(response.content.decode())})
    assert cohort.memberships.filter(user__email__startswith="person").count() == count


def test_the_cohort_admin_and_the_health_page_link_to_enrolment(
    staff_client: Client, cohort: Cohort
) -> None:
    link = f'href="{upload_url(cohort)}"'
    admin_page = staff_client.get(reverse("admin:core_cohort_change", args=[cohort.pk]))
    assert link in admin_page.content.decode()
    health = staff_client.get(reverse("staff_cohort_health", args=[cohort.slug]))
    assert link in health.content.decode()
