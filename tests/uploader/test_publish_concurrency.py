"""Two processes refreshing one member's token, and one upload message delivered twice at once."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest
import redis

from shared.db import Member
from shared.openhumans.client import OpenHumansApi
from shared.runtime import Runtime
from shared.syncstate import SyncState
from tests.uploader import workers
from tests.uploader.helpers import (
    Sandbox,
    delayed_uploads,
    make_member,
    only_file,
    stage,
    staged_weeks,
)
from uploader.publish import BUSY_RETRY_MS, Published, publish_exclusively


def test_two_processes_refreshing_at_once_spend_the_refresh_token_once(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    member = make_member(sandbox, runtime)
    first_refresh_token = runtime.cipher.decrypt(member.oh_refresh_token)
    sandbox.fault(kind="expire_oh_token", login=member.oh_username)
    context = multiprocessing.get_context("spawn")  # no fork of a process running a server
    start, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(
            target=workers.refresh_after_a_401,
            args=(runtime.settings, member.id, start, results, name),
        )
        for name in ("first", "second")
    ]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=30)

    assert [error for *_, error in outcomes] == [None, None]
    tokens = {token for _, token, _, _ in outcomes}
    assert len(tokens) == 1  # both use the one refreshed token, and it worked for both
    assert {pmid for _, _, pmid, _ in outcomes} == {member.oh_member_id}
    assert sandbox.tokens_issued(member.oh_username) == 2  # the first one and one refresh
    stored = Member.get_by_id(member.id)
    assert runtime.cipher.decrypt(stored.oh_access_token) in tokens
    assert runtime.cipher.decrypt(stored.oh_refresh_token) in sandbox.state.oh.refresh_tokens
    assert first_refresh_token not in sandbox.state.oh.refresh_tokens
    assert stored.sync_state != SyncState.NEEDS_LOGIN


def test_the_same_message_delivered_twice_at_once_makes_one_file(
    sandbox: Sandbox,
    runtime: Runtime,
    upload_queue: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    member = make_member(sandbox, runtime)
    weeks = {w: stage(member, w, fetched_at=None) for w in ("2024-W10", "2024-W11", "2024-W12")}
    real_upload = OpenHumansApi.upload

    def slow_upload(api: OpenHumansApi, *args: Any, **kwargs: Any) -> int:
        time.sleep(0.5)  # the second delivery arrives while the first is uploading
        result: int = real_upload(api, *args, **kwargs)
        return result

    monkeypatch.setattr(OpenHumansApi, "upload", slow_upload)
    start = threading.Barrier(2)
    results: list[Published] = []

    def deliver() -> None:
        start.wait(timeout=10)
        results.append(publish_exclusively(member.id, runtime))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    sent_at_ms = time.time() * 1000
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(r.kind for r in results) == ["busy", "uploaded"]
    _, document = only_file(sandbox, member.oh_username)
    assert document["weeks"] == weeks
    assert staged_weeks(member) == {}
    [resent] = delayed_uploads(upload_queue)  # the busy delivery comes back later
    assert (resent["actor_name"], resent["args"]) == ("upload_member", [member.id])
    assert resent["options"]["eta"] >= sent_at_ms + BUSY_RETRY_MS

    # That re-sent message, delivered: nothing to do, still one file.
    assert publish_exclusively(member.id, runtime).kind == "nothing"
    assert only_file(sandbox, member.oh_username)[1]["weeks"] == weeks
