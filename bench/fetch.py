"""GitHub requests spent by a backfill and a refresh, against the least the data needs.

Runs the real fetcher (``fetcher.sync.sync_member``) and uploader (``uploader.publish``)
in-process against an in-process sandbox, on real Redis and a temporary SQLite database.
Requests are counted by the sandbox's request log, the minimum is computed from its ground
truth (see bench/README.md for its definition), and the older integration's plan (list every
repository, then page through each one's commits) is executed against the same sandbox.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from fetcher.planner import periods
from fetcher.sync import Outcome, sync_member
from sandbox.config import SandboxConfig
from sandbox.server import run_in_thread
from shared import queues
from shared.activity import parse_timestamp
from shared.db import Member, StagedWeek, connection, init_database
from shared.isoweek import IsoWeek
from shared.openhumans.tokens import store_tokens
from shared.runtime import Runtime
from shared.settings import Settings
from shared.syncstate import SyncState
from uploader.publish import publish

# BENCH_REDIS_URL chooses the Redis database (flushed by every run); another run on the same
# machine needs another one.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
SCOPE = "repo read:user"
# A refresh runs this long after the backfill, as the scheduler's default STALE_AFTER.
REFRESH_AFTER_S = 4 * 86400
# For the timing run: a budget this small per window makes the heavy backfill span several
# windows; windows of 20 real seconds keep the run near a minute and a half, while the time
# requests themselves take (about 10 s) stays small beside the waits, as it is at GitHub.
TIMED_CORE_LIMIT = 75
TIMED_WINDOW_S = 20.0


@dataclass
class Bench:
    sandbox: httpx.Client
    runtime: Runtime

    def counted(self, login: str) -> int:
        """Requests charged against the member's budgets so far (304s are free)."""
        stats = self.sandbox.get("/_sandbox/stats", params={"login": login}).json()
        return int(stats["counted"])

    def stats(self, login: str) -> dict[str, Any]:
        result: dict[str, Any] = self.sandbox.get("/_sandbox/stats", params={"login": login}).json()
        return result

    def truth(self, login: str) -> dict[str, Any]:
        url = f"/_sandbox/github/users/{login}/truth"
        result: dict[str, Any] = self.sandbox.get(url, params={"private": "true"}).json()
        return result

    def connect(self, login: str) -> Member:
        github = self.sandbox.post("/_sandbox/github/tokens", json={"login": login, "scope": SCOPE})
        oh = self.sandbox.post("/_sandbox/openhumans/tokens", json={"username": login}).json()
        truth = self.truth(login)
        member = Member(
            oh_member_id=oh["project_member_id"],
            oh_username=login,
            github_id=truth["github"]["id"],
            github_login=login,
            github_token=self.runtime.cipher.encrypt(github.json()["access_token"]),
            github_scopes=SCOPE,
            sync_state=SyncState.QUEUED,
        )
        store_tokens(member, oh, self.runtime.cipher)
        member.save()
        return member

    def sync_until_done(self, member_id: int) -> tuple[Outcome, int]:
        """Run syncs as the re-sent messages would, sleeping the delay each was sent with."""
        waits = 0
        while True:
            outcome = sync_member(member_id, self.runtime)
            if outcome.kind != "waiting":
                return outcome, waits
            waits += 1
            time.sleep(outcome.retry_in_s or 1)


def minimum_requests(
    truth: dict[str, Any], *, first: IsoWeek, last: IsoWeek, knows_account: bool = False
) -> int:
    """The least the data of weeks first..last needs (see bench/README.md).

    One ``/user``, unless the account is already known (a refresh can ask with its ETag and
    GitHub answers 304 for free); per year (52-week period, GitHub's longest contribution query) one
    contribution query, one more per further 100 repositories with commits, and one more page
    per further 100 issues, pull requests or reviews; and per repository one commit page per
    100 of its commits in the whole range, as if each repository were listed once.
    """
    total = 0 if knows_account else 1
    all_commits: Counter[str] = Counter()
    for start, end in periods(first, last):
        weeks = [truth["weeks"].get(str(week)) for week in start.until(end)]
        weeks = [week for week in weeks if week]
        commits = Counter(c["repository"] for w in weeks for c in w["commits"])
        all_commits.update(commits)
        total += max(1, math.ceil(len(commits) / 100))
        for kind in ("issues", "pull_requests", "reviews"):
            count = sum(len(w[kind]) for w in weeks)
            total += max(0, math.ceil(count / 100) - 1)
    return total + sum(math.ceil(n / 100) for n in all_commits.values())


