"""Task 6: tracker/tests/test_api.py tests the API like a client, and catches regressions."""

from __future__ import annotations

import ast
import inspect
import io
import unittest
from typing import Any

import pytest

MIN_TESTS = 8


@pytest.fixture
def learner_tests() -> Any:
    try:
        from tracker.tests import test_api
    except ImportError as error:
        pytest.fail(f"tracker/tests/test_api.py cannot be imported: {error}", pytrace=False)
    return test_api


def run_learner_tests(module: Any) -> unittest.TestResult:
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    return unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)


def test_it_has_api_test_cases(learner_tests: Any) -> None:
    """test_api.py defines APITestCase classes"""
    from rest_framework.test import APITestCase

    classes = [c for c in vars(learner_tests).values() if inspect.isclass(c)]
    assert any(issubclass(c, APITestCase) for c in classes)


def test_there_are_enough_tests(learner_tests: Any) -> None:
    """At least eight tests: the endpoints' success and error paths"""
    count = unittest.defaultTestLoader.loadTestsFromModule(learner_tests).countTestCases()
    assert count >= MIN_TESTS, f"{count} tests"


def test_list_query_counts_are_checked(learner_tests: Any) -> None:
    """The tests assert the query count of a list endpoint (assertNumQueries)"""
    tree = ast.parse(inspect.getsource(learner_tests))
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "assertNumQueries" in names or "CaptureQueriesContext" in inspect.getsource(
        learner_tests
    )


# Transactional: the learner's TestCases open their own transactions, as under manage.py test.
@pytest.mark.django_db(transaction=True)
def test_the_tests_pass(learner_tests: Any) -> None:
    """The tests pass against the project's own code"""
    result = run_learner_tests(learner_tests)
    problems = [
        f"{test}: {trace.splitlines()[-1]}" for test, trace in result.failures + result.errors
    ]
    assert result.wasSuccessful(), problems


@pytest.mark.django_db(transaction=True)
def test_the_tests_catch_a_broken_close(
    learner_tests: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When closing a closed ticket wrongly answers 200, a test fails"""
    from rest_framework.response import Response
    from tracker.models import Ticket
    from tracker.views import TicketViewSet

    def always_closes(self: Any, request: Any, pk: Any = None) -> Response:
        ticket = self.get_object()
        Ticket.objects.filter(pk=ticket.pk).update(status="closed")
        ticket.refresh_from_db()
        return Response(self.get_serializer(ticket).data)

    monkeypatch.setattr(TicketViewSet, "close", always_closes)
    result = run_learner_tests(learner_tests)
    assert result.failures or result.errors, "every test still passes with a broken close"
