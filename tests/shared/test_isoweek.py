"""IsoWeek: the unit in which history is fetched, staged and stored."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shared.isoweek import IsoWeek


@pytest.mark.parametrize("text", ["2024-W01", "2024-W18", "2020-W53", "2026-W53", "0999-W05"])
def test_parse_and_str_round_trip(text: str) -> None:
    assert str(IsoWeek.parse(text)) == text


def test_parse_gives_year_and_week() -> None:
    assert IsoWeek.parse("2024-W18") == IsoWeek(2024, 18)


@pytest.mark.parametrize("year", [2004, 2009, 2015, 2020, 2026])
def test_years_with_53_weeks_accept_w53(year: int) -> None:
    week = IsoWeek(year, 53)
    assert week.next() == IsoWeek(year + 1, 1)


@pytest.mark.parametrize(
    "text",
    [
        "2024-W54",
        "2023-W53",
        "2024-W00",
        "2024-18",
        "2024W18",
        "24-W18",
        "2024-W1",
        "",
        " 2024-W18",
    ],
)
def test_invalid_input_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        IsoWeek.parse(text)


def test_constructor_rejects_a_week_the_year_does_not_have() -> None:
    with pytest.raises(ValueError):
        IsoWeek(2023, 53)


def test_ordering_is_chronological_across_years() -> None:
    weeks = [IsoWeek(2025, 1), IsoWeek(2020, 53), IsoWeek(2021, 1), IsoWeek(2024, 10)]
    assert sorted(weeks) == [
        IsoWeek(2020, 53),
        IsoWeek(2021, 1),
        IsoWeek(2024, 10),
        IsoWeek(2025, 1),
    ]
    assert IsoWeek(2024, 9) < IsoWeek(2024, 10)
    assert IsoWeek(2023, 52) < IsoWeek(2024, 1)


def test_start_and_end_are_monday_and_sunday() -> None:
    week = IsoWeek(2024, 18)
    assert week.start == dt.date(2024, 4, 29)
    assert week.end == dt.date(2024, 5, 5)
    assert week.start.isoweekday() == 1
    assert week.end.isoweekday() == 7
    assert week.days() == [dt.date(2024, 4, 29) + dt.timedelta(days=i) for i in range(7)]


def test_week_one_can_start_in_the_previous_year() -> None:
    assert IsoWeek(2025, 1).start == dt.date(2024, 12, 30)
    assert IsoWeek(2020, 53).end == dt.date(2021, 1, 3)


def test_starts_at_and_ends_at_are_utc_instants_with_an_exclusive_end() -> None:
    week = IsoWeek(2024, 18)
    assert week.starts_at == dt.datetime(2024, 4, 29, tzinfo=dt.UTC)
    assert week.ends_at == dt.datetime(2024, 5, 6, tzinfo=dt.UTC)
    assert week.ends_at == week.next().starts_at


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2024, 12, 30), IsoWeek(2025, 1)),  # Monday belongs to next year's week 1
        (dt.date(2021, 1, 1), IsoWeek(2020, 53)),  # Friday belongs to the previous year's W53
        (dt.date(2021, 1, 3), IsoWeek(2020, 53)),
        (dt.date(2021, 1, 4), IsoWeek(2021, 1)),
        (dt.date(2027, 1, 1), IsoWeek(2026, 53)),
    ],
)
def test_of_a_date_across_year_boundaries(day: dt.date, expected: IsoWeek) -> None:
    assert IsoWeek.of(day) == expected


def test_of_an_aware_datetime_uses_its_utc_instant() -> None:
    # Monday 01:00 in Berlin is Sunday 23:00 UTC: still the previous week.
    berlin = dt.datetime(2024, 4, 29, 1, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert IsoWeek.of(berlin) == IsoWeek(2024, 17)
    # Sunday 20:00 in New York is Monday 00:00 UTC: already the next week.
    new_york = dt.datetime(2024, 5, 5, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    assert IsoWeek.of(new_york) == IsoWeek(2024, 19)


def test_of_an_aware_datetime_across_the_year_boundary() -> None:
    tokyo = dt.datetime(2025, 1, 1, 5, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 2024-12-31 20:00 UTC
    assert IsoWeek.of(tokyo) == IsoWeek(2025, 1)
    auckland = dt.datetime(2021, 1, 4, 9, 0, tzinfo=ZoneInfo("Pacific/Auckland"))  # Jan 3 UTC
    assert IsoWeek.of(auckland) == IsoWeek(2020, 53)


def test_of_the_boundary_instants() -> None:
    assert IsoWeek.of(dt.datetime(2024, 5, 5, 23, 59, 59, tzinfo=dt.UTC)) == IsoWeek(2024, 18)
    assert IsoWeek.of(dt.datetime(2024, 5, 6, 0, 0, 0, tzinfo=dt.UTC)) == IsoWeek(2024, 19)


def test_current_uses_the_given_clock() -> None:
    assert IsoWeek.current(dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)) == IsoWeek(2024, 18)


def test_next_and_previous_cross_years() -> None:
    assert IsoWeek(2024, 52).next() == IsoWeek(2025, 1)
    assert IsoWeek(2025, 1).previous() == IsoWeek(2024, 52)
    assert IsoWeek(2020, 52).next() == IsoWeek(2020, 53)
    assert IsoWeek(2021, 1).previous() == IsoWeek(2020, 53)
    assert IsoWeek(2024, 18).next().previous() == IsoWeek(2024, 18)


def test_until_includes_both_ends() -> None:
    weeks = list(IsoWeek(2020, 52).until(IsoWeek(2021, 2)))
    assert weeks == [IsoWeek(2020, 52), IsoWeek(2020, 53), IsoWeek(2021, 1), IsoWeek(2021, 2)]
    assert list(IsoWeek(2024, 5).until(IsoWeek(2024, 5))) == [IsoWeek(2024, 5)]
    assert list(IsoWeek(2024, 6).until(IsoWeek(2024, 5))) == []


def test_until_over_ten_years_has_one_week_per_seven_days() -> None:
    first, last = IsoWeek(2015, 1), IsoWeek(2024, 52)
    weeks = list(first.until(last))
    assert len(weeks) == (last.start - first.start).days // 7 + 1
    assert len(set(weeks)) == len(weeks)


def test_weeks_are_hashable_and_usable_as_keys() -> None:
    assert {IsoWeek.parse("2024-W18"): 1}[IsoWeek(2024, 18)] == 1
