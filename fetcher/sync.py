"""The sync of one member: fetch every week not yet held complete, stage it, hand over to upload.

The thin shell around the pure planner and bucketing: it holds the per-member lock, talks to
GitHub through the shared limiter, stages each period's weeks as soon as they are complete, and
maps the project's exceptions to what the member sees and what happens next.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import redis
from peewee import EXCLUDED

from fetcher.bucketing import bucket_weeks, commit_record
from fetcher.contributions import fetch_period
from fetcher.coverage import last_complete_week
from fetcher.planner import CommitListing, first_week_to_fetch, periods, plan_listings
from fetcher.progress import Plan, SyncProgress, listing_key
from shared import keys, queues
from shared.activity import Commit, parse_timestamp, utc_timestamp
from shared.db import Member, StagedWeek, db, transition, utcnow
from shared.errors import RateLimited, TokenRevoked
from shared.github.client import EtagCache, GitHubClient, NotFound
from shared.github.ratelimit import RateLimiter
from shared.isoweek import IsoWeek
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.syncstate import NEEDS_ACTION, SyncState

# A sync finding the member busy comes back this long after the holder's lock would lapse.
BUSY_MARGIN_MS = 2_000
# Re-sent syncs start a little after GitHub's reset, spread so that members waiting for the
# same moment don't stampede: up to 5% of the wait, at most 20 s. The reset is already on the
# safe side (whole seconds, and measured against a Date truncated to the second), so the
# margin only covers the time a message takes to reach a worker.
RESET_MARGIN_S = 0.25
RESET_JITTER_SHARE = 0.05
RESET_JITTER_MAX_S = 20.0

log = get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How a sync ended: done, waiting (until ``resets_at``), revoked, busy or skipped."""

    kind: str
    resets_at: dt.datetime | None = None
    weeks_staged: int = 0
    retry_in_s: float | None = None  # when waiting: the delay the sync was re-sent with


def sync_member(member_id: int, runtime: Runtime) -> Outcome:
    """Run one sync, unless another holds the member's lock: then come back when it is free."""
    # Renewed after every request batch, the lock lapses on its own if this fetcher dies.
    lock = runtime.redis.lock(keys.sync_lock(member_id), timeout=runtime.settings.sync_lock_ttl_s)
    if not lock.acquire(blocking=False):
        return _come_back_later(member_id, runtime)
    try:
        return _sync(member_id, runtime, lock)
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("sync_lock_lost", member_id=member_id)


