"""Hypothesis feeds the CSV reader and the upload form what people and attackers send:
any bytes, and files that look nearly right. Every one is read into rows or refused with
a reason (an EnrolmentFileError; on the page, the form again with its error); nothing
else escapes, and a refused file changes nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.cohorts.enrolment import EnrolmentFileError, Outcome, enrolment_plan, enrolment_rows_read
from core.models import Cohort, User

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI cannot flake
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["learner", "Mentor", " reviewer ", "", "=1+1", "@SUM(A1)", "ada@example.com", "a@b", '"']
    ),
    st.emails().map(str),
)
LINE_END = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def nearly_right_files(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from(["email,name,role", "role,email,name", "email,name", "e,n,r"]))
    end = draw(LINE_END)
    rows = draw(st.lists(st.lists(CELL, min_size=1, max_size=5), max_size=8))
    text = end.join([header, *(",".join(row) for row in rows)]) + draw(st.sampled_from(["", end]))
    encoded = text.encode("utf-8", errors="surrogatepass")
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + encoded


FILES = st.one_of(st.binary(max_size=300), nearly_right_files())


@FUZZ
@given(data=FILES)
def test_any_file_is_read_or_refused_with_a_reason(data: bytes, cohort: Cohort) -> None:
    try:
        rows = enrolment_rows_read(data)
    except EnrolmentFileError as error:
        assert str(error)
        return
    plan = enrolment_plan(cohort=cohort, rows=rows)
    for planned in plan.rows:
        assert (planned.outcome is Outcome.INVALID) == bool(planned.reason)
        if planned.outcome is not Outcome.INVALID:
            assert "@" in planned.row.email
            assert not planned.row.name.startswith(("=", "+", "-", "@"))


@settings(FUZZ, max_examples=50)
@given(data=FILES)
def test_the_upload_form_answers_every_file_with_a_page(
    data: bytes, staff_client: Client, cohort: Cohort
) -> None:
    from django.core.cache import cache

    cache.clear()  # rate limits
    users = User.objects.count()
    upload = SimpleUploadedFile("people.csv", data, content_type="text/csv")
    response = staff_client.post(f"/staff/cohorts/{cohort.slug}/enrol/", {"file": upload})
    assert response.status_code == 200
    assert User.objects.count() == users
