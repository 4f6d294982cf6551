"""The whole system against GitHub as it really behaves: the member's file equals what the
raw events say, through both OAuth flows, the real workers and a rate-limit wait.

``octo-edge`` has commits committed long after (and a little before) they were authored, a
history older than the account, organisations' repositories, a repository where the member
has no standing, deleted, renamed and transferred repositories, late contributions and
private contributions its profile does not share. One of its repositories is renamed while the
sync waits for GitHub's limit, so that its commits are read through GitHub's 301.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.e2e.expected import complete_weeks, differences, expected_weeks, parse, week_key
from tests.e2e.harness import System, wait_for

pytestmark = pytest.mark.e2e

LOGIN = "octo-edge"


def events_of(system: System) -> dict[str, Any]:
    with system.sandbox() as sandbox:
        result: dict[str, Any] = sandbox.get(f"/_sandbox/github/users/{LOGIN}/events").json()
        return result


@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_file_equals_the_raw_events_of_every_edge_case(system: System) -> None:
    with system.sandbox() as sandbox:
        # Three core requests per window of two real seconds: the sync waits several times.
        sandbox.post(
            "/_sandbox/config", json={"core_limit": 3, "rate_limit_time_scale": 1800}
        ).raise_for_status()
    before = events_of(system)
    renamed = max(
        (r for r in before["repositories"] if r["owner_is_member"] and not r["private"]),
        key=lambda r: sum(1 for c in before["commits"] if c["repository_id"] == r["id"]),
    )
    new_name = f"{LOGIN}-org/{renamed['name'].split('/')[1]}-moved"
    with system.member_client() as member:
        system.log_in(member, LOGIN, private=True)

        def waiting() -> bool:
            return bool(system.status(member)["state"] == "waiting")

        wait_for(waiting, timeout_s=60, interval_s=0.1, what="a wait for GitHub",
                 services=system.services)  # fmt: skip
        with system.sandbox() as sandbox:
            sandbox.post(
                f"/_sandbox/github/users/{LOGIN}/repos",
                json={"repository": renamed["name"], "rename_to": new_name},
            ).raise_for_status()
        system.wait_until_done(member, what="the sync to finish", timeout_s=240)

    document = system.only_file(LOGIN)
    events = events_of(system)
    moved = next(r for r in events["repositories"] if r["id"] == renamed["id"])
    # The contribution data was read before the rename, the commits of that repository after.
    read_at = parse(moved["renames"][-1]["at"]) - dt.timedelta(seconds=1)
    expected = expected_weeks(events, private=True, items_read_at=read_at)
    problems = differences(document, expected, weeks=complete_weeks(document))
    assert not problems, "\n".join(problems[:10])
    ordered = sorted(document["weeks"])
    assert {k for k in ordered if not document["weeks"][k]["complete"]} <= set(ordered[-2:])
    first = min(
        [parse(c["authored_at"]) for c in events["commits"]] + [parse(events["created_at"])]
    )
    assert document["coverage"]["first_week"] == week_key(first.date())
    names = {c["repository"] for week in document["weeks"].values() for c in week["commits"]}
    assert new_name in names and renamed["name"] not in names
    with system.sandbox() as sandbox:
        log = sandbox.get("/_sandbox/requests", params={"login": LOGIN}).json()["requests"]
        stats = sandbox.get("/_sandbox/stats", params={"login": LOGIN}).json()
    assert any(r["status"] == 301 for r in log)
    assert stats["violations"] == 0
