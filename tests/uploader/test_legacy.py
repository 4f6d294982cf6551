"""Importing the older integration's github.json into the weekly file (pure)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest

from shared.activity import empty_activity, make_week
from shared.errors import InvalidFile
from shared.fileformat import SCHEMA_PATH, build_document, parse, serialise
from shared.isoweek import IsoWeek
from uploader.legacy import (
    created_at,
    import_key,
    import_legacy,
    is_legacy_record,
    legacy_commits,
)
from uploader.merge import merge_weeks

LOGIN, GITHUB_ID = "Octo-Old", 1001
CREATED = dt.datetime(2019, 6, 5, 12, 0, tzinfo=dt.UTC)  # when the old integration wrote it


def sha(n: int) -> str:
    return f"{n:040x}"


def rest_commit(
    n: int,
    committed: str,
    *,
    login: str | None = LOGIN,
    user_id: int | None = GITHUB_ID,
    authored: str | None = None,
) -> dict[str, Any]:
    """A commit as GitHub's REST API lists it (what the old integration stored)."""
    return {
        "sha": sha(n),
        "html_url": f"https://github.com/octo-old/repo/commit/{sha(n)}",
        "commit": {
            "author": {"name": "Octo", "email": "o@example.com", "date": authored or committed},
            "committer": {"name": "Octo", "email": "o@example.com", "date": committed},
            "message": f"commit {n}",
        },
        "author": None if login is None else {"login": login, "id": user_id},
        "committer": None,
    }


def github_json(repos: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "repo_data": {name: {"commits": commits} for name, commits in repos.items()},
        "metadata": {"created_at": "2019-06-05T12:00:00Z"},
    }


def commits_of(
    document: dict[str, Any], *, github_id: int | None = GITHUB_ID
) -> dict[str, list[str]]:
    found = legacy_commits(document, github_login=LOGIN.lower(), github_id=github_id)
    return {str(week): [c["sha"] for c in commits] for week, commits in found.items()}


def our_week(week: str, *shas: int) -> dict[str, Any]:
    """A week as our fetcher stages it, with commits of the given numbers."""
    iso = IsoWeek.parse(week)
    activity = empty_activity(iso)
    activity["commits"] = [
        {
            "sha": sha(n),
            "repository": "octo-old/repo",
            "authored_at": f"{iso.start.isoformat()}T09:00:00Z",
            "committed_at": f"{iso.start.isoformat()}T09:00:00Z",
            "message": f"ours {n}",
            "url": f"https://github.com/octo-old/repo/commit/{sha(n)}",
        }
        for n in shas
    ]
    activity["contributions"][iso.start.isoformat()] = len(shas)
    return dict(make_week(iso, activity, fetched_at=iso.ends_at + dt.timedelta(days=1)))


def test_only_the_members_own_commits_are_taken() -> None:
    document = github_json(
        {
            "octo-old/repo": [
                rest_commit(1, "2019-03-05T10:00:00Z"),
                rest_commit(2, "2019-03-05T11:00:00Z", login="OCTO-OLD", user_id=None),
                rest_commit(3, "2019-03-05T12:00:00Z", login="someone-else", user_id=2002),
                rest_commit(4, "2019-03-05T13:00:00Z", login=None),  # no GitHub account
            ]
        }
    )
    assert commits_of(document) == {"2019-W10": [sha(1), sha(2)]}


def test_the_account_id_decides_when_both_ids_are_known() -> None:
    document = github_json(
        {
            "octo-old/repo": [
                rest_commit(1, "2019-03-05T10:00:00Z", login="old-name"),  # renamed since
                rest_commit(2, "2019-03-05T11:00:00Z", user_id=9999),  # login taken over
            ]
        }
    )
    assert commits_of(document) == {"2019-W10": [sha(1)]}
    assert commits_of(document, github_id=None) == {"2019-W10": [sha(2)]}


