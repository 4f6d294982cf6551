"""Publishing against the sandbox's Open Humans, with its fault injection.

Each test asserts what the member would notice: the files in their Open Humans account (how
many, their bytes, every week present), what stays staged, and the member's state.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from shared.db import Member, StagedWeek
from shared.errors import DownloadUrlExpired, UpstreamUnavailable
from shared.openhumans.client import OpenHumansApi
from shared.runtime import Runtime
from shared.syncstate import SyncState
from tests.uploader.helpers import (
    FILENAME,
    RecordingLogger,
    Sandbox,
    make_member,
    only_file,
    our_files,
    stage,
    staged_weeks,
)
from uploader import existing as existing_module
from uploader.publish import publish, publish_exclusively


def publish_first_file(member: Member, runtime: Runtime) -> dict[str, Any]:
    """The member's first upload: weeks 2024-W10 and W11. Returns their staged payloads."""
    weeks = {w: stage(member, w, commits=2, fetched_at=None) for w in ("2024-W10", "2024-W11")}
    assert publish(member.id, runtime).kind == "uploaded"
    return weeks


def test_first_upload_writes_one_file_with_every_staged_week(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    member = make_member(sandbox, runtime)
    weeks = publish_first_file(member, runtime)
    _, document = only_file(sandbox, member.oh_username)
    assert document["weeks"] == weeks
    assert staged_weeks(member) == {}
    assert Member.get_by_id(member.id).sync_state == SyncState.DONE
    assert Member.get_by_id(member.id).coverage_last_complete_week == "2024-W11"


# The client retries a 5xx three times within one call: a fault that outlasts them fails the run.
@pytest.mark.parametrize("step", ["direct", "put", "complete"])
def test_a_failed_upload_step_keeps_the_old_file_and_the_staged_weeks(
    sandbox: Sandbox, runtime: Runtime, step: str
) -> None:
    member = make_member(sandbox, runtime)
    first = publish_first_file(member, runtime)
    old_id, _ = only_file(sandbox, member.oh_username)
    old_bytes = sandbox.content(old_id)
    new = stage(member, "2024-W12", commits=3, fetched_at=None)
    sandbox.fault(kind="fail_upload_step", step=step, login=member.oh_username, count=None)

    with pytest.raises(UpstreamUnavailable):  # raised to Dramatiq, which retries the message
        publish(member.id, runtime)

    assert [f["id"] for f in our_files(sandbox, member.oh_username)] == [old_id]
    assert sandbox.content(old_id) == old_bytes
    assert list(staged_weeks(member)) == ["2024-W12"]

    sandbox.clear_faults()
    assert publish(member.id, runtime).kind == "uploaded"
    new_id, document = only_file(sandbox, member.oh_username)
    assert new_id != old_id
    assert document["weeks"] == {**first, "2024-W12": new}
    assert staged_weeks(member) == {}


def test_a_crash_before_the_old_file_is_deleted_converges_without_a_new_upload(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    member = make_member(sandbox, runtime)
    first = publish_first_file(member, runtime)
    old_id, _ = only_file(sandbox, member.oh_username)
    new = stage(member, "2024-W12", fetched_at=None)
    sandbox.fault(kind="fail_upload_step", step="delete", login=member.oh_username, count=None)

    with pytest.raises(UpstreamUnavailable):
        publish(member.id, runtime)

    files = our_files(sandbox, member.oh_username)
    assert len(files) == 2  # the new file is complete, the old one not yet deleted
    new_id = max(f["id"] for f in files)
    assert list(staged_weeks(member)) == ["2024-W12"]

    sandbox.clear_faults()
    next_file_id = sandbox.state.oh.next_file_id
    result = publish(member.id, runtime)

    assert (result.kind, result.file_id) == ("unchanged", new_id)
    assert sandbox.state.oh.next_file_id == next_file_id  # nothing was uploaded
    kept_id, document = only_file(sandbox, member.oh_username)
    assert kept_id == new_id
    assert document["weeks"] == {**first, "2024-W12": new}
    assert staged_weeks(member) == {}


def test_an_expired_access_token_mid_run_is_refreshed_once(
    sandbox: Sandbox, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = make_member(sandbox, runtime)
    first_refresh_token = runtime.cipher.decrypt(member.oh_refresh_token)
    weeks = {"2024-W10": stage(member, "2024-W10", fetched_at=None)}
    real_exchange_member = OpenHumansApi.exchange_member

    def exchange_member_then_expire(api: OpenHumansApi, token: str) -> dict[str, Any]:
        answer = real_exchange_member(api, token)
        sandbox.fault(kind="expire_oh_token", login=member.oh_username)  # before the upload
        return answer

    monkeypatch.setattr(OpenHumansApi, "exchange_member", exchange_member_then_expire)

    assert publish(member.id, runtime).kind == "uploaded"

    assert only_file(sandbox, member.oh_username)[1]["weeks"] == weeks
    assert sandbox.tokens_issued(member.oh_username) == 2  # the first one and one refresh
    stored = Member.get_by_id(member.id)
    rotated = runtime.cipher.decrypt(stored.oh_refresh_token)
    assert rotated != first_refresh_token
    assert rotated in sandbox.state.oh.refresh_tokens  # the stored one is the one that works
    assert first_refresh_token not in sandbox.state.oh.refresh_tokens
    assert stored.sync_state == SyncState.DONE


def test_an_expired_download_url_is_renewed_and_retried_once(
    sandbox: Sandbox, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = make_member(sandbox, runtime)
    first = publish_first_file(member, runtime)
    new = stage(member, "2024-W12", fetched_at=None)
    real_download_to = OpenHumansApi.download_to
    listings: list[int] = []
    real_exchange_member = OpenHumansApi.exchange_member

    def counted_exchange_member(api: OpenHumansApi, token: str) -> dict[str, Any]:
        listings.append(1)
        return real_exchange_member(api, token)

    def download_after_an_hour(api: OpenHumansApi, url: str, sink: Any) -> int:
        if len(listings) == 1:  # the URL from the first listing has expired by now
            sandbox.fault(kind="expire_download_urls")
        return real_download_to(api, url, sink)

    monkeypatch.setattr(OpenHumansApi, "exchange_member", counted_exchange_member)
    monkeypatch.setattr(OpenHumansApi, "download_to", download_after_an_hour)

    assert publish(member.id, runtime).kind == "uploaded"

    assert len(listings) == 2  # exchange-member was read again for a fresh URL
    _, document = only_file(sandbox, member.oh_username)  # not kept aside as "invalid"
    assert document["weeks"] == {**first, "2024-W12": new}
    assert staged_weeks(member) == {}


def test_a_download_url_that_keeps_failing_fails_the_run_and_keeps_everything(
    sandbox: Sandbox, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = make_member(sandbox, runtime)
    publish_first_file(member, runtime)
    old_id, _ = only_file(sandbox, member.oh_username)
    stage(member, "2024-W12", fetched_at=None)
    real_download_to = OpenHumansApi.download_to

    def always_expired(api: OpenHumansApi, url: str, sink: Any) -> int:
        sandbox.fault(kind="expire_download_urls")
        return real_download_to(api, url, sink)

    monkeypatch.setattr(OpenHumansApi, "download_to", always_expired)
    with pytest.raises(DownloadUrlExpired):  # an UpstreamUnavailable: Dramatiq retries later
        publish(member.id, runtime)
    assert [f["id"] for f in our_files(sandbox, member.oh_username)] == [old_id]
    assert list(staged_weeks(member)) == ["2024-W12"]


def test_a_malformed_file_is_kept_and_the_new_file_written_beside_it(
    sandbox: Sandbox, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = make_member(sandbox, runtime)
    garbage = b'{"schema": 1, "weeks": [truncated'
    garbage_id = sandbox.upload_as_member(member.oh_username, FILENAME, garbage)
    logged = RecordingLogger()
    monkeypatch.setattr(existing_module, "log", logged)
    first = {"2024-W10": stage(member, "2024-W10", fetched_at=None)}

    assert publish(member.id, runtime).kind == "uploaded"

    files = our_files(sandbox, member.oh_username)
    assert len(files) == 2 and garbage_id in {f["id"] for f in files}
    assert sandbox.content(garbage_id) == garbage
    valid_id = next(f["id"] for f in files if f["id"] != garbage_id)
    assert json.loads(sandbox.content(valid_id))["weeks"] == first
    errors = [e for e in logged.events if e[0] == "error"]
    assert [(event, fields["member_id"], fields["file_id"]) for _, event, fields in errors] == [
        ("existing_file_invalid", member.id, garbage_id)
    ]

    second = {"2024-W11": stage(member, "2024-W11", fetched_at=None)}
    assert publish(member.id, runtime).kind == "uploaded"
    assert publish(member.id, runtime).kind == "unchanged"  # nothing staged: nothing new

    files = our_files(sandbox, member.oh_username)
    assert len(files) == 2 and garbage_id in {f["id"] for f in files}
    assert sandbox.content(garbage_id) == garbage
    newest = next(f["id"] for f in files if f["id"] != garbage_id)
    assert newest != valid_id  # the valid file was replaced, not duplicated
    assert json.loads(sandbox.content(newest))["weeks"] == {**first, **second}


def test_weeks_staged_during_an_upload_stay_staged_for_the_next(
    sandbox: Sandbox, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = make_member(sandbox, runtime)
    fetched = dt.datetime(2024, 3, 20, tzinfo=dt.UTC)
    before = {w: stage(member, w, fetched_at=fetched) for w in ("2024-W10", "2024-W11")}
    refetched: dict[str, Any] = {}
    real_upload = OpenHumansApi.upload

    def upload_while_the_fetcher_stages(api: OpenHumansApi, *args: Any, **kwargs: Any) -> int:
        if not refetched:  # the fetcher finishes W11 again and a new week W12 meanwhile
            later = fetched + dt.timedelta(days=1)
            refetched["2024-W11"] = stage(member, "2024-W11", commits=4, tag="b", fetched_at=later)
            refetched["2024-W12"] = stage(member, "2024-W12", fetched_at=later)
        result: int = real_upload(api, *args, **kwargs)
        return result

    monkeypatch.setattr(OpenHumansApi, "upload", upload_while_the_fetcher_stages)

    assert publish(member.id, runtime).kind == "uploaded"
    assert only_file(sandbox, member.oh_username)[1]["weeks"] == before
    assert sorted(staged_weeks(member)) == ["2024-W11", "2024-W12"]

    assert publish(member.id, runtime).kind == "uploaded"
    assert only_file(sandbox, member.oh_username)[1]["weeks"] == {**before, **refetched}
    assert staged_weeks(member) == {}


def test_a_refused_refresh_marks_needs_login_and_is_not_retried(
    sandbox: Sandbox, runtime: Runtime, upload_queue: Any
) -> None:
    member = make_member(sandbox, runtime)
    stage(member, "2024-W10", fetched_at=None)
    sandbox.state.oh.revoke_member(member.oh_username)  # the member left or revoked access

    result = publish_exclusively(member.id, runtime)  # the actor's body: it must not raise

    assert result.kind == "needs_login"
    assert Member.get_by_id(member.id).sync_state == SyncState.NEEDS_LOGIN
    assert sandbox.tokens_issued(member.oh_username) == 0
    assert our_files(sandbox, member.oh_username) == []
    assert list(staged_weeks(member)) == ["2024-W10"]  # kept for when they log in again
    assert upload_queue.keys("ohgithub:upload*") == []  # nothing re-sent, no retry loop
    assert StagedWeek.select().count() == 1


def test_delete_my_data_removes_every_file_and_the_coverage(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    from uploader.publish import delete_files_exclusively

    member = make_member(sandbox, runtime)
    publish_first_file(member, runtime)
    other = sandbox.upload_as_member(member.oh_username, "notes.txt", b"not ours")
    # The gateway disconnected GitHub and marked the deletion first.
    Member.update(github_token="", sync_state=SyncState.DELETING).execute()

    assert delete_files_exclusively(member.id, runtime).kind == "deleted"

    assert our_files(sandbox, member.oh_username) == []
    assert [f["id"] for f in sandbox.files(member.oh_username)] == [other]  # not ours: kept
    row = Member.get_by_id(member.id)
    assert (row.coverage_last_week, row.file_size, row.sync_state) == ("", 0, SyncState.NEW)


def test_weeks_staged_by_a_sync_that_finishes_after_a_disconnect_are_not_uploaded(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    member = make_member(sandbox, runtime)
    stage(member, "2024-W10", commits=1, fetched_at=None)
    Member.update(github_token="").execute()
    assert publish(member.id, runtime).kind == "skipped"
    assert our_files(sandbox, member.oh_username) == []
    assert staged_weeks(member) == {}
