"""A member goes from the landing page to a file of their whole GitHub history on Open Humans."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from shared.fileformat import SCHEMA_PATH
from shared.isoweek import IsoWeek
from tests.e2e.harness import System, assert_holds_ground_truth, wait_for

pytestmark = pytest.mark.e2e

LOGIN = "octo-small"


def test_member_gets_exactly_one_file_equal_to_ground_truth(system: System) -> None:
    with system.member_client() as member:
        dashboard = system.log_in(member, LOGIN, private=True)
        assert LOGIN in dashboard.text
        system.wait_until_done(member, what="the sync to be done")
        dashboard = member.get(f"{system.gateway_url}/dashboard")
        assert dashboard.status_code == 200

    document = system.only_file(LOGIN)  # validated against the schema
    truth = system.truth(LOGIN, private=True)

    assert document["github"]["login"] == LOGIN
    assert document["github"]["id"] == truth["github"]["id"]
    assert_holds_ground_truth(document, truth)
    weeks = document["weeks"]
    ordered = sorted(weeks, key=IsoWeek.parse)
    assert document["coverage"]["first_week"] == ordered[0]
    assert document["coverage"]["last_week"] == str(IsoWeek.current())
    commits = sum(len(w["commits"]) for w in weeks.values())
    assert commits == sum(len(w["commits"]) for w in truth["weeks"].values()) > 0
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))  # the reference validator


def test_delete_my_data_removes_the_file(system: System) -> None:
    with system.member_client() as member:
        system.log_in(member, LOGIN, private=False)
        # Done: the file is on Open Humans and its coverage is recorded (the dashboard offers
        # "Delete my data" from then on).
        system.wait_until_done(member, what="the first file")
        dashboard = member.get(f"{system.gateway_url}/dashboard")
        token = re.search(r'name="csrf_token" value="([^"]+)"', dashboard.text)
        assert token and "Delete my data" in dashboard.text
        page = member.post(f"{system.gateway_url}/data/delete", data={"csrf_token": token[1]})
        assert "being deleted" in page.text
        wait_for(lambda: not system.files_of(LOGIN), timeout_s=60, what="the file to go",
                 services=system.services)  # fmt: skip
        status = system.status(member)
        assert status["state"] == "new" and status["coverage"] is None