def test_a_commit_goes_to_the_iso_week_of_its_committer_date_in_utc() -> None:
    document = github_json(
        {
            "octo-old/repo": [
                # Sunday 22:30 at -02:00 is Monday 00:30 UTC: the next week.
                rest_commit(1, "2019-03-10T22:30:00-02:00", authored="2019-01-01T00:00:00Z"),
                rest_commit(2, "2021-01-03T12:00:00Z"),  # ISO year 2020, week 53
            ]
        }
    )
    found = legacy_commits(document, github_login=LOGIN, github_id=GITHUB_ID)
    assert {str(week) for week in found} == {"2019-W11", "2020-W53"}
    [first] = found[IsoWeek(2019, 11)]
    assert first["committed_at"] == "2019-03-11T00:30:00Z"
    assert first["authored_at"] == "2019-01-01T00:00:00Z"
    assert first["source"] == "github.json"
    assert first["repository"] == "octo-old/repo"
    assert first["message"] == "commit 1"


def test_malformed_entries_are_skipped_and_a_sha_in_two_repositories_counted_once() -> None:
    no_committer_date = rest_commit(2, "2019-03-05T10:00:00Z")
    no_committer_date["commit"]["committer"] = {"date": None}
    bad_sha = rest_commit(3, "2019-03-05T10:00:00Z")
    bad_sha["sha"] = "not-a-sha"
    document = github_json(
        {
            "octo-old/repo": [
                rest_commit(1, "2019-03-05T10:00:00Z"),
                no_committer_date,
                bad_sha,
                "not a commit",  # type: ignore[list-item]
                rest_commit(5, "1969-12-31T23:00:00Z"),  # a broken clock, not history
            ],
            "octo-old/fork": [rest_commit(1, "2019-03-05T10:00:00Z")],
            "not a repository name": [rest_commit(6, "2019-03-05T10:00:00Z")],
        }
    )
    document["repo_data"]["octo-old/empty"] = {"commits": None}
    assert commits_of(document) == {"2019-W10": [sha(1)]}
    [imported] = legacy_commits(document, github_login=LOGIN, github_id=GITHUB_ID)[
        IsoWeek(2019, 10)
    ]
    assert imported["repository"] == "octo-old/fork"  # the first name in sorted order


@pytest.mark.parametrize("document", [[], {"metadata": {}}, {"repo_data": []}, "github"])
def test_a_document_that_is_not_a_github_json_is_invalid(document: Any) -> None:
    with pytest.raises(InvalidFile):
        legacy_commits(document, github_login=LOGIN, github_id=GITHUB_ID)


def test_a_week_we_fetched_keeps_its_commits_and_gains_only_new_shas() -> None:
    ours = {"2019-W10": our_week("2019-W10", 1)}
    document = github_json(
        {
            "octo-old/repo": [
                rest_commit(1, "2019-03-05T10:00:00Z"),  # we have it already
                rest_commit(2, "2019-03-06T08:00:00Z"),
            ]
        }
    )
    commits = legacy_commits(document, github_login=LOGIN, github_id=GITHUB_ID)

    merged = import_legacy(ours, commits, fetched_at=CREATED)

    week = merged["2019-W10"]
    assert [(c["sha"], c.get("source")) for c in week["commits"]] == [
        (sha(1), None),  # ours, with our message
        (sha(2), "github.json"),
    ]
    assert week["commits"][0]["message"] == "ours 1"
    assert week["contributions"] == ours["2019-W10"]["contributions"]
    assert week["fetched_at"] == ours["2019-W10"]["fetched_at"]
    assert "source" not in week
    assert [c["sha"] for c in ours["2019-W10"]["commits"]] == [sha(1)]  # input untouched


def test_a_week_known_only_from_github_json() -> None:
    document = github_json(
        {
            "octo-old/repo": [
                rest_commit(2, "2019-03-06T08:00:00Z"),
                rest_commit(1, "2019-03-05T08:00:00Z"),
                rest_commit(3, "2019-06-04T08:00:00Z"),  # the week the old file was written
            ]
        }
    )
    commits = legacy_commits(document, github_login=LOGIN, github_id=GITHUB_ID)

    merged = import_legacy({}, commits, fetched_at=CREATED)

    week = merged["2019-W10"]
    assert week["source"] == "github.json"
    assert (week["start"], week["end"]) == ("2019-03-04", "2019-03-10")
    assert week["complete"] is True
    assert week["fetched_at"] == "2019-06-05T12:00:00Z"
    assert [c["sha"] for c in week["commits"]] == [sha(1), sha(2)]  # in time order
    assert week["contributions"] == {f"2019-03-{d:02d}": 0 for d in range(4, 11)}
    assert week["pull_requests"] == week["issues"] == week["reviews"] == []
    assert merged["2019-W23"]["complete"] is False  # had not ended when the old file was written


