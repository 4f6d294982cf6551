"""The file written to Open Humans: deterministic bytes, validated on read, coverage in metadata."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from typing import Any

import pytest

from shared.activity import empty_activity, make_week
from shared.errors import InvalidFile
from shared.fileformat import (
    DESCRIPTION,
    SCHEMA_VERSION,
    TAGS,
    build_document,
    coverage_from_metadata,
    coverage_of,
    parse,
    serialise,
    upload_metadata,
    validate,
)
from shared.isoweek import IsoWeek

GITHUB = {"id": 583231, "login": "octocat"}


def week_data(week: IsoWeek, *, fetched_at: dt.datetime, commits: int = 0) -> dict[str, Any]:
    activity = empty_activity(week)
    for i in range(commits):
        activity["commits"].append(
            {
                "sha": f"{i:040x}",
                "repository": "octocat/hello",
                "authored_at": f"{week.start.isoformat()}T10:00:0{i}Z",
                "committed_at": f"{week.start.isoformat()}T10:00:0{i}Z",
                "message": f"commit {i} ✓",
                "url": f"https://github.com/octocat/hello/commit/{i:040x}",
            }
        )
    activity["contributions"][week.start.isoformat()] = commits
    activity["pull_requests"].append(
        {
            "repository": "octocat/hello",
            "number": 3,
            "title": "Add a feature",
            "state": "MERGED",
            "created_at": f"{week.start.isoformat()}T12:00:00Z",
            "url": "https://github.com/octocat/hello/pull/3",
        }
    )
    return dict(make_week(week, activity, fetched_at=fetched_at))


def sample_weeks() -> dict[str, Any]:
    return {
        "2024-W17": week_data(
            IsoWeek(2024, 17), fetched_at=dt.datetime(2024, 5, 10, tzinfo=dt.UTC), commits=2
        ),
        "2024-W18": week_data(
            IsoWeek(2024, 18), fetched_at=dt.datetime(2024, 5, 10, tzinfo=dt.UTC), commits=1
        ),
        "2024-W19": week_data(
            IsoWeek(2024, 19), fetched_at=dt.datetime(2024, 5, 11, 8, tzinfo=dt.UTC)
        ),
    }


def reversed_order(value: Any) -> Any:
    """The same data with every dict's insertion order reversed."""
    if isinstance(value, dict):
        return {key: reversed_order(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_order(item) for item in value]
    return value


def test_document_validates_against_the_shipped_schema() -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    validate(document)
    assert document["schema"] == SCHEMA_VERSION == 1
    assert document["github"] == GITHUB


def test_same_data_gives_the_same_bytes() -> None:
    first = serialise(build_document(github=GITHUB, weeks=sample_weeks()))
    second = serialise(build_document(github=GITHUB, weeks=sample_weeks()))
    assert first == second


def test_insertion_order_does_not_change_the_bytes() -> None:
    weeks = sample_weeks()
    first = serialise(build_document(github=GITHUB, weeks=weeks))
    second = serialise(
        build_document(github=dict(reversed(list(GITHUB.items()))), weeks=reversed_order(weeks))
    )
    assert first == second


def test_serialised_form_is_compact_sorted_utf8() -> None:
    raw = serialise(build_document(github=GITHUB, weeks=sample_weeks()))
    text = raw.decode("utf-8")
    assert "✓" in text  # not \u-escaped
    assert ": " not in text and ", " not in text.replace("Add a feature", "")
    assert text.startswith('{"coverage":')
    assert json.loads(raw) == build_document(github=GITHUB, weeks=sample_weeks())


def test_generated_at_is_derived_from_the_data_not_the_clock() -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    assert document["generated_at"] == "2024-05-11T08:00:00Z"
    assert build_document(github=GITHUB, weeks={})["generated_at"] == "1970-01-01T00:00:00Z"


def test_coverage_of_orders_weeks_chronologically_and_finds_the_last_complete() -> None:
    weeks = sample_weeks()
    # W19 was fetched on 2024-05-11, before it ended: not complete.
    assert weeks["2024-W19"]["complete"] is False
    assert coverage_of(weeks) == {
        "first_week": "2024-W17",
        "last_week": "2024-W19",
        "last_complete_week": "2024-W18",
    }


def test_coverage_of_across_a_year_boundary() -> None:
    fetched = dt.datetime(2022, 1, 20, tzinfo=dt.UTC)
    weeks = {
        str(week): week_data(week, fetched_at=fetched)
        for week in (IsoWeek(2021, 1), IsoWeek(2020, 53), IsoWeek(2020, 9))
    }
    assert coverage_of(weeks) == {
        "first_week": "2020-W09",
        "last_week": "2021-W01",
        "last_complete_week": "2021-W01",
    }


def test_coverage_of_nothing() -> None:
    assert coverage_of({}) == {"first_week": None, "last_week": None, "last_complete_week": None}


def test_parse_round_trip_from_bytes_and_from_a_file() -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    raw = serialise(document)
    assert parse(raw) == document
    assert parse(io.BytesIO(raw)) == document


@pytest.mark.parametrize("raw", [b"", b"not json", b"{", b"\xff\xfe\x00", b"<html></html>"])
def test_parse_rejects_non_json(raw: bytes) -> None:
    with pytest.raises(InvalidFile):
        parse(raw)


def test_parse_rejects_another_schema_version() -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    document["schema"] = 2
    with pytest.raises(InvalidFile):
        parse(serialise(document))


@pytest.mark.parametrize("missing", ["schema", "generated_at", "github", "coverage", "weeks"])
def test_parse_rejects_a_missing_top_level_field(missing: str) -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    del document[missing]
    with pytest.raises(InvalidFile):
        parse(serialise(document))


@pytest.mark.parametrize("missing", ["complete", "fetched_at", "commits", "contributions"])
def test_parse_rejects_a_week_missing_a_field(missing: str) -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    del document["weeks"]["2024-W18"][missing]
    with pytest.raises(InvalidFile, match="2024-W18|weeks"):
        parse(serialise(document))


def test_parse_rejects_bad_week_keys_and_bad_commits() -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    bad_key = copy.deepcopy(document)
    bad_key["weeks"]["2024-W54"] = bad_key["weeks"].pop("2024-W18")
    with pytest.raises(InvalidFile):
        parse(serialise(bad_key))
    bad_sha = copy.deepcopy(document)
    bad_sha["weeks"]["2024-W17"]["commits"][0]["sha"] = "not-a-sha"
    with pytest.raises(InvalidFile):
        parse(serialise(bad_sha))


def test_parse_rejects_a_json_list() -> None:
    with pytest.raises(InvalidFile):
        parse(b"[]")


def test_upload_metadata_has_description_tags_and_coverage() -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    metadata = upload_metadata(document)
    assert isinstance(metadata["description"], str) and metadata["description"]
    assert metadata["description"] == DESCRIPTION
    assert isinstance(metadata["tags"], list) and "github" in metadata["tags"]
    assert metadata["tags"] == TAGS
    assert metadata["coverage"] == document["coverage"]
    assert metadata["schema"] == SCHEMA_VERSION
    assert metadata["updated_at"] == document["generated_at"]
    json.dumps(metadata)  # travels as a JSON string


def test_coverage_from_metadata_round_trip() -> None:
    document = build_document(github=GITHUB, weeks=sample_weeks())
    metadata = json.loads(json.dumps(upload_metadata(document)))
    assert coverage_from_metadata(metadata) == document["coverage"]


def test_coverage_from_metadata_with_empty_coverage() -> None:
    metadata = upload_metadata(build_document(github=GITHUB, weeks={}))
    assert coverage_from_metadata(metadata) == {
        "first_week": None,
        "last_week": None,
        "last_complete_week": None,
    }


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        "a string",
        [],
        {},
        {"description": "x", "tags": []},
        {"schema": 2, "coverage": {"first_week": "2024-W01"}},
        {"schema": "1", "coverage": {"first_week": "2024-W01"}},
        {"schema": 1, "coverage": "2024-W01"},
        {"schema": 1, "coverage": {"first_week": "2024-18"}},
        {"schema": 1, "coverage": {"last_complete_week": 202418}},
        {"schema": 1, "coverage": {"last_week": "2023-W53"}},
    ],
)
def test_coverage_from_metadata_rejects_junk(metadata: Any) -> None:
    assert coverage_from_metadata(metadata) is None