def _come_back_later(member_id: int, runtime: Runtime) -> Outcome:
    """The member's lock is held: re-send this sync for when the lock will have expired.

    The holder may have died (its lock then lapses, and the re-sent sync resumes its work) or
    still run (it renews the lock; the re-sent sync comes back again, or runs a cheap refresh
    once the holder is done). However many messages arrive meanwhile, one re-send is pending.
    """
    lock_ttl_ms = max(int(runtime.redis.pttl(keys.sync_lock(member_id))), 0)
    delay_ms = lock_ttl_ms + BUSY_MARGIN_MS
    # The marker lapses just before the re-sent message runs, so that one may re-send in turn.
    marker = keys.sync_pending(member_id)
    if runtime.redis.set(marker, "1", nx=True, px=delay_ms - BUSY_MARGIN_MS // 2):
        queues.send_resumed_sync(member_id, delay_ms=delay_ms)
        log.info("sync_busy_resent", member_id=member_id, delay_ms=delay_ms)
    else:
        log.info("sync_busy_dropped", member_id=member_id, reason="a re-send is pending")
    return Outcome("busy")


def _sync(member_id: int, runtime: Runtime, lock: Any) -> Outcome:
    member = Member.get_or_none(Member.id == member_id)
    if member is None or not member.github_connected:
        log.info("sync_skipped_not_connected", member_id=member_id)
        return Outcome("skipped")
    if member.state in NEEDS_ACTION:
        log.info("sync_skipped_needs_action", member_id=member_id, state=member.sync_state)
        return Outcome("skipped")
    settings = runtime.settings
    limiter = RateLimiter(
        runtime.redis, reserve=settings.github_reserve, request_timeout_s=settings.http_timeout_s
    )
    client = GitHubClient(
        api_url=settings.github_api_url,
        token=runtime.cipher.decrypt(member.github_token),
        user_id=member.github_id,
        limiter=limiter if member.github_id else None,
        etags=EtagCache(runtime.redis, member.github_id) if member.github_id else None,
        timeout_s=settings.http_timeout_s,
        before_request=lock.reacquire,  # the member lock lapses only if this fetcher dies
        http=runtime.http,
    )
    if not transition(member_id, SyncState.SYNCING, sync_detail="", waiting_until=None):
        # Moved meanwhile to a state no sync may leave (deleting, needs an action).
        log.info("sync_skipped_state_changed", member_id=member_id)
        return Outcome("skipped")
    staged = 0
    try:
        with client:
            staged = _fetch(member, runtime, client)
    except RateLimited as limit:
        return _wait_for_reset(member_id, limit)
    except TokenRevoked:
        transition(
            member_id,
            SyncState.NEEDS_RECONNECT,
            sync_detail="GitHub no longer accepts our access: please reconnect GitHub.",
        )
        log.warning("github_token_revoked", member_id=member_id)
        return Outcome("revoked")
    except Exception as error:
        # Dramatiq retries with back-off; what was staged stays staged.
        transition(member_id, SyncState.ERROR, sync_detail=f"Sync failed, will retry: {error}")
        raise
    transition(member_id, SyncState.UPLOADING, last_synced_at=utcnow())
    queues.send_upload(member_id)
    log.info(
        "sync_done",
        member_id=member_id,
        weeks_staged=staged,
        requests=client.counter.sent,
        not_modified=client.counter.not_modified,
    )
    return Outcome("done", weeks_staged=staged)


def _wait_for_reset(member_id: int, limit: RateLimited) -> Outcome:
    """Partial data goes to the member now; the sync comes back when GitHub's limit resets."""
    wait_s = max((limit.resets_at - utcnow()).total_seconds(), 0.0)
    jitter_s = random.uniform(0, min(RESET_JITTER_MAX_S, RESET_JITTER_SHARE * wait_s))
    delay_s = wait_s + RESET_MARGIN_S + jitter_s
    transition(
        member_id,
        SyncState.WAITING,
        waiting_until=limit.resets_at,
        sync_detail=f"GitHub {limit.resource} limit reached",
    )
    if StagedWeek.select().where(StagedWeek.member == member_id).exists():
        queues.send_upload(member_id)
    queues.send_resumed_sync(member_id, delay_ms=int(max(delay_s, 1) * 1000))
    log.info(
        "sync_waiting",
        member_id=member_id,
        resource=limit.resource,
        resets_at=limit.resets_at.isoformat(),
        delay_s=round(delay_s, 1),
    )
    return Outcome("waiting", resets_at=limit.resets_at, retry_in_s=delay_s)


def _fetch(member: Member, runtime: Runtime, client: GitHubClient) -> int:
    user = client.get_user()
    if (user.id, user.login) != (member.github_id, member.github_login):
        Member.update(
            github_id=user.id, github_login=user.login, github_created_at=user.created_at
        ).where(Member.id == member.id).execute()
    first = first_week_to_fetch(
        account_created=IsoWeek.of(user.created_at),
        last_complete_week=last_complete_week(member, runtime),
    )
    current = IsoWeek.of(client.server_now())
    # Progress counts the member's whole history, so that it never goes backwards on a resume.
    weeks_total = sum(1 for _ in IsoWeek.of(user.created_at).until(current))
    weeks_held = weeks_total - sum(1 for _ in first.until(current))
    Member.update(weeks_total=weeks_total, weeks_done=weeks_held).where(
        Member.id == member.id
    ).execute()
    log.info(
        "sync_started", member_id=member.id, first_week=str(first), weeks=weeks_total - weeks_held
    )
    # GitHub's time before any data request: activity after it belongs to the next sync. A
    # resumed sync keeps the plan (and this time) of the run it continues.
    progress = SyncProgress(runtime.redis, member.id)
    plan = progress.resume_or_start(Plan(first=first, last=current, fetched_at=client.server_now()))
    sync_periods = periods(plan.first, plan.last)
    contributions = []
    for index, (start, end) in enumerate(sync_periods):
        period = progress.period(index)
        if period is None:
            period = fetch_period(
                client, login=user.login, starts_at=start.starts_at, ends_at=end.ends_at
            )
            progress.save_period(index, period)
        contributions.append(period)
    listings = plan_listings([period.repositories for period in contributions])
    commits_by_period: dict[int, list[Commit]] = defaultdict(list)
    staged = 0
    period_ends = [end.ends_at for _, end in sync_periods]
    for index, (start, end) in enumerate(sync_periods):
        for listing in (listing for listing in listings if listing.first_period == index):
            for commit in _read_listing(
                client, listing, sync_periods, user.login, progress, member.id
            ):
                # Each commit goes to the period of its committer date.
                at = bisect.bisect_right(period_ends, parse_timestamp(commit["committed_at"]))
                if listing.first_period <= at <= listing.last_period:
                    commits_by_period[at].append(commit)
        weeks = [week for week in start.until(end) if week >= first]  # the rest is staged
        period_commits = commits_by_period.pop(index, [])
        if weeks:
            _stage(
                member.id,
                bucket_weeks(
                    weeks, contributions[index], period_commits, fetched_at=plan.fetched_at
                ),
            )
            staged += len(weeks)
            Member.update(weeks_done=weeks_held + staged).where(Member.id == member.id).execute()
    progress.clear()
    return staged


def _read_listing(
    client: GitHubClient,
    listing: CommitListing,
    sync_periods: list[tuple[IsoWeek, IsoWeek]],
    login: str,
    progress: SyncProgress,
    member_id: int,
) -> list[Commit]:
    """Every commit of one listing, resuming from what an earlier run of this sync read."""
    since = sync_periods[listing.first_period][0].starts_at
    until = sync_periods[listing.last_period][1].ends_at - dt.timedelta(seconds=1)
    key = listing_key(listing.repository, utc_timestamp(since), utc_timestamp(until))
    done = progress.done(key)
    if done is not None:
        return done
    start_url, commits = progress.partial(key) or (None, [])
    try:
        for page, next_url in client.iter_commit_pages(
            listing.repository, author=login, since=since, until=until, start_url=start_url
        ):
            commits.extend(commit_record(raw, listing.repository) for raw in page)
            if next_url:
                progress.save_partial(key, next_url, commits)
    except NotFound:
        log.info("repository_not_visible", member_id=member_id, repository=listing.repository)
    progress.save_done(key, commits)
    return commits


def _stage(member_id: int, weeks: dict[IsoWeek, Any]) -> None:
    """Upsert the weeks; a week fetched again replaces its earlier staged version."""
    rows = [
        {
            "member": member_id,
            "week": str(week),
            "data": json.dumps(data, sort_keys=True, separators=(",", ":")),
            "complete": data["complete"],
            "fetched_at": parse_timestamp(data["fetched_at"]),
        }
        for week, data in weeks.items()
    ]
    with db.atomic():
        for batch in range(0, len(rows), 100):
            StagedWeek.insert_many(rows[batch : batch + 100]).on_conflict(
                conflict_target=[StagedWeek.member, StagedWeek.week],
                update={
                    StagedWeek.data: EXCLUDED.data,
                    StagedWeek.complete: EXCLUDED.complete,
                    StagedWeek.fetched_at: EXCLUDED.fetched_at,
                },
            ).execute()
