"""Join codes: a person joins a cohort as a learner with a code staff gave them.

The service first (who may join, what is counted and audited), then the pages: the
home page's "Have a join code?" form, /join/ and the shared link /join/<code>/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from core.cohorts.join_codes import (
    CODE_LENGTH,
    JoinRefused,
    NewJoinCode,
    code_digest,
    code_new,
    code_normalized,
    join_code_create,
    join_code_redeem,
    join_code_revoke,
)
from core.models import AuditEvent, Cohort, JoinCode, Membership, ProjectRelease, User
from tests.factories import PASSWORD, CohortFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


@pytest.fixture
def new_code(cohort: Cohort, staff: User) -> NewJoinCode:
    """A code of Cohort 7 for three people; the audit log starts empty after it."""
    new = join_code_create(cohort=cohort, max_uses=3, created_by=staff)
    AuditEvent.objects.all().delete()  # making staff (sam) was audited
    return new


def learners_of(cohort: Cohort) -> set[str]:
    return set(cohort.memberships.learners().values_list("user__email", flat=True))


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


# --- Codes ----------------------------------------------------------------------------------


def test_a_code_has_100_random_bits_in_four_groups() -> None:
    code = code_new()
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{5}-){3}[0-9A-HJKMNP-TV-Z]{5}", code)
    assert len({code_new() for _ in range(50)}) == 50
    assert CODE_LENGTH * 5 == 100


def test_reading_a_code_forgives_case_spaces_dashes_and_look_alikes() -> None:
    assert code_normalized(" k7qm2 9xwtr-4hboc zp8ns ") == "K7QM29XWTR4HB0CZP8NS"
    assert code_normalized("K7QM2-9XWTR-4HB1C-ZP8NS") == code_normalized("k7qm2-9xwtr-4hblc-zp8ns")
    assert code_normalized("K7QM2-9XWTR-4HB0C-ZP8N") is None  # one character short
    assert code_normalized("K7QM2-9XWTR-4HB0C-ZP8NU") is None  # U is not in the alphabet
    assert code_normalized("K" * 20 + " " * 60) is None  # longer than anyone pastes
    assert code_digest("nope") is None


def test_only_a_hash_of_the_code_is_stored(new_code: NewJoinCode) -> None:
    row = JoinCode.objects.filter(pk=new_code.join_code.pk).values().get()
    stored = " ".join(str(value) for value in row.values())
    assert code_normalized(new_code.code) not in stored
    assert new_code.code not in stored
    assert row["digest"] == code_digest(new_code.code)
    assert row["hint"] == new_code.code[:5]
    assert new_code.url.endswith(f"/join/{new_code.code}/")


# --- Redeeming ------------------------------------------------------------------------------


def test_redeeming_adds_a_learner_counts_a_use_and_audits(
    new_code: NewJoinCode, outsider: User, cohort: Cohort
) -> None:
    membership = join_code_redeem(code=new_code.code.lower(), user=outsider)
    assert (membership.user, membership.cohort, membership.role) == (outsider, cohort, "learner")
    new_code.join_code.refresh_from_db()
    assert new_code.join_code.uses == 1
    assert actions() == ["membership_changed", "join_code_redeemed"]
    event = AuditEvent.objects.get(action="join_code_redeemed")
    assert event.object_id == str(new_code.join_code.pk)
    assert event.detail["uses"] == 1 and event.detail["cohort_id"] == cohort.pk


def refused(code: str, user: User) -> JoinRefused:
    with pytest.raises(JoinRefused) as caught:
        join_code_redeem(code=code, user=user)
    return caught.value


def test_an_unknown_code_is_refused_and_audited(outsider: User, cohort: Cohort) -> None:
    refusal = refused(code_new(), outsider).refusal
    assert refusal.reason == "unknown" and refusal.status == 404
    assert "does not exist" in refusal.message
    assert actions() == ["join_code_refused"]
    assert not Membership.objects.filter(user=outsider).exists()


def test_a_revoked_code_says_so(new_code: NewJoinCode, outsider: User) -> None:
    assert join_code_revoke(join_code=new_code.join_code)
    assert not join_code_revoke(join_code=new_code.join_code)  # once
    refusal = refused(new_code.code, outsider).refusal
    assert (refusal.reason, refusal.status) == ("revoked", 410)
    assert "withdrawn by program staff" in refusal.message
    assert "programs@prodev.example" in refusal.message
    assert actions() == ["join_code_revoked", "join_code_refused"]


def test_an_expired_code_says_when_it_expired(cohort: Cohort, outsider: User) -> None:
    with time_machine.travel(NOW, tick=False):
        new = join_code_create(cohort=cohort, max_uses=5, expires_at=NOW + timedelta(days=2))
    with time_machine.travel(NOW + timedelta(days=2, seconds=1), tick=False):
        refusal = refused(new.code, outsider).refusal
    assert (refusal.reason, refusal.status) == ("expired", 410)
    assert "expired on 7 October 2026" in refusal.message  # in the cohort's zone (EAT)
    assert not Membership.objects.filter(user=outsider).exists()


def test_a_code_works_until_its_expiry(cohort: Cohort, outsider: User) -> None:
    with time_machine.travel(NOW, tick=False):
        new = join_code_create(cohort=cohort, max_uses=5, expires_at=NOW + timedelta(days=2))
    with time_machine.travel(NOW + timedelta(days=2, seconds=-1), tick=False):
        join_code_redeem(code=new.code, user=outsider)
    assert learners_of(cohort) == {"charlie@example.com"}


def test_a_used_up_code_says_so(cohort: Cohort) -> None:
    new = join_code_create(cohort=cohort, max_uses=2)
    first, second, third = UserFactory.create_batch(3)
    join_code_redeem(code=new.code, user=first)
    join_code_redeem(code=new.code, user=second)
    refusal = refused(new.code, third).refusal
    assert (refusal.reason, refusal.status) == ("used_up", 410)
    assert "as many people as it allows (2)" in refusal.message
    new.join_code.refresh_from_db()
    assert new.join_code.uses == 2


@pytest.mark.parametrize("role", ["learner", "mentor", "reviewer"])
def test_someone_already_in_the_cohort_uses_nothing(
    role: str, new_code: NewJoinCode, cohort: Cohort
) -> None:
    user = MembershipFactory(cohort=cohort, role=role).user
    refusal = refused(new_code.code, user).refusal
    assert refusal.reason == "already_member" and refusal.membership is not None
    assert refusal.membership.role == role  # nobody is demoted to learner
    new_code.join_code.refresh_from_db()
    assert new_code.join_code.uses == 0
    assert "join_code_refused" not in actions()


def test_a_learner_of_another_cohort_is_sent_to_program_staff(
    new_code: NewJoinCode, cohort: Cohort
) -> None:
    elsewhere = CohortFactory(name="Cohort 6")
    learner = MembershipFactory(cohort=elsewhere, role="learner").user
    refusal = refused(new_code.code, learner).refusal
    assert (refusal.reason, refusal.status) == ("learning_elsewhere", 409)
    assert refusal.message == (
        "You already learn in Cohort 6. To move to Cohort 7, write to program staff "
        "(programs@prodev.example)."
    )
    assert not Membership.objects.filter(user=learner, cohort=cohort).exists()


def test_a_mentor_of_another_cohort_may_join_as_a_learner(
    new_code: NewJoinCode, cohort: Cohort
) -> None:
    mentor = MembershipFactory(cohort=CohortFactory(), role="mentor").user
    assert join_code_redeem(code=new_code.code, user=mentor).role == "learner"


# --- The home page --------------------------------------------------------------------------


def test_someone_in_no_cohort_is_offered_the_form_and_a_contact(
    outsider_client: Client, settings: Settings
) -> None:
    settings.PROGRAM_CONTACT_EMAIL = "enrol@example.org"
    html = outsider_client.get(reverse("home")).content.decode()
    assert "You are not in a cohort yet" in html
    assert "Have a join code?" in html
    assert 'hx-post="/join/"' in html and 'action="/join/"' in html
    assert 'href="mailto:enrol@example.org"' in html


def test_a_learner_is_not_offered_a_join_code(learner_client: Client) -> None:
    assert "Have a join code?" not in learner_client.get(reverse("home")).content.decode()


def test_it_joins_from_the_home_page_and_lands_on_the_curriculum(
    outsider_client: Client, new_code: NewJoinCode, cohort: Cohort, release: ProjectRelease
) -> None:
    response = outsider_client.post(reverse("join"), {"code": new_code.code}, follow=True)
    assert response.redirect_chain == [(f"{reverse('curriculum')}?cohort=cohort-7", 302)]
    html = response.content.decode()
    assert "Welcome to Cohort 7! Here is your curriculum." in html
    assert "Python Generators" in html  # the cohort's released project
    assert learners_of(cohort) == {"charlie@example.com"}


def test_htmx_gets_a_client_redirect(outsider_client: Client, new_code: NewJoinCode) -> None:
    response = outsider_client.post(reverse("join"), {"code": new_code.code}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('curriculum')}?cohort=cohort-7"


def test_htmx_gets_only_the_form_with_its_error(
    outsider_client: Client, new_code: NewJoinCode
) -> None:
    join_code_revoke(join_code=new_code.join_code)
    response = outsider_client.post(reverse("join"), {"code": new_code.code}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="join-form"') and "<html" not in html
    assert "withdrawn by program staff" in html
    assert 'aria-invalid="true"' in html


def test_a_code_of_the_wrong_shape_is_refused_before_any_lookup(outsider_client: Client) -> None:
    response = outsider_client.post(reverse("join"), {"code": "hello"})
    assert response.status_code == 200
    assert "A join code has 20 letters and digits." in response.content.decode()
    assert "join_code_refused" not in actions()


def test_the_join_page_without_htmx_is_a_whole_page(outsider_client: Client) -> None:
    response = outsider_client.post(reverse("join"), {"code": ""})
    html = response.content.decode()
    assert "<html" in html and "<h1" in html
    assert "Enter the join code program staff gave you." in html


def test_a_member_entering_their_cohorts_code_goes_to_its_curriculum(
    learner_client: Client, new_code: NewJoinCode
) -> None:
    response = learner_client.post(reverse("join"), {"code": new_code.code}, follow=True)
    assert response.redirect_chain[-1][0] == f"{reverse('curriculum')}?cohort=cohort-7"
    assert "You are already in Cohort 7 (as a learner)." in response.content.decode()


# --- The link -------------------------------------------------------------------------------


def test_the_link_names_the_cohort_and_joins_on_a_post(
    outsider_client: Client, new_code: NewJoinCode, cohort: Cohort
) -> None:
    url = reverse("join_link", args=[new_code.code])
    html = outsider_client.get(url).content.decode()
    assert '<h1 class="h3 mb-3">Join Cohort 7</h1>' in html
    assert "charlie@example.com" in html
    assert not learners_of(cohort)  # a GET joins nobody
    response = outsider_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('curriculum')}?cohort=cohort-7"
    assert learners_of(cohort) == {"charlie@example.com"}


@pytest.mark.parametrize(
    ("state", "status", "heading"),
    [
        ("revoked", 410, "This join code was withdrawn"),
        ("expired", 410, "This join code has expired"),
        ("used_up", 410, "This join code is used up"),
    ],
)
def test_a_link_that_no_longer_works_says_why(
    state: str, status: int, heading: str, outsider_client: Client, new_code: NewJoinCode
) -> None:
    join_code = new_code.join_code
    if state == "revoked":
        join_code_revoke(join_code=join_code)
    elif state == "expired":
        JoinCode.objects.filter(pk=join_code.pk).update(expires_at=timezone.now())
    else:
        JoinCode.objects.filter(pk=join_code.pk).update(uses=join_code.max_uses)
    url = reverse("join_link", args=[new_code.code])
    for response in (outsider_client.get(url), outsider_client.post(url)):
        assert response.status_code == status
        html = response.content.decode()
        assert heading in html
        assert "Ask program staff (programs@prodev.example) for a new one." in html
    assert not Membership.objects.filter(user__email="charlie@example.com").exists()


def test_an_unknown_link_says_so_in_words(outsider_client: Client) -> None:
    response = outsider_client.get(reverse("join_link", args=["not-a-code"]))
    assert response.status_code == 404
    assert "This join code does not work" in response.content.decode()


def test_a_member_following_the_link_is_told_they_are_in(
    learner_client: Client, new_code: NewJoinCode
) -> None:
    response = learner_client.get(reverse("join_link", args=[new_code.code]))
    assert response.status_code == 200
    assert "You are already in Cohort 7" in response.content.decode()


def test_anonymous_visitors_sign_in_then_come_back_to_the_link(
    client: Client, new_code: NewJoinCode, cohort: Cohort
) -> None:
    url = reverse("join_link", args=[new_code.code])
    response = client.get(url)
    assert response.status_code == 302
    login = f"{reverse('account_login')}?next={url}"
    assert response["Location"] == login
    # The sign-in page offers to sign up, keeping the way back.
    signup = f"{reverse('account_signup')}?next={url.replace('/', '%2F')}"
    html = client.get(login).content.decode()
    assert f'href="{signup}"' in html
    assert "Sign in to join your cohort with this link, or sign up first" in html
    assert "Cohort 7" not in html  # nothing about the code before signing in
    UserFactory(email="dana@example.com")
    response = client.post(
        reverse("account_login"), {"login": "dana@example.com", "password": PASSWORD, "next": url}
    )
    assert response["Location"] == url
    assert "Join Cohort 7" in client.get(url).content.decode()


def test_anonymous_posts_join_nobody(client: Client, new_code: NewJoinCode) -> None:
    for url in (reverse("join"), reverse("join_link", args=[new_code.code])):
        response = client.post(url, {"code": new_code.code})
        assert response["Location"].startswith(reverse("account_login"))
    new_code.join_code.refresh_from_db()
    assert new_code.join_code.uses == 0


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_refused(
    method: str, outsider_client: Client, new_code: NewJoinCode
) -> None:
    for url in (reverse("join"), reverse("join_link", args=[new_code.code])):
        assert getattr(outsider_client, method)(url).status_code == 405


def test_a_post_without_the_csrf_token_is_refused(outsider: User, new_code: NewJoinCode) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(outsider)
    for url in (reverse("join"), reverse("join_link", args=[new_code.code])):
        assert client.post(url, {"code": new_code.code}).status_code == 403
    assert not Membership.objects.filter(user=outsider).exists()


def test_redeeming_is_rate_limited(
    settings: Settings, outsider_client: Client, new_code: NewJoinCode
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "join_codes": 2}
    for _ in range(2):
        assert outsider_client.post(reverse("join"), {"code": code_new()}).status_code == 200
    response = outsider_client.post(reverse("join"), {"code": new_code.code})
    assert response.status_code == 429
    # The link counts in the same budget, GETs too: guessing one way or the other is one.
    assert outsider_client.get(reverse("join_link", args=[new_code.code])).status_code == 429
    assert not Membership.objects.filter(user__email="charlie@example.com").exists()
    assert "rate_limited" in actions()


# --- The admin ------------------------------------------------------------------------------


def test_staff_create_a_code_and_see_its_link_once(
    staff_client: Client, cohort: Cohort, settings: Settings
) -> None:
    settings.SITE_URL = "https://hub.example"
    add = reverse("admin:core_joincode_add")
    form = staff_client.get(f"{add}?cohort={cohort.pk}").content.decode()
    assert 'name="max_uses"' in form and 'value="100"' in form
    expires = timezone.localtime(timezone.now() + timedelta(days=3), cohort.tz)
    response = staff_client.post(
        add,
        {
            "cohort": cohort.pk,
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
            "max_uses": 30,
        },
        follow=True,
    )
    join_code = JoinCode.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "admin:core_joincode_change", args=[join_code.pk]
    )
    html = response.content.decode()
    [code] = re.findall(r"https://hub\.example/join/([0-9A-Z-]{23})/", html)[:1]
    assert code_digest(code) == join_code.digest
    assert (join_code.max_uses, join_code.created_by.email) == (30, "sam@example.com")
    # Shown once: the page read again has only the hint.
    again = staff_client.get(reverse("admin:core_joincode_change", args=[join_code.pk]))
    assert code not in again.content.decode()
    assert f"{join_code.hint}-…" in again.content.decode()


def test_staff_cannot_create_a_code_that_is_already_expired(
    staff_client: Client, cohort: Cohort
) -> None:
    past = timezone.localtime(timezone.now() - timedelta(days=1), cohort.tz)
    response = staff_client.post(
        reverse("admin:core_joincode_add"),
        {
            "cohort": cohort.pk,
            "expires_at_0": past.strftime("%Y-%m-%d"),
            "expires_at_1": "12:00:00",
            "max_uses": 5,
        },
    )
    assert "A new join code must expire in the future." in response.content.decode()
    assert not JoinCode.objects.exists()


def test_the_cohort_page_lists_its_codes_and_offers_a_new_one(
    staff_client: Client, new_code: NewJoinCode, cohort: Cohort
) -> None:
    html = staff_client.get(reverse("admin:core_cohort_change", args=[cohort.pk])).content.decode()
    assert f"{new_code.join_code.hint}-…" in html
    assert "0 of 3" in html and "Active" in html
    assert f"{reverse('admin:core_joincode_add')}?cohort={cohort.pk}" in html


def test_staff_revoke_codes_with_the_action(staff_client: Client, new_code: NewJoinCode) -> None:
    response = staff_client.post(
        reverse("admin:core_joincode_changelist"),
        {"action": "revoke_action", "_selected_action": [new_code.join_code.pk]},
        follow=True,
    )
    assert "Revoked 1 join code: nobody can join with them any more." in response.content.decode()
    new_code.join_code.refresh_from_db()
    assert new_code.join_code.state() == JoinCode.State.REVOKED
    assert "join_code_revoked" in actions()


def test_staff_cannot_lower_the_maximum_below_the_uses(
    staff_client: Client, new_code: NewJoinCode, outsider: User
) -> None:
    join_code_redeem(code=new_code.code, user=outsider)
    join_code_redeem(code=new_code.code, user=UserFactory())
    join_code = new_code.join_code
    expires = timezone.localtime(join_code.expires_at, join_code.cohort.tz)
    response = staff_client.post(
        reverse("admin:core_joincode_change", args=[join_code.pk]),
        {
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
            "max_uses": 1,
        },
    )
    assert "2 people have joined with this code already" in response.content.decode()
    join_code.refresh_from_db()
    assert join_code.max_uses == 3


def test_the_home_pages_form_keeps_its_compact_label_after_an_error(
    outsider_client: Client,
) -> None:
    home = outsider_client.get(reverse("home")).content.decode()
    assert 'class="form-label fw-semibold visually-hidden">Join code</label>' in home
    data = {"code": "short", "compact": "1"}
    fragment = outsider_client.post(reverse("join"), data, headers=HTMX).content.decode()
    assert 'class="form-label fw-semibold visually-hidden">Join code</label>' in fragment
    assert 'name="compact"' in fragment
    page = outsider_client.post(reverse("join"), {"code": "short"}).content.decode()
    assert 'class="form-label fw-semibold">Join code</label>' in page
