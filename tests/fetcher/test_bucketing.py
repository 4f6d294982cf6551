"""A period's activity grouped into ISO weeks (UTC)."""

from __future__ import annotations

import datetime as dt

from fetcher.bucketing import bucket_weeks, commit_record
from fetcher.contributions import PeriodContributions
from shared.activity import Commit
from shared.isoweek import IsoWeek

W17, W18, W19 = IsoWeek(2024, 17), IsoWeek(2024, 18), IsoWeek(2024, 19)
FETCHED = dt.datetime(2024, 5, 8, 12, tzinfo=dt.UTC)  # W17, W18 ended; W19 running


def commit(sha: str, committed_at: str, repository: str = "octo/cat") -> Commit:
    return {
        "sha": sha * 40,
        "repository": repository,
        "authored_at": committed_at,
        "committed_at": committed_at,
        "message": sha,
        "url": f"https://github.com/{repository}/commit/{sha * 40}",
    }


def test_commits_go_to_the_week_of_their_utc_commit_time() -> None:
    commits = [
        commit("a", "2024-05-05T23:59:59Z"),  # Sunday, last second of W18
        commit("b", "2024-05-06T00:00:00Z"),  # Monday, first second of W19
        commit("c", "2024-04-29T00:00:00Z"),  # Monday, first second of W18
        commit("d", "2024-04-28T23:59:59Z"),  # Sunday of W17
    ]
    weeks = bucket_weeks([W17, W18, W19], PeriodContributions(), commits, fetched_at=FETCHED)
    assert [c["sha"][0] for c in weeks[W17]["commits"]] == ["d"]
    assert [c["sha"][0] for c in weeks[W18]["commits"]] == ["c", "a"]
    assert [c["sha"][0] for c in weeks[W19]["commits"]] == ["b"]


def test_commit_times_with_offsets_are_bucketed_in_utc() -> None:
    commits = [commit("a", "2024-05-06T01:00:00+02:00")]  # Sunday 23:00 UTC
    weeks = bucket_weeks([W18, W19], PeriodContributions(), commits, fetched_at=FETCHED)
    assert len(weeks[W18]["commits"]) == 1
    assert weeks[W19]["commits"] == []


def test_a_commit_listed_twice_is_kept_once() -> None:
    twice = commit("a", "2024-04-30T10:00:00Z")
    same_sha_other_repo = commit("a", "2024-04-30T10:00:00Z", repository="fork/cat")
    weeks = bucket_weeks(
        [W18], PeriodContributions(), [twice, dict(twice), same_sha_other_repo], fetched_at=FETCHED
    )
    assert [(c["repository"], c["sha"][0]) for c in weeks[W18]["commits"]] == [
        ("fork/cat", "a"),
        ("octo/cat", "a"),
    ]


def test_activity_outside_the_weeks_asked_for_is_dropped() -> None:
    commits = [commit("z", "2024-06-01T00:00:00Z")]
    weeks = bucket_weeks([W18], PeriodContributions(), commits, fetched_at=FETCHED)
    assert list(weeks) == [W18]
    assert weeks[W18]["commits"] == []


def test_pull_requests_issues_and_reviews_land_in_their_weeks() -> None:
    contributions = PeriodContributions(
        pull_requests=[
            {
                "repository": "octo/cat",
                "number": 1,
                "title": "pr",
                "state": "MERGED",
                "created_at": "2024-05-05T23:59:59Z",
                "url": "https://github.com/octo/cat/pull/1",
            }
        ],
        issues=[
            {
                "repository": "octo/cat",
                "number": 2,
                "title": "issue",
                "state": "OPEN",
                "created_at": "2024-05-06T00:00:00Z",
                "url": "https://github.com/octo/cat/issues/2",
            }
        ],
        reviews=[
            {
                "repository": "octo/dog",
                "pull_request": 3,
                "state": "APPROVED",
                "submitted_at": "2024-04-28T12:00:00Z",
                "url": "https://github.com/octo/dog/pull/3#pullrequestreview-1",
            }
        ],
    )
    weeks = bucket_weeks([W17, W18, W19], contributions, [], fetched_at=FETCHED)
    assert [p["number"] for p in weeks[W18]["pull_requests"]] == [1]
    assert [i["number"] for i in weeks[W19]["issues"]] == [2]
    assert [r["pull_request"] for r in weeks[W17]["reviews"]] == [3]
    assert weeks[W17]["pull_requests"] == weeks[W17]["issues"] == []
    assert weeks[W19]["pull_requests"] == weeks[W19]["reviews"] == []


def test_contributions_fill_all_seven_days_of_each_week() -> None:
    calendar = {"2024-04-29": 3, "2024-05-05": 1, "2024-05-06": 7, "2024-03-01": 9}
    weeks = bucket_weeks([W18, W19], PeriodContributions(calendar=calendar), [], fetched_at=FETCHED)
    assert weeks[W18]["contributions"] == {
        "2024-04-29": 3,
        "2024-04-30": 0,
        "2024-05-01": 0,
        "2024-05-02": 0,
        "2024-05-03": 0,
        "2024-05-04": 0,
        "2024-05-05": 1,
    }
    assert len(weeks[W19]["contributions"]) == 7
    assert weeks[W19]["contributions"]["2024-05-06"] == 7
    assert "2024-03-01" not in weeks[W18]["contributions"]


def test_weeks_are_complete_only_if_they_had_ended() -> None:
    weeks = bucket_weeks([W17, W18, W19], PeriodContributions(), [], fetched_at=FETCHED)
    assert [weeks[w]["complete"] for w in (W17, W18, W19)] == [True, True, False]
    assert weeks[W18]["start"] == "2024-04-29" and weeks[W18]["end"] == "2024-05-05"
    assert weeks[W18]["fetched_at"] == "2024-05-08T12:00:00Z"


def test_empty_weeks_are_still_present() -> None:
    weeks = bucket_weeks([W17, W18, W19], PeriodContributions(), [], fetched_at=FETCHED)
    assert list(weeks) == [W17, W18, W19]
    assert all(week["commits"] == [] for week in weeks.values())


def test_commit_record_from_a_rest_commit() -> None:
    raw = {
        "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        "node_id": "C_kwDOABC",
        "html_url": "https://github.com/octocat/Hello-World/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e",
        "commit": {
            "author": {"name": "Mona", "email": "m@x", "date": "2024-05-05T23:30:00-02:00"},
            "committer": {"name": "GitHub", "email": "g@x", "date": "2024-05-06T02:00:00Z"},
            "message": "Fix all the bugs\n\nLonger text.",
        },
        "author": {"login": "octocat"},
    }
    record = commit_record(raw, "octocat/Hello-World")
    assert record == {
        "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        "repository": "octocat/Hello-World",
        "authored_at": "2024-05-06T01:30:00Z",
        "committed_at": "2024-05-06T02:00:00Z",
        "message": "Fix all the bugs\n\nLonger text.",
        "url": "https://github.com/octocat/Hello-World/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e",
    }
