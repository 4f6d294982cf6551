"""A member goes from the landing page to a file of their whole GitHub history on Open Humans."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from shared.activity import activity_of
from shared.fileformat import SCHEMA_PATH, parse
from shared.isoweek import IsoWeek
from tests.e2e.harness import System, wait_for

pytestmark = pytest.mark.e2e

LOGIN = "octo-small"


def _empty(activity: dict[str, Any]) -> bool:
    lists = ("commits", "pull_requests", "issues", "reviews")
    return not any(activity[k] for k in lists) and not any(activity["contributions"].values())


def test_member_gets_exactly_one_file_equal_to_ground_truth(system: System) -> None:
    with system.member_client() as member:
        dashboard = system.log_in(member, LOGIN, private=True)
        assert LOGIN in dashboard.text

        def synced() -> dict[str, Any] | None:
            status = member.get(f"{system.gateway_url}/api/status").json()
            return status if status["state"] == "done" else None

        wait_for(synced, timeout_s=120, what="the sync to be done", services=system.services)
        dashboard = member.get(f"{system.gateway_url}/dashboard")
        assert dashboard.status_code == 200

    files = system.files_of(LOGIN)
    assert len(files) == 1, files
    document = parse(system.file_content(int(files[0]["id"])))  # validates against the schema
    truth = system.truth(LOGIN, private=True)

    assert document["github"]["login"] == LOGIN
    assert document["github"]["id"] == truth["github"]["id"]
    weeks = document["weeks"]
    assert set(truth["weeks"]) <= set(weeks), "weeks with activity are missing from the file"
    for key, week in weeks.items():
        expected = truth["weeks"].get(key)
        if expected is None:
            assert _empty(activity_of(week)), f"{key} has activity the ground truth does not"
        else:
            assert activity_of(week) == expected, f"{key} differs from the ground truth"
    ordered = sorted(weeks, key=IsoWeek.parse)
    assert document["coverage"]["first_week"] == ordered[0]
    assert document["coverage"]["last_week"] == str(IsoWeek.current())
    commits = sum(len(w["commits"]) for w in weeks.values())
    assert commits == sum(len(w["commits"]) for w in truth["weeks"].values()) > 0
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))  # the reference validator


def test_delete_my_data_removes_the_file(system: System) -> None:
    with system.member_client() as member:
        system.log_in(member, LOGIN, private=False)
        wait_for(lambda: system.files_of(LOGIN), timeout_s=120, what="the first file",
                 services=system.services)  # fmt: skip
        dashboard = member.get(f"{system.gateway_url}/dashboard")
        token = re.search(r'name="csrf_token" value="([^"]+)"', dashboard.text)
        assert token and "Delete my data" in dashboard.text
        page = member.post(f"{system.gateway_url}/data/delete", data={"csrf_token": token[1]})
        assert "being deleted" in page.text
        wait_for(lambda: not system.files_of(LOGIN), timeout_s=60, what="the file to go",
                 services=system.services)  # fmt: skip
        status = member.get(f"{system.gateway_url}/api/status").json()
        assert status["state"] == "new" and status["coverage"] is None
