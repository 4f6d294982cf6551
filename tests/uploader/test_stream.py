"""The file read and written a week at a time: the same bytes, the same checks, the same merge
as reading and writing it whole, and files not laid out as this project writes them still merged."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest

import uploader.stream as stream
from shared.activity import empty_activity, make_week
from shared.errors import InvalidFile
from shared.fileformat import build_document, parse, serialise
from shared.isoweek import IsoWeek
from shared.runtime import Runtime
from tests.uploader.helpers import (
    FILENAME,
    GITHUB_ID,
    GITHUB_LOGIN,
    Sandbox,
    commit,
    make_member,
    only_file,
    our_files,
    stage,
)
from uploader.legacy import LEGACY_BASENAME
from uploader.publish import publish

FETCHED = dt.datetime(2024, 6, 3, 9, 30, tzinfo=dt.UTC)


def weeks_of(first: IsoWeek, count: int, *, tag: str = "") -> dict[str, Any]:
    """``count`` weeks from ``first``: a few commits each (one message not ASCII), and one week
    known only from an imported file."""
    weeks: dict[str, Any] = {}
    week = first
    for n in range(count):
        activity = empty_activity(week)
        activity["commits"] = [commit(week, i, tag=tag) for i in range(n % 4)]
        if n == 2:
            activity["commits"][0]["message"] = 'Grüße, 日本, émoji 🎉 and a "quote"\n'
        weeks[str(week)] = make_week(week, activity, fetched_at=FETCHED)
        if n == 5:
            weeks[str(week)]["source"] = LEGACY_BASENAME
        week = week.next()
    return weeks


def document(weeks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return build_document(github={"id": GITHUB_ID, "login": GITHUB_LOGIN}, weeks=weeks, **extra)


def rewrite(content: bytes) -> tuple[bytes, dict[str, Any], dict[str, int]]:
    """Read ``content`` week by week and write it again; returns the bytes, top and summary."""
    reader = stream.FileReader(io.BytesIO(content))
    top = reader.read_top()
    with stream.DocumentWriter() as writer:
        for key, week in reader.weeks():
            writer.add(key, week)
        written_top = writer.top(github=top["github"], imported=set(top.get("imported", [])))
        with writer.finish(written_top) as written:
            return written.read(), written_top, writer.summary


@pytest.mark.parametrize("chunk_bytes", [7, 1 << 20])
def test_a_file_read_and_written_week_by_week_is_the_same_bytes(
    chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 7 bytes split every value, key and multi-byte character somewhere."""
    monkeypatch.setattr(stream, "CHUNK_BYTES", chunk_bytes)
    whole = document(weeks_of(IsoWeek(2023, 50), 12), imported=["github.json:7"])
    content = serialise(whole)
    written, top, summary = rewrite(content)
    assert written == content
    assert top == {key: value for key, value in whole.items() if key != "weeks"}
    assert summary == {"weeks": 12, "commits": 18, "pull_requests": 0, "issues": 0, "reviews": 0}


def test_an_empty_history_is_the_same_bytes() -> None:
    content = serialise(document({}))
    assert rewrite(content)[0] == content


def test_the_writer_keeps_the_digest_and_size_of_what_it_wrote() -> None:
    content = serialise(document(weeks_of(IsoWeek(2024, 1), 5)))
    reader = stream.FileReader(io.BytesIO(content))
    top = reader.read_top()
    with stream.DocumentWriter() as writer:
        for key, week in reader.weeks():
            writer.add(key, week)
        writer.finish(writer.top(github=top["github"], imported=set())).close()
    assert writer.size == len(content)
    assert writer.sha256 == stream.sha256_of(io.BytesIO(content))


def broken_files() -> dict[str, bytes]:
    good = serialise(document(weeks_of(IsoWeek(2024, 1), 6)))
    bad_week = document(weeks_of(IsoWeek(2024, 1), 6))
    bad_week["weeks"]["2024-W05"]["commits"] = "not a list"
    no_github = document(weeks_of(IsoWeek(2024, 1), 2))
    del no_github["github"]
    return {
        "not JSON": b"<html>Server Error</html>",
        "truncated in a week": good[: len(good) * 2 // 3],
        "cut after the weeks": good[:-1],
        "a week against the schema": serialise(bad_week),
        "a week key that is not a week": good.replace(b'"2024-W06"', b'"2024-W6x"'),
        "no github account": serialise(no_github),
        "not UTF-8": good.replace(b"commit 1", b"\xff\xfe\xfd", 1),
        "data after it": good + b"{}",
    }


@pytest.mark.parametrize("case", sorted(broken_files()))
def test_a_broken_file_is_refused_like_the_whole_file_parser_refuses_it(case: str) -> None:
    content = broken_files()[case]
    with pytest.raises(InvalidFile):
        parse(content)
    with pytest.raises(InvalidFile):
        rewrite(content)


def test_a_value_too_large_is_refused_before_it_is_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "CHUNK_BYTES", 64)
    monkeypatch.setattr(stream, "MAX_VALUE_CHARS", 1000)
    content = b'{"schema": 1, "weeks": {"2024-W01": ' + b'"' + b"x" * 5000
    with pytest.raises(InvalidFile, match="more than 1000"):
        rewrite(content)


