"""``ohgithub-admin`` against real Redis and a real database (SQLite and PostgreSQL): what an
operator reads, and what each command changes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from shared import keys
from shared.db import Member, StagedWeek, connection, utcnow
from shared.syncstate import SyncState
from tests.conftest import TEST_TOKEN_KEY, PostgresServer, fresh_postgres_database

GITHUB_ID = 583231


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/cli.sqlite3"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture
def admin(database_url: str, redis_url: str) -> Iterator[Any]:
    """Runs ``ohgithub-admin`` with the services' environment; returns (exit code, output)."""
    from gateway.cli import cli
    from shared.db import db, init_database

    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "cli-test-secret-" + "x" * 32,
        "TOKEN_ENCRYPTION_KEYS": TEST_TOKEN_KEY,
        "OPENHUMANS_URL": "https://openhumans.test",
        "GITHUB_API_URL": "https://api.github.test",
        "GITHUB_WEB_URL": "https://github.test",
        "STALE_AFTER": "4d",
    }
    init_database(database_url)  # the test arranges members in the same database
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), env=env, input=input, catch_exceptions=False)

    yield run
    db.close()


def add_member(**fields: Any) -> Member:
    values: dict[str, Any] = {
        "oh_member_id": f"{10000000 + Member.select().count() + 1}",
        "github_token": "encrypted",
        "sync_state": SyncState.DONE.value,
    }
    values.update(fields)
    with connection():
        member: Member = Member.create(**values)
    return member


def state_of(member: Member) -> str:
    with connection():
        return str(Member.get_by_id(member.id).sync_state)


def fetch_messages(redis_client: Any) -> list[list[Any]]:
    bodies = redis_client.hvals(keys.queue_messages("fetch"))
    return [json.loads(body)["args"] for body in bodies]


def test_members_lists_by_state_as_text_and_json(admin: Any, redis_client: Any) -> None:
    add_member(oh_username="ada", github_login="ada-gh", sync_state="done")
    add_member(oh_username="bob", github_login="bob-gh", sync_state="waiting")
    add_member(oh_username="cy", github_token="", sync_state="new")

    listed = admin("members")
    assert listed.exit_code == 0
    assert "ada-gh" in listed.output and "bob-gh" in listed.output
    assert "1 done, 1 new, 1 waiting" in listed.output

    waiting = json.loads(admin("members", "--state", "waiting", "--json").stdout)
    assert [row["oh_username"] for row in waiting["members"]] == ["bob"]
    assert waiting["by_state"] == {"waiting": 1}
    assert "github_token" not in waiting["members"][0]  # never a token, even encrypted

    refused = admin("members", "--state", "sleeping")
    assert refused.exit_code == 2
    assert "sleeping" in refused.output


def test_show_finds_a_member_by_any_name_and_reads_their_github_budgets(
    admin: Any, redis_client: Any
) -> None:
    from shared.github.ratelimit import RateLimiter

    member = add_member(
        oh_username="ada",
        github_login="Ada-GH",
        github_id=GITHUB_ID,
        coverage_first_week="2024-W01",
        coverage_last_week="2024-W10",
        file_size=2048,
        file_summary='{"weeks": 10, "commits": 12, "pull_requests": 1, "issues": 0, "reviews": 2}',
    )
    with connection():
        StagedWeek.create(
            member=member, week="2024-W11", data="{}", complete=True, fetched_at=utcnow()
        )
    reset = int(utcnow().timestamp()) + 1800
    RateLimiter(redis_client).record(
        GITHUB_ID,
        {"x-ratelimit-remaining": "4321", "x-ratelimit-reset": str(reset),
         "x-ratelimit-limit": "5000", "x-ratelimit-resource": "core"},
    )  # fmt: skip

    for reference in (str(member.id), member.oh_member_id, "ada", "ada-gh"):
        shown = json.loads(admin("show", reference, "--json").stdout)
        assert shown["id"] == member.id, reference
    assert shown["staged_weeks"] == 1
    assert shown["contents"] == "12 commits, 1 pull request, 0 issues and 2 reviews over 10 weeks"
    assert shown["github_budgets"]["core"]["remaining"] == 4321
    assert shown["github_budgets"]["core"]["limit"] == 5000

    text = admin("show", "ada").output
    assert "4321/5000 left" in text
    assert "2024-W01 to 2024-W10" in text

    missing = admin("show", "nobody")
    assert missing.exit_code == 1
    assert "no member 'nobody'" in missing.output


