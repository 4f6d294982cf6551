"""The progress the dashboard shows moves while a sync reads commit listings, not only when a
whole period (up to a year) is staged: a member watching octo-typical's first sync sees it move
through many values, never backwards, and end at every week of the history."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from fetcher.sync import sync_member
from shared.db import Member, connection
from shared.runtime import Runtime

LOGIN = "octo-typical"
# GitHub's latency, roughly: long enough for a reader polling the row to see every step.
LATENCY_MS = 40


def test_progress_moves_with_each_listing(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    sandbox.post("/_sandbox/config", json={"latency_ms": LATENCY_MS}).raise_for_status()
    member = connect(LOGIN)
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:  # what the dashboard's status poll reads, from another connection
        while True:
            finished = done.is_set()  # then this read is the last, after the sync's last write
            with connection():
                value = Member.get_by_id(member.id).weeks_done
            if not seen or seen[-1] != value:
                seen.append(value)
            if finished:
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert sync_member(member.id, runtime).kind == "done"
    finally:
        done.set()
        watcher.join()
        sandbox.post("/_sandbox/config", json={"latency_ms": 0}).raise_for_status()

    total = Member.get_by_id(member.id).weeks_total
    assert seen == sorted(seen), seen
    assert seen[-1] == total
    between = [value for value in seen if 0 < value < total]
    # The old behaviour showed one step per staged period (three for this member's years).
    assert len(between) >= 6, seen