def older_integration(base_url: str, token: str, login: str, *, refresh: bool) -> None:
    """The older Celery task's plan: list every repository, then each one's commits.

    A backfill pages through every repository's commits; a refresh reads each repository's
    first page (it stops at commits it already holds).
    """
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    with httpx.Client(base_url=f"{base_url}/github-api", headers=headers, timeout=60) as http:
        url: str | None = "/user/repos?per_page=100&affiliation=owner,collaborator"
        repositories = []
        while url:
            page = http.get(url)
            repositories.extend(repo["full_name"] for repo in page.json())
            url = page.links.get("next", {}).get("url")
        for repository in repositories:
            url = f"/repos/{repository}/commits?author={login}&per_page=100"
            while url:
                page = http.get(url)
                url = None if refresh else page.links.get("next", {}).get("url")


def _last_complete(member_id: int) -> IsoWeek:
    member = Member.get_by_id(member_id)
    return IsoWeek.parse(member.coverage_last_complete_week)


@contextmanager
def bench_environment() -> Iterator[Bench]:
    base_url, stop = run_in_thread(SandboxConfig())
    client = redis.Redis.from_url(BENCH_REDIS_URL)
    client.flushdb()
    with (
        tempfile.TemporaryDirectory() as folder,
        httpx.Client(base_url=base_url, timeout=120) as sandbox,
    ):
        settings = Settings(
            database_url=f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
            redis_url=BENCH_REDIS_URL,
            github_api_url=f"{base_url}/github-api",
            openhumans_url=f"{base_url}/openhumans",
            openhumans_client_id="sandbox-oh-client",
            openhumans_client_secret="sandbox-oh-secret",
            github_reserve=0,
            log_level="WARNING",
        )
        init_database(settings.database_url)
        queues.setup_broker(settings.redis_url)
        with connection():
            yield Bench(sandbox=sandbox, runtime=Runtime(settings))
    client.flushdb()
    stop()


def measure_member(bench: Bench, login: str) -> dict[str, Any]:
    """Backfill, upload, a refresh four days later, and the older integration's plan."""
    member = bench.connect(login)
    truth = bench.truth(login)
    account_week = IsoWeek.of(parse_timestamp(truth["github"]["created_at"]))
    now_week = IsoWeek.current()
    outcome, _ = bench.sync_until_done(member.id)
    assert outcome.kind == "done", outcome
    backfill = bench.counted(login)
    backfill_minimum = minimum_requests(truth, first=account_week, last=now_week)
    publish(member.id, bench.runtime)
    refresh_first = _last_complete(member.id).next()

    bench.sandbox.post("/_sandbox/clock", json={"advance_seconds": REFRESH_AFTER_S})
    later = bench.truth(login)
    assert bench_sync(bench, member.id).kind == "done"
    refresh = bench.counted(login) - backfill
    refresh_last = max(IsoWeek.parse(row.week) for row in StagedWeek.select())
    refresh_minimum = minimum_requests(
        later, first=refresh_first, last=refresh_last, knows_account=True
    )
    violations = int(bench.stats(login)["violations"])

    token = bench.sandbox.post(
        "/_sandbox/github/tokens", json={"login": login, "scope": SCOPE}
    ).json()["access_token"]
    base_url = str(bench.sandbox.base_url).rstrip("/")
    before = bench.counted(login)
    older_integration(base_url, token, login, refresh=False)
    old_backfill = bench.counted(login) - before
    before = bench.counted(login)
    older_integration(base_url, token, login, refresh=True)
    old_refresh = bench.counted(login) - before
    commits = sum(len(w["commits"]) for w in truth["weeks"].values())
    repositories = {c["repository"] for w in truth["weeks"].values() for c in w["commits"]}
    return {
        "login": login,
        "commits": commits,
        "repositories": len(repositories),
        "weeks": sum(1 for _ in account_week.until(now_week)),
        "backfill": backfill,
        "backfill_minimum": backfill_minimum,
        "refresh": refresh,
        "refresh_minimum": refresh_minimum,
        "violations": violations,
        "old_backfill": old_backfill,
        "old_refresh": old_refresh,
    }


def bench_sync(bench: Bench, member_id: int) -> Outcome:
    outcome, _ = bench.sync_until_done(member_id)
    return outcome


def measure_backfill_time(bench: Bench, login: str) -> dict[str, float]:
    """Elapsed time of a backfill spanning several budgets, against the bound they set."""
    bench.sandbox.post("/_sandbox/reset")
    bench.runtime.redis.flushdb()
    Member.delete().execute()
    scale = 3600 / TIMED_WINDOW_S
    bench.sandbox.post(
        "/_sandbox/config",
        json={"core_limit": TIMED_CORE_LIMIT, "rate_limit_time_scale": scale},
    ).raise_for_status()
    member = bench.connect(login)
    started = time.monotonic()
    outcome, waits = bench.sync_until_done(member.id)
    elapsed = time.monotonic() - started
    assert outcome.kind == "done", outcome
    stats = bench.stats(login)
    core = int(stats["counted_by_resource"].get("core", 0))
    bound = core / TIMED_CORE_LIMIT * TIMED_WINDOW_S
    return {
        "elapsed_s": elapsed,
        "bound_s": bound,
        "waits": waits,
        "core": core,
        "violations": int(stats["violations"]),
    }
