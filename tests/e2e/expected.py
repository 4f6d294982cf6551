"""The weeks a perfect sync would write, derived in the tests from a member's raw events.

This is written from GitHub's rules as the README's data section states them, with the
standard library only: neither the project's code nor the sandbox's own ground truth is used,
so a mistake shared by the fetcher and the sandbox cannot make a test pass.

- A commit counts when its repository is not a fork, still exists, and the member has standing
  there. It is listed in the ISO week (UTC) of its **committer** date, and counted in the
  calendar on the day of its **author** date.
- Pull requests and issues are listed and counted on the day they were opened, reviews on the
  day they were submitted, while their repository exists.
- Items in private repositories are listed only with access to private repositories; they are
  counted in the calendar with that access, or when the member's profile shows private counts.
- Everything is named as GitHub names it when read: a repository's current name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

Week = dict[str, Any]


def parse(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def week_key(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def name_at(repo: dict[str, Any], when: dt.datetime | None) -> str:
    """The repository's name at ``when`` (its current name when ``when`` is None)."""
    if when is None:
        return str(repo["name"])
    name = repo["created_as"]
    for rename in repo["renames"]:
        if parse(rename["at"]) <= when:
            name = rename["to"]
    return str(name)


def expected_weeks(
    events: dict[str, Any],
    *,
    private: bool,
    items_read_at: dt.datetime | None = None,
    unavailable: Iterable[str] = (),
) -> dict[str, Week]:
    """Every week with activity, as the file must hold it.

    ``items_read_at``: when the contribution data (pull requests, issues, reviews) was read,
    if a repository was renamed after that. ``unavailable``: repositories GitHub refused to
    list (their commits are counted in the calendar but cannot be read).
    """
    repos = {repo["id"]: repo for repo in events["repositories"]}
    refused = set(unavailable)
    weeks: dict[str, Week] = {}

    def week(day: dt.date) -> Week:
        key = week_key(day)
        if key not in weeks:
            monday = day - dt.timedelta(days=day.weekday())
            weeks[key] = {
                "commits": [],
                "pull_requests": [],
                "issues": [],
                "reviews": [],
                "contributions": {(monday + dt.timedelta(days=n)).isoformat(): 0 for n in range(7)},
            }
        return weeks[key]

    def counts(repo: dict[str, Any]) -> bool:
        return not repo["fork"] and repo["member_has_standing"] and repo["deleted_at"] is None

    def listed(repo: dict[str, Any]) -> bool:
        return private or not repo["private"]

    def in_calendar(repo: dict[str, Any]) -> bool:
        return private or not repo["private"] or bool(events["shows_private_counts"])

    def count(repo: dict[str, Any], when: dt.datetime) -> None:
        if in_calendar(repo):
            week(when.date())["contributions"][when.date().isoformat()] += 1

    for commit in events["commits"]:
        repo = repos[commit["repository_id"]]
        if not counts(repo):
            continue
        count(repo, parse(commit["authored_at"]))
        if listed(repo) and repo["name"] not in refused:
            committed = parse(commit["committed_at"])
            week(committed.date())["commits"].append(
                {
                    "sha": commit["sha"],
                    "repository": repo["name"],
                    "authored_at": commit["authored_at"],
                    "committed_at": commit["committed_at"],
                    "message": commit["message"],
                    "url": f"https://github.com/{repo['name']}/commit/{commit['sha']}",
                }
            )
    for kind, path in (("pull_requests", "pull"), ("issues", "issues")):
        for item in events[kind]:
            repo = repos[item["repository_id"]]
            if not counts(repo):
                continue
            created = parse(item["created_at"])
            count(repo, created)
            if listed(repo):
                name = name_at(repo, items_read_at)
                week(created.date())[kind].append(
                    {
                        "repository": name,
                        "number": item["number"],
                        "title": item["title"],
                        "state": item["state"],
                        "created_at": item["created_at"],
                        "url": f"https://github.com/{name}/{path}/{item['number']}",
                    }
                )
    for review in events["reviews"]:
        repo = repos[review["repository_id"]]
        if not counts(repo):
            continue
        submitted = parse(review["submitted_at"])
        count(repo, submitted)
        if listed(repo):
            name = name_at(repo, items_read_at)
            week(submitted.date())["reviews"].append(
                {
                    "repository": name,
                    "pull_request": review["pull_request"],
                    "state": review["state"],
                    "submitted_at": review["submitted_at"],
                    "url": f"https://github.com/{name}/pull/{review['pull_request']}"
                    f"#pullrequestreview-{review['id']}",
                }
            )
    return weeks


def _canonical(week: Week) -> dict[str, Any]:
    """A week with its lists in one order, so that equal content compares equal."""
    return {
        kind: sorted(week[kind], key=lambda item: json.dumps(item, sort_keys=True))
        for kind in ("commits", "pull_requests", "issues", "reviews")
    } | {"contributions": week["contributions"]}


def differences(
    document: dict[str, Any], expected: dict[str, Week], *, weeks: Iterable[str]
) -> list[str]:
    """The weeks among ``weeks`` where the file and ``expected`` differ, with what differs."""
    found = []
    for key in sorted(weeks):
        held = document["weeks"].get(key)
        want = expected.get(key)
        if held is None:
            if want is not None:
                found.append(f"{key}: missing from the file")
            continue
        if want is None:
            empty = not any(held[k] for k in ("commits", "pull_requests", "issues", "reviews"))
            if not empty or any(held["contributions"].values()):
                found.append(f"{key}: activity the raw events do not have")
            continue
        got, wanted = _canonical(held), _canonical(want)
        for kind in wanted:
            if got[kind] != wanted[kind]:
                found.append(f"{key}: {kind} differ: file {got[kind]} expected {wanted[kind]}")
    return found


def complete_weeks(document: dict[str, Any]) -> list[str]:
    return [key for key, week in document["weeks"].items() if week["complete"]]