def test_imported_weeks_stay_out_of_coverage_and_the_file_validates() -> None:
    document = github_json({"octo-old/repo": [rest_commit(1, "2019-03-05T08:00:00Z")]})
    commits = legacy_commits(document, github_login=LOGIN, github_id=GITHUB_ID)
    weeks = import_legacy({"2024-W18": our_week("2024-W18", 7)}, commits, fetched_at=CREATED)

    file = build_document(
        github={"id": GITHUB_ID, "login": LOGIN}, weeks=weeks, imported=["github.json:5"]
    )

    assert file["coverage"] == {
        "first_week": "2024-W18",
        "last_week": "2024-W18",
        "last_complete_week": "2024-W18",
    }
    assert file["imported"] == ["github.json:5"]
    jsonschema.Draft7Validator(json.loads(SCHEMA_PATH.read_text())).validate(file)
    assert parse(serialise(file)) == file  # and production's validator agrees


def test_a_file_without_imports_has_the_bytes_it_always_had() -> None:
    weeks = {"2024-W18": our_week("2024-W18", 7)}
    file = build_document(github={"id": GITHUB_ID, "login": LOGIN}, weeks=weeks)
    assert "imported" not in file


def test_imported_commits_survive_a_later_fetch_of_their_week() -> None:
    document = github_json({"octo-old/repo": [rest_commit(2, "2019-03-06T08:00:00Z")]})
    commits = legacy_commits(document, github_login=LOGIN, github_id=GITHUB_ID)
    in_file = import_legacy({"2019-W10": our_week("2019-W10", 1)}, commits, fetched_at=CREATED)
    refetched = our_week("2019-W10", 1, 3)  # GitHub no longer serves commit 2
    refetched["fetched_at"] = "2024-01-01T00:00:00Z"

    merged = merge_weeks([in_file], {"2019-W10": refetched})

    assert [c["sha"] for c in merged["2019-W10"]["commits"]] == [sha(1), sha(3), sha(2)]
    assert merged["2019-W10"]["fetched_at"] == "2024-01-01T00:00:00Z"
    assert [c["sha"] for c in refetched["commits"]] == [sha(1), sha(3)]  # input untouched


def test_imported_commits_survive_when_an_older_copy_of_the_file_wins_a_tie() -> None:
    """After a crash both the file before the import and the one after it may be present."""
    document = github_json({"octo-old/repo": [rest_commit(2, "2019-03-06T08:00:00Z")]})
    commits = legacy_commits(document, github_login=LOGIN, github_id=GITHUB_ID)
    before = {"2019-W10": our_week("2019-W10", 1)}
    after = import_legacy(before, commits, fetched_at=CREATED)

    merged = merge_weeks([before, after], {})

    assert [c["sha"] for c in merged["2019-W10"]["commits"]] == [sha(1), sha(2)]


def test_which_files_are_legacy_and_how_they_are_remembered() -> None:
    record = {"id": 77, "basename": "github.json", "created": "2019-06-05T12:00:00.123456Z"}
    assert is_legacy_record(record, own_filename="github-activity.json")
    assert not is_legacy_record(record, own_filename="github.json")  # that would be ours
    assert not is_legacy_record({"id": 1, "basename": "github-activity.json"}, own_filename="x")
    assert import_key(record) == "github.json:77"
    assert created_at(record, []) == dt.datetime(2019, 6, 5, 12, 0, 0, 123456, tzinfo=dt.UTC)
    fallback = created_at({"id": 77}, [[{"committed_at": "2019-03-05T08:00:00Z"}]])
    assert fallback == dt.datetime(2019, 3, 5, 8, 0, tzinfo=dt.UTC)
