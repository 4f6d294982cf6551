"""Which weeks a sync fetches, and in which periods."""

from __future__ import annotations

import datetime as dt

import pytest

from fetcher.planner import (
    MAX_PERIOD_WEEKS,
    CommitListing,
    first_week_to_fetch,
    history_start,
    latest,
    periods,
    plan_listings,
)
from shared.isoweek import IsoWeek

CREATED = IsoWeek(2015, 10)


def test_a_new_member_starts_at_the_account_week() -> None:
    assert first_week_to_fetch(history_start=CREATED, last_complete_week=None) == CREATED


def test_after_a_complete_week_the_next_week_is_first() -> None:
    first = first_week_to_fetch(history_start=CREATED, last_complete_week=IsoWeek(2024, 52))
    assert first == IsoWeek(2025, 1)
    first = first_week_to_fetch(history_start=CREATED, last_complete_week=IsoWeek(2020, 53))
    assert first == IsoWeek(2021, 1)


def test_the_horizon_limits_how_far_back_a_new_member_goes() -> None:
    horizon = IsoWeek(2020, 1)
    assert (
        first_week_to_fetch(history_start=CREATED, last_complete_week=None, horizon=horizon)
        == horizon
    )
    # An account younger than the horizon still starts at its own first week.
    young = IsoWeek(2022, 5)
    assert (
        first_week_to_fetch(history_start=young, last_complete_week=None, horizon=horizon) == young
    )


def test_a_complete_week_before_the_horizon_is_ignored() -> None:
    horizon = IsoWeek(2020, 1)
    first = first_week_to_fetch(
        history_start=CREATED, last_complete_week=IsoWeek(2018, 5), horizon=horizon
    )
    assert first == horizon


def test_a_complete_week_after_the_horizon_wins() -> None:
    first = first_week_to_fetch(
        history_start=CREATED, last_complete_week=IsoWeek(2023, 7), horizon=IsoWeek(2020, 1)
    )
    assert first == IsoWeek(2023, 8)


def test_periods_of_a_single_week() -> None:
    week = IsoWeek(2024, 18)
    assert periods(week, week) == [(week, week)]


def test_periods_of_nothing() -> None:
    assert periods(IsoWeek(2024, 18), IsoWeek(2024, 17)) == []


@pytest.mark.parametrize("max_weeks", [1, 7, MAX_PERIOD_WEEKS])
def test_periods_cover_ten_years_exactly_without_gaps_or_overlaps(max_weeks: int) -> None:
    first, last = IsoWeek(2014, 33), IsoWeek(2024, 18)
    chunks = periods(first, last, max_weeks=max_weeks)
    assert chunks[0][0] == first
    assert chunks[-1][1] == last
    covered: list[IsoWeek] = []
    for start, end in chunks:
        weeks = list(start.until(end))
        assert 1 <= len(weeks) <= max_weeks
        covered.extend(weeks)
    for (_, end), (next_start, _) in zip(chunks, chunks[1:], strict=False):
        assert end.next() == next_start  # no gap, no overlap
    assert covered == list(first.until(last))
    # Every chunk but the last is full: as few GraphQL queries as possible.
    assert all(len(list(s.until(e))) == max_weeks for s, e in chunks[:-1])


def test_a_period_never_spans_more_than_a_year() -> None:
    for start, end in periods(IsoWeek(2010, 1), IsoWeek(2024, 52)):
        assert (end.ends_at - start.starts_at).days <= 366


def test_latest_ignores_missing_weeks() -> None:
    assert latest(None, IsoWeek(2024, 1), IsoWeek(2023, 52), None) == IsoWeek(2024, 1)
    assert latest(None, None) is None
    assert latest() is None


def test_history_starts_with_the_first_contribution_when_it_precedes_the_account() -> None:
    assert history_start(account_created=CREATED, first_contribution=None) == CREATED
    early = dt.date(2012, 3, 14)
    assert history_start(account_created=CREATED, first_contribution=early) == IsoWeek.of(early)
    later = CREATED.next().start  # after the account: the account's week still comes first
    assert history_start(account_created=CREATED, first_contribution=later) == CREATED


def test_listings_run_from_the_period_before_the_first_commit_to_the_last_period() -> None:
    # Commits authored in periods 2 and 4 of six: committed up to the sync's end, or (a wrong
    # clock) a little before their author date.
    listings = plan_listings([{}, {}, {"o/r": 3}, {}, {"o/r": 2}, {}])
    assert listings == [CommitListing("o/r", 1, 5, 5)]
    assert plan_listings([{"o/r": 1}, {}]) == [CommitListing("o/r", 0, 1, 1)]


def test_listings_are_cut_where_they_would_exceed_the_commit_limit() -> None:
    listings = plan_listings([{"o/r": 600}, {"o/r": 600}, {}, {"o/r": 10}], max_commits=1000)
    assert listings == [CommitListing("o/r", 0, 0, 600), CommitListing("o/r", 1, 3, 610)]


def test_repositories_pushed_without_commits_authored_in_the_sync_are_listed_throughout() -> None:
    listings = plan_listings([{"o/a": 1}, {}], also={"o/pushed", "o/a"})
    assert listings == [CommitListing("o/a", 0, 1, 1), CommitListing("o/pushed", 0, 1, 0)]
    assert listings[1].pages == 1
