"""Merging the member's existing file(s) with staged weeks: newest wins, nothing is lost."""

from __future__ import annotations

from typing import Any

from uploader.merge import merge_weeks


def week(fetched_at: str, marker: str, *, complete: bool = True) -> dict[str, Any]:
    return {"fetched_at": fetched_at, "complete": complete, "commits": [marker]}


def test_staged_weeks_replace_the_files_weeks() -> None:
    existing = [
        {
            "2024-W17": week("2024-05-01T00:00:00Z", "file-17"),
            "2024-W18": week("2024-05-01T00:00:00Z", "file-18", complete=False),
        }
    ]
    staged = {"2024-W18": week("2024-05-09T00:00:00Z", "staged-18")}
    merged = merge_weeks(existing, staged)
    assert merged["2024-W18"]["commits"] == ["staged-18"]
    assert merged["2024-W18"]["complete"] is True
    assert merged["2024-W17"]["commits"] == ["file-17"]


def test_staged_weeks_win_even_with_an_older_fetch_time() -> None:
    existing = [{"2024-W18": week("2024-05-09T00:00:00Z", "file")}]
    staged = {"2024-W18": week("2024-05-08T00:00:00Z", "staged")}
    assert merge_weeks(existing, staged)["2024-W18"]["commits"] == ["staged"]


def test_between_two_files_the_later_fetch_wins_whatever_their_order() -> None:
    older = {"2024-W18": week("2024-05-01T00:00:00Z", "older")}
    newer = {"2024-W18": week("2024-05-09T00:00:00Z", "newer")}
    assert merge_weeks([older, newer], {})["2024-W18"]["commits"] == ["newer"]
    assert merge_weeks([newer, older], {})["2024-W18"]["commits"] == ["newer"]


def test_no_week_is_lost() -> None:
    file_a = {
        "2024-W01": week("2024-01-10T00:00:00Z", "a1"),
        "2024-W02": week("2024-01-10T00:00:00Z", "a2"),
    }
    file_b = {
        "2024-W02": week("2024-01-20T00:00:00Z", "b2"),
        "2024-W03": week("2024-01-20T00:00:00Z", "b3"),
    }
    staged = {
        "2024-W03": week("2024-01-25T00:00:00Z", "s3"),
        "2024-W04": week("2024-01-29T00:00:00Z", "s4"),
    }
    merged = merge_weeks([file_a, file_b], staged)
    assert {key: value["commits"][0] for key, value in merged.items()} == {
        "2024-W01": "a1",
        "2024-W02": "b2",
        "2024-W03": "s3",
        "2024-W04": "s4",
    }


def test_merge_does_not_modify_its_inputs() -> None:
    existing = [{"2024-W18": week("2024-05-01T00:00:00Z", "file")}]
    staged = {"2024-W19": week("2024-05-13T00:00:00Z", "staged")}
    merge_weeks(existing, staged)
    assert list(existing[0]) == ["2024-W18"]
    assert list(staged) == ["2024-W19"]


def test_nothing_to_merge() -> None:
    assert merge_weeks([], {}) == {}
    assert merge_weeks(iter([]), {"2024-W01": week("2024-01-10T00:00:00Z", "s")}) == {
        "2024-W01": week("2024-01-10T00:00:00Z", "s")
    }


def test_a_week_read_again_unchanged_keeps_the_held_version() -> None:
    held = {"2024-W18": week("2024-05-01T00:00:00Z", "same", complete=False)}
    again = {"2024-W18": week("2024-05-04T00:00:00Z", "same", complete=False)}
    assert merge_weeks([held], again)["2024-W18"]["fetched_at"] == "2024-05-01T00:00:00Z"
    # Any change (here: the week is now complete) replaces it.
    done = {"2024-W18": week("2024-05-07T00:00:00Z", "same", complete=True)}
    assert merge_weeks([held], done)["2024-W18"]["fetched_at"] == "2024-05-07T00:00:00Z"