def test_sync_queues_the_members_named_unless_their_state_forbids(
    admin: Any, redis_client: Any
) -> None:
    at_rest = add_member(oh_username="ada", sync_requested_at=utcnow())  # cooldown: no matter
    revoked = add_member(oh_username="bob", sync_state="needs_reconnect")

    result = admin("sync", "ada", "bob", "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"queued": [at_rest.id], "skipped": [revoked.id]}
    assert state_of(at_rest) == "queued"
    assert state_of(revoked) == "needs_reconnect"
    assert fetch_messages(redis_client) == [[at_rest.id]]
    assert admin("sync").exit_code == 2  # neither members nor --stale


def test_sync_stale_queues_every_member_due_with_a_progress_bar(
    admin: Any, redis_client: Any
) -> None:
    long_ago = utcnow() - dt.timedelta(days=5)
    due = [add_member(oh_username=f"old{i}", last_synced_at=long_ago) for i in range(3)]
    fresh = add_member(oh_username="fresh", last_synced_at=utcnow())
    busy = add_member(oh_username="busy", last_synced_at=long_ago, sync_state="syncing")
    unconnected = add_member(oh_username="new", github_token="", sync_state="new")

    result = admin("sync", "--stale")

    assert result.exit_code == 0
    assert "Queueing syncs" in result.stderr
    assert "3 sync(s) queued" in result.stdout
    assert sorted(m[0] for m in fetch_messages(redis_client)) == [m.id for m in due]
    assert [state_of(m) for m in due] == ["queued"] * 3
    assert state_of(fresh) == "done"
    assert state_of(busy) == "syncing"
    assert state_of(unconnected) == "new"


def test_erase_forgets_the_member_after_confirmation(admin: Any, redis_client: Any) -> None:
    member = add_member(oh_username="ada", github_id=GITHUB_ID)
    with connection():
        StagedWeek.create(
            member=member, week="2024-W11", data="{}", complete=True, fetched_at=utcnow()
        )
    redis_client.set(keys.sync_progress(member.id), "commits read so far")
    redis_client.set(keys.etag_prefix(GITHUB_ID) + "abc", "cached body")

    kept = admin("erase", "ada", input="n\n")
    assert kept.exit_code == 1  # aborted
    with connection():
        assert Member.get_or_none(Member.id == member.id) is not None

    erased = admin("erase", "ada", "--yes", "--json")
    assert erased.exit_code == 0
    assert json.loads(erased.stdout)["erased"] is True
    with connection():
        assert Member.get_or_none(Member.id == member.id) is None
        assert StagedWeek.select().count() == 0
    assert redis_client.keys("ohgithub:sync-progress:*") == []
    assert redis_client.keys("ohgithub:etag:*") == []


def test_queues_counts_ready_delayed_and_dead_messages(
    admin: Any, redis_client: Any, redis_url: str
) -> None:
    from shared.queues import send_resumed_sync, send_sync, send_upload, setup_broker

    setup_broker(redis_url)
    send_sync(1)
    send_sync(2)
    send_sync(3, delay_ms=3_600_000)
    send_resumed_sync(4, delay_ms=3_600_000)  # a sync waiting for GitHub's reset
    send_upload(1)
    redis_client.hset(keys.dead_messages("upload"), "dead-id", "{}")

    depths = json.loads(admin("queues", "--json").stdout)

    assert depths["fetch"] == {"ready": 2, "in_progress": 0, "delayed": 1, "dead": 0}
    assert depths["fetch-resumed"] == {"ready": 0, "in_progress": 0, "delayed": 1, "dead": 0}
    assert depths["upload"] == {"ready": 1, "in_progress": 0, "delayed": 0, "dead": 1}
    assert "fetch" in admin("queues").output
    assert "fetch-resumed" in admin("queues").output


def test_budgets_lists_each_github_user_with_their_login(admin: Any, redis_client: Any) -> None:
    from shared.github.ratelimit import RateLimiter

    assert "no GitHub budgets recorded" in admin("budgets").output
    add_member(oh_username="ada", github_login="ada-gh", github_id=GITHUB_ID)
    reset = int(utcnow().timestamp()) + 600
    limiter = RateLimiter(redis_client)
    for resource, remaining in (("core", "12"), ("graphql", "4990")):
        limiter.record(
            GITHUB_ID,
            {"x-ratelimit-remaining": remaining, "x-ratelimit-reset": str(reset),
             "x-ratelimit-limit": "5000", "x-ratelimit-resource": resource},
        )  # fmt: skip

    body = json.loads(admin("budgets", "--json").stdout)

    [user] = body["github_users"]
    assert user["github_login"] == "ada-gh"
    assert user["budgets"]["core"]["remaining"] == 12
    assert user["budgets"]["graphql"]["remaining"] == 4990
    assert "12/5000 left" in admin("budgets").output
