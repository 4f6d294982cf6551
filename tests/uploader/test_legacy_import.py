"""A member of the older integration: their github.json is merged in once, and never touched."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.openhumans.client import OpenHumansApi
from shared.runtime import Runtime
from tests.uploader.helpers import (
    GITHUB_ID,
    GITHUB_LOGIN,
    Sandbox,
    make_member,
    only_file,
    stage,
    staged_weeks,
)
from uploader.publish import publish


def rest_commit(sha: str, committed: str, login: str | None) -> dict[str, Any]:
    return {
        "sha": sha,
        "html_url": f"https://github.com/{GITHUB_LOGIN}/old/commit/{sha}",
        "commit": {
            "author": {"name": "O", "email": "o@example.com", "date": committed},
            "committer": {"name": "O", "email": "o@example.com", "date": committed},
            "message": f"old {sha[:7]}",
        },
        "author": None if login is None else {"login": login, "id": GITHUB_ID},
    }


def test_github_json_is_imported_once_and_kept(
    sandbox: Sandbox, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = make_member(sandbox, runtime)
    ours = stage(member, "2024-W10", commits=1, fetched_at=None)
    ours_sha = ours["commits"][0]["sha"]
    legacy_bytes = json.dumps(
        {
            "repo_data": {
                f"{GITHUB_LOGIN}/old": {
                    "commits": [
                        rest_commit(ours_sha, ours["commits"][0]["committed_at"], GITHUB_LOGIN),
                        rest_commit("b" * 40, "2024-03-06T09:00:00Z", GITHUB_LOGIN.upper()),
                        rest_commit("c" * 40, "2019-03-05T09:00:00Z", GITHUB_LOGIN),
                        rest_commit("d" * 40, "2019-03-05T10:00:00Z", None),
                    ]
                }
            },
            "metadata": {},
        }
    ).encode()
    legacy_id = sandbox.upload_as_member(member.oh_username, "github.json", legacy_bytes)

    assert publish(member.id, runtime).kind == "uploaded"

    file_id, document = only_file(sandbox, member.oh_username)
    assert document["imported"] == [f"github.json:{legacy_id}"]
    assert [(c["sha"], c.get("source")) for c in document["weeks"]["2024-W10"]["commits"]] == [
        (ours_sha, None),
        ("b" * 40, "github.json"),
    ]
    old_week = document["weeks"]["2019-W10"]
    assert old_week["source"] == "github.json" and old_week["complete"] is True
    assert [c["sha"] for c in old_week["commits"]] == ["c" * 40]  # d has no GitHub author
    assert document["coverage"]["first_week"] == "2024-W10"  # the fetcher still fetches 2019
    metadata = next(f for f in sandbox.files(member.oh_username) if f["id"] == file_id)["metadata"]
    assert metadata["imported"] == [f"github.json:{legacy_id}"]

    # Nothing staged, import done: the run ends without downloading anything.
    downloads: list[str] = []
    real_download_to = OpenHumansApi.download_to

    def counted(api: OpenHumansApi, url: str, sink: Any) -> int:
        downloads.append(url)
        return real_download_to(api, url, sink)

    monkeypatch.setattr(OpenHumansApi, "download_to", counted)
    assert publish(member.id, runtime).kind == "nothing"
    assert downloads == []

    # The fetcher fetches 2024-W10 again and GitHub no longer has commit b: the import keeps it.
    refetched = stage(member, "2024-W10", commits=1, fetched_at=None, tag="again")
    assert publish(member.id, runtime).kind == "uploaded"
    assert len(downloads) == 1  # our file only: github.json is not read again
    _, document = only_file(sandbox, member.oh_username)
    assert [c["sha"] for c in document["weeks"]["2024-W10"]["commits"]] == [
        refetched["commits"][0]["sha"],
        "b" * 40,
    ]
    assert [c["sha"] for c in document["weeks"]["2019-W10"]["commits"]] == ["c" * 40]
    assert staged_weeks(member) == {}
    assert sandbox.content(legacy_id) == legacy_bytes  # never deleted nor changed
