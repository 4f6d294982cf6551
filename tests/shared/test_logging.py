"""Logs are JSON lines with the member id bound and never a token."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

import pytest
import structlog

from shared.logging import REDACTED, configure_logging, get_logger, scrub_secrets

GITHUB_TOKEN = "gho_" + "A1b2C3d4E5f6G7h8I9j0" * 2
FERNET_BLOB = "gAAAAABm" + "x1Y2z3W4v5U6t7S8r9Q0_-" * 3 + "=="


def scrub(**event: object) -> dict[str, object]:
    return scrub_secrets(None, "info", dict(event))


@pytest.mark.parametrize("prefix", ["gho_", "ghp_", "ghu_", "ghs_", "ghr_"])
def test_github_tokens_are_removed_from_strings(prefix: str) -> None:
    token = prefix + "Z" * 36
    event = scrub(event="sync failed", detail=f"request with {token} refused")
    assert token not in json.dumps(event)
    assert event["detail"] == f"request with {REDACTED} refused"


def test_bearer_tokens_are_removed() -> None:
    event = scrub(event="call", header="Authorization: Bearer abc.DEF-123_xyz987")
    assert "abc.DEF-123_xyz987" not in json.dumps(event)
    assert event["header"] == f"Authorization: Bearer {REDACTED}"


def test_fernet_blobs_are_removed() -> None:
    event = scrub(event="stored", value=f"row {FERNET_BLOB}")
    assert FERNET_BLOB not in json.dumps(event)
    assert "gAAAAA" not in json.dumps(event)


def test_query_string_tokens_and_codes_are_removed() -> None:
    event = scrub(event="redirect", url="https://x.test/cb?code=abcdef123456&state=s1")
    assert "abcdef123456" not in json.dumps(event)
    assert "state=s1" in event["url"]  # type: ignore[operator]


@pytest.mark.parametrize(
    "key", ["token", "access_token", "refresh_token", "client_secret", "Authorization", "password"]
)
def test_values_of_secret_named_keys_are_dropped(key: str) -> None:
    event = scrub(event="e", **{key: "plain-value-that-looks-harmless"})
    assert event[key] == REDACTED


def test_secret_named_keys_are_dropped_whatever_the_value_type() -> None:
    event = scrub(event="e", token={"nested": "x"}, tokens_left=5)
    assert event["token"] == REDACTED


def test_harmless_values_are_kept() -> None:
    event = scrub(event="sync_done", member_id=42, weeks=10, repository="octo/cat")
    assert event == {"event": "sync_done", "member_id": 42, "weeks": 10, "repository": "octo/cat"}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    httpx_level = logging.getLogger("httpx").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(httpx_level)
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_configured_logger_writes_json_lines_with_member_id_and_no_token(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", service="fetcher")
    log = get_logger("tests.logging")
    structlog.contextvars.bind_contextvars(member_id=7)
    log.info("sync_started", github_token=GITHUB_TOKEN, note=f"using {GITHUB_TOKEN}")
    log.debug("too_detailed")
    err = capsys.readouterr().err
    assert GITHUB_TOKEN not in err
    lines = json_lines(err)
    assert len(lines) == 1
    (line,) = lines
    assert line["event"] == "sync_started"
    assert line["member_id"] == 7
    assert line["service"] == "fetcher"
    assert line["level"] == "info"
    assert line["github_token"] == REDACTED
    assert line["note"] == f"using {REDACTED}"
    assert "timestamp" in line


def test_stdlib_loggers_go_through_the_same_scrubbing(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", service="uploader")
    logging.getLogger("dramatiq.worker").warning("retrying with Bearer %s", "s3cr3tT0kenValue")
    err = capsys.readouterr().err
    assert "s3cr3tT0kenValue" not in err
    (line,) = json_lines(err)
    assert line["service"] == "uploader"
    assert line["level"] == "warning"
    assert "retrying with Bearer" in str(line["event"])


def test_lines_logged_by_other_threads_name_the_service_too(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Worker threads (Dramatiq's, APScheduler's) start with a context of their own.
    configure_logging("INFO", service="scheduler")
    thread = threading.Thread(target=lambda: get_logger("scheduler").info("scheduler_tick"))
    thread.start()
    thread.join()
    (line,) = json_lines(capsys.readouterr().err)
    assert line["event"] == "scheduler_tick"
    assert line["service"] == "scheduler"


def test_a_second_configuration_applies_to_loggers_already_used(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # One process configuring twice (the CLI at WARNING, then a service at INFO, in one test
    # run): a logger used under the first must follow the second.
    log = get_logger("tests.logging.reconfigured")
    configure_logging("WARNING", service="cli")
    log.info("hidden_at_warning")
    configure_logging("INFO", service="gateway")
    log.info("shown_at_info")
    lines = json_lines(capsys.readouterr().err)
    assert [line["event"] for line in lines] == ["shown_at_info"]
    assert lines[0]["service"] == "gateway"
