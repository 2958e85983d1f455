"""Request ids (X-Request-ID) and log lines that carry them and cannot be forged."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from django.test import Client

from core.models import User
from core.platform.logging import JsonFormatter, PlainFormatter, RequestContextFilter
from tests.support import PRODUCTION_ENV, manage

FORGED = '\n{"fake": 1}'


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """What the production handler writes for the duration of the test (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    """Every line parsed as JSON (fails the test if any line is not an object)."""
    lines = stream.getvalue().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


# --- The header ----------------------------------------------------------------------


def test_it_returns_a_fresh_request_id(client: Client, db: None) -> None:
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_it_keeps_a_proxys_well_formed_request_id(client: Client, db: None) -> None:
    response = client.get("/", headers={"X-Request-ID": "lb-2f0c3e9a-7d1b"})
    assert response["X-Request-ID"] == "lb-2f0c3e9a-7d1b"


@pytest.mark.parametrize(
    "incoming",
    ["short", "x" * 65, "has space 12345", 'evil"\n{"fake":1}', "semi;colon-1234", "ünïcode-12345"],
)
def test_it_replaces_a_malformed_request_id(client: Client, db: None, incoming: str) -> None:
    response = client.get("/", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_redirects_and_errors_carry_it_too(client: Client, outsider_client: Client) -> None:
    assert client.get("/dashboard/").status_code == 302
    assert "X-Request-ID" in client.get("/dashboard/")
    assert "X-Request-ID" in outsider_client.get("/attempts/999999/")


# --- Log records -----------------------------------------------------------------------


def test_log_lines_carry_the_request_id_path_and_user(
    outsider_client: Client, outsider: User, log_stream: io.StringIO
) -> None:
    response = outsider_client.get("/attempts/999999/")
    assert response.status_code == 404
    entries = json_lines(log_stream)
    not_found = next(e for e in entries if e["logger"] == "django.request")
    assert not_found["message"] == "Not Found: /attempts/999999/"
    assert not_found["request_id"] == response["X-Request-ID"]
    assert not_found["path"] == "/attempts/999999/"
    assert not_found["user_id"] == outsider.pk
    assert not_found["level"] == "WARNING"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(not_found["time"]))
    audit = next(e for e in entries if e["logger"] == "prodev.audit")
    assert audit["request_id"] == response["X-Request-ID"]
    assert audit["audit"]["action"] == "authz_denied"  # type: ignore[index]


def test_lines_outside_a_request_have_no_request_id(log_stream: io.StringIO) -> None:
    logging.getLogger("prodev.test").warning("between requests")
    (entry,) = json_lines(log_stream)
    assert entry["request_id"] is None and entry["path"] is None and entry["user_id"] is None


def test_a_forged_path_cannot_add_a_log_line(
    outsider_client: Client, log_stream: io.StringIO
) -> None:
    outsider_client.get("/attempts/1/%0A%7B%22fake%22:%201%7D/")
    outsider_client.get('/nowhere/\n{"fake": 1}')
    entries = json_lines(log_stream)
    assert {"fake": 1} not in entries
    # The path was logged (Django escapes it too), inside one JSON line.
    assert any('{"fake": 1}' in str(entry["message"]) for entry in entries)


def test_a_forged_email_cannot_add_a_log_line() -> None:
    logger = logging.getLogger("prodev.test")
    record = logger.makeRecord("prodev.test", logging.WARNING, __file__, 1, "%s", (FORGED,), None)
    RequestContextFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line and json.loads(line)["message"] == FORGED


def test_the_development_format_escapes_line_breaks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PlainFormatter("%(levelname)s [%(request_id)s] %(message)s"))
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("prodev.test")
    logger.addHandler(handler)
    try:
        logger.warning("signed up as %s", f"mallory@example.com{FORGED}\r\x1b[31m")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("it failed")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == ('WARNING [-] signed up as mallory@example.com\\n{"fake": 1}\\r\\x1b[31m')
    # Tracebacks still print on several lines: they are ours, not the user's.
    assert lines[1] == "ERROR [-] it failed"
    assert lines[2].startswith("Traceback")


def test_production_logs_are_json_lines() -> None:
    code = (
        "import logging; "
        "logging.getLogger('prodev.test').warning('user said %s', "
        "'hi\\n{\"fake\": 1}')"
    )
    result = manage("shell", "--no-imports", "-c", code, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    (entry,) = [e for e in entries if e["logger"] == "prodev.test"]
    assert entry["message"] == 'user said hi\n{"fake": 1}'
    assert entry["level"] == "WARNING"
