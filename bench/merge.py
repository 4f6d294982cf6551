"""Merge and serialise a heavy member's file with one new week: time and peak memory.

The history is 10 years with 50,000 commits plus pull requests, issues and reviews; the run
parses and validates the existing file's bytes (as the uploader does), merges one staged week,
and serialises the result.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import tracemalloc
from typing import Any

from shared.activity import empty_activity, make_week, utc_timestamp
from shared.fileformat import build_document, parse, serialise
from shared.isoweek import IsoWeek
from uploader.merge import merge_weeks

YEARS = 10
COMMITS = 50_000


def synthetic_history(
    *, seed: int = 7, commits: int = COMMITS, years: int = YEARS, items: int = 3000
) -> dict[str, Any]:
    """Weeks of ``years`` years, up to last week, with ``commits`` commits, ``items`` pull
    requests and issues and as many reviews, spread at random."""
    rng = random.Random(seed)
    last = IsoWeek.current().previous()
    first = IsoWeek(last.year - years, last.week if last.week <= 52 else 52)
    weeks = list(first.until(last))
    activity = {week: empty_activity(week) for week in weeks}
    repos = [f"octo-heavy/repo-{i:02d}" for i in range(60)]
    for n in range(commits):
        week = rng.choice(weeks)
        when = week.starts_at + dt.timedelta(seconds=rng.randrange(7 * 86400))
        activity[week]["commits"].append(
            {
                "sha": f"{rng.getrandbits(160):040x}",
                "repository": rng.choice(repos),
                "authored_at": utc_timestamp(when),
                "committed_at": utc_timestamp(when),
                "message": f"Change {n}: adjust the frobnicator for case {rng.randrange(1000)}",
                "url": f"https://github.com/{rng.choice(repos)}/commit/{n:040x}",
            }
        )
        activity[week]["contributions"][when.date().isoformat()] += 1
    for n in range(items):
        week = rng.choice(weeks)
        opened = utc_timestamp(week.starts_at + dt.timedelta(hours=rng.randrange(168)))
        repo = rng.choice(repos)
        item: Any = {"repository": repo, "number": n + 1, "title": f"Item {n}", "state": "CLOSED",
                "created_at": opened, "url": f"https://github.com/{repo}/pull/{n + 1}"}  # fmt: skip
        activity[week]["pull_requests" if n % 2 else "issues"].append(item)
        url = f"https://github.com/{repo}/pull/{n + 1}"
        review: Any = {"repository": repo, "pull_request": n + 1, "state": "APPROVED",
                  "submitted_at": opened, "url": url + "#review"}  # fmt: skip
        activity[week]["reviews"].append(review)
    fetched = dt.datetime.now(dt.UTC)
    return {str(w): make_week(w, activity[w], fetched_at=fetched) for w in weeks}


def _run(existing_bytes: bytes, staged: dict[str, Any]) -> bytes:
    existing = parse(existing_bytes)
    weeks = merge_weeks([existing["weeks"]], staged)
    return serialise(build_document(github=existing["github"], weeks=weeks))


def run() -> dict[str, float]:
    weeks = synthetic_history()
    existing_bytes = serialise(build_document(github={"id": 1, "login": "octo-heavy"}, weeks=weeks))
    current = IsoWeek.current()
    staged = {str(current): make_week(current, empty_activity(current),
                                      fetched_at=dt.datetime.now(dt.UTC))}  # fmt: skip
    del weeks
    started = time.perf_counter()
    result = _run(existing_bytes, staged)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    _run(existing_bytes, staged)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(result) > len(existing_bytes)
    return {"seconds": seconds, "peak_mb": peak / 2**20, "file_mb": len(existing_bytes) / 2**20}


def main() -> None:
    figures = run()
    print(f"merge: {figures['seconds']:.2f} s, {figures['peak_mb']:.0f} MB")
    print(f"merge file size: {figures['file_mb']:.1f} MB")


if __name__ == "__main__":
    main()
