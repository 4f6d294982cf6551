"""A week's activity: completeness, the seven days of contributions, a stable order."""

from __future__ import annotations

import datetime as dt

from shared.activity import (
    activity_of,
    empty_activity,
    make_week,
    parse_timestamp,
    utc_timestamp,
)
from shared.isoweek import IsoWeek

WEEK = IsoWeek(2024, 18)  # Monday 2024-04-29 .. Sunday 2024-05-05


def commit(sha: str, committed_at: str, repository: str = "octo/cat") -> dict[str, str]:
    return {
        "sha": sha * 40,
        "repository": repository,
        "authored_at": committed_at,
        "committed_at": committed_at,
        "message": "m",
        "url": f"https://github.com/{repository}/commit/{sha * 40}",
    }


def test_week_fetched_before_it_ended_is_not_complete() -> None:
    fetched = dt.datetime(2024, 5, 5, 23, 59, 59, tzinfo=dt.UTC)
    week = make_week(WEEK, empty_activity(WEEK), fetched_at=fetched)
    assert week["complete"] is False


def test_week_fetched_at_or_after_its_end_is_complete() -> None:
    at_end = dt.datetime(2024, 5, 6, tzinfo=dt.UTC)
    assert make_week(WEEK, empty_activity(WEEK), fetched_at=at_end)["complete"] is True
    later = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert make_week(WEEK, empty_activity(WEEK), fetched_at=later)["complete"] is True


def test_completeness_compares_instants_in_any_time_zone() -> None:
    # 2024-05-06 01:30 in UTC+2 is 2024-05-05 23:30 UTC: the week had not ended yet.
    plus_two = dt.timezone(dt.timedelta(hours=2))
    fetched = dt.datetime(2024, 5, 6, 1, 30, tzinfo=plus_two)
    week = make_week(WEEK, empty_activity(WEEK), fetched_at=fetched)
    assert week["complete"] is False
    assert week["fetched_at"] == "2024-05-05T23:30:00Z"


def test_week_carries_dates_and_fetch_time() -> None:
    fetched = dt.datetime(2024, 5, 7, 8, 9, 10, 123456, tzinfo=dt.UTC)
    week = make_week(WEEK, empty_activity(WEEK), fetched_at=fetched)
    assert week["start"] == "2024-04-29"
    assert week["end"] == "2024-05-05"
    assert week["fetched_at"] == "2024-05-07T08:09:10Z"


def test_contributions_hold_all_seven_days() -> None:
    contributions = empty_activity(WEEK)["contributions"]
    assert list(contributions) == [
        "2024-04-29",
        "2024-04-30",
        "2024-05-01",
        "2024-05-02",
        "2024-05-03",
        "2024-05-04",
        "2024-05-05",
    ]
    assert set(contributions.values()) == {0}


def test_lists_are_sorted_by_time_then_repository() -> None:
    activity = empty_activity(WEEK)
    activity["commits"] = [  # type: ignore[typeddict-item]
        commit("c", "2024-05-01T10:00:00Z"),
        commit("b", "2024-04-30T10:00:00Z", repository="zeta/z"),
        commit("a", "2024-04-30T10:00:00Z", repository="alpha/a"),
    ]
    activity["reviews"] = [
        {
            "repository": "octo/cat",
            "pull_request": 2,
            "state": "APPROVED",
            "submitted_at": "2024-05-02T00:00:00Z",
            "url": "https://x/2",
        },
        {
            "repository": "octo/cat",
            "pull_request": 1,
            "state": "APPROVED",
            "submitted_at": "2024-04-29T00:00:00Z",
            "url": "https://x/1",
        },
    ]
    issue = {"repository": "octo/cat", "title": "t", "state": "OPEN", "url": "u"}
    activity["issues"] = [  # type: ignore[typeddict-item]
        {**issue, "number": 9, "created_at": "2024-04-30T00:00:00Z"},
        {**issue, "number": 2, "created_at": "2024-04-30T00:00:00Z"},
        {**issue, "number": 5, "created_at": "2024-04-29T00:00:00Z"},
    ]
    week = make_week(WEEK, activity, fetched_at=dt.datetime(2024, 5, 8, tzinfo=dt.UTC))
    assert [c["sha"][0] for c in week["commits"]] == ["a", "b", "c"]
    assert [r["pull_request"] for r in week["reviews"]] == [1, 2]
    assert [i["number"] for i in week["issues"]] == [5, 2, 9]


def test_activity_of_drops_the_week_fields() -> None:
    week = make_week(WEEK, empty_activity(WEEK), fetched_at=dt.datetime(2024, 5, 8, tzinfo=dt.UTC))
    assert set(activity_of(week)) == {
        "commits",
        "pull_requests",
        "issues",
        "reviews",
        "contributions",
    }


def test_timestamps_round_trip_in_utc() -> None:
    when = parse_timestamp("2024-04-29T12:00:00+02:00")
    assert when == dt.datetime(2024, 4, 29, 10, tzinfo=dt.UTC)
    assert utc_timestamp(when) == "2024-04-29T10:00:00Z"
    assert utc_timestamp(parse_timestamp("2024-04-29T10:00:00Z")) == "2024-04-29T10:00:00Z"