def test_files_not_laid_out_as_this_project_writes_them_are_told_apart() -> None:
    whole = document(weeks_of(IsoWeek(2024, 1), 4))
    reversed_weeks = dict(reversed(list(whole["weeks"].items())))
    out_of_order = json.dumps({**whole, "weeks": reversed_weeks}).encode()
    weeks_first = json.dumps({"weeks": whole["weeks"], **whole}).encode()  # fields after weeks
    for content in (out_of_order, weeks_first):
        assert parse(content)  # valid files
        with pytest.raises(stream.Unsorted):
            rewrite(content)


# ---- publishing, against the sandbox ---------------------------------------------------------


def test_a_file_not_laid_out_as_this_project_writes_it_is_merged_whole(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    """Pretty-printed, weeks newest first: still merged with the staged weeks, and replaced."""
    member = make_member(sandbox, runtime)
    held = weeks_of(IsoWeek(2024, 1), 6, tag="held")
    other = dict(reversed(list(document(held).items())))  # "weeks" first, other fields after
    other["weeks"] = dict(reversed(list(held.items())))
    old_id = sandbox.upload_as_member(
        member.oh_username, FILENAME, json.dumps(other, indent=2).encode()
    )
    staged = {"2024-W03": stage(member, "2024-W03", commits=2, tag="new", fetched_at=None)}

    assert publish(member.id, runtime).kind == "uploaded"

    file_id, written = only_file(sandbox, member.oh_username)
    assert file_id != old_id
    assert written["weeks"] == {**held, **staged}
    assert sandbox.content(file_id) == serialise(document({**held, **staged}))


def test_a_file_broken_after_weeks_already_merged_is_kept_and_left_out(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    """The break is met only while merging: the run starts over without that file, which is
    kept untouched; the new file holds the valid file's weeks and the staged ones, nothing of
    the broken file's."""
    member = make_member(sandbox, runtime)
    valid_weeks = weeks_of(IsoWeek(2024, 1), 3, tag="valid")
    valid_id = sandbox.upload_as_member(
        member.oh_username, FILENAME, serialise(document(valid_weeks))
    )
    broken_weeks = weeks_of(IsoWeek(2024, 10), 8, tag="broken")
    broken_weeks["2024-W16"]["complete"] = "yes"  # against the schema, late in the file
    broken = serialise(document(broken_weeks))
    broken_id = sandbox.upload_as_member(member.oh_username, FILENAME, broken)
    staged = {"2024-W20": stage(member, "2024-W20", fetched_at=None)}

    assert publish(member.id, runtime).kind == "uploaded"

    files = {f["id"]: f for f in our_files(sandbox, member.oh_username)}
    assert valid_id not in files and broken_id in files and len(files) == 2
    assert sandbox.content(broken_id) == broken
    new_id = next(file_id for file_id in files if file_id != broken_id)
    assert json.loads(sandbox.content(new_id))["weeks"] == {**valid_weeks, **staged}


def test_a_large_history_is_merged_without_holding_it(
    sandbox: Sandbox, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten years of weeks: the reader is never asked for more than a chunk and a week."""
    monkeypatch.setattr(stream, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(stream, "MAX_VALUE_CHARS", 64 * 1024)  # larger than any one week here
    member = make_member(sandbox, runtime)
    held = weeks_of(IsoWeek(2014, 1), 520, tag="held")
    sandbox.upload_as_member(member.oh_username, FILENAME, serialise(document(held)))
    staged = {"2024-W05": stage(member, "2024-W05", commits=3, tag="new", fetched_at=None)}

    assert publish(member.id, runtime).kind == "uploaded"

    assert only_file(sandbox, member.oh_username)[1]["weeks"] == {**held, **staged}
