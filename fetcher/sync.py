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

from peewee import EXCLUDED, fn

from fetcher.bucketing import bucket_weeks, commit_record
from fetcher.contributions import fetch_period, first_contribution_day, pushed_since
from fetcher.coverage import last_complete_week
from fetcher.planner import (
    CommitListing,
    first_week_to_fetch,
    history_start,
    periods,
    plan_listings,
)
from fetcher.progress import Plan, SyncProgress, listing_key
from shared import keys, queues
from shared.activity import Commit, parse_timestamp, utc_timestamp
from shared.db import Member, StagedWeek, db, transition, utcnow
from shared.erasure import forget_redis_state
from shared.errors import LockLost, RateLimited, TokenRevoked
from shared.github.client import EtagCache, GitHubClient, GitHubUser, NotFound
from shared.github.ratelimit import RateLimiter
from shared.handback import check_not_stopping
from shared.isoweek import IsoWeek
from shared.locks import KeptLock
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
    """How a sync ended: done, waiting (until ``resets_at``), revoked, busy, skipped, lost (the
    lock, to a stall or an erasure) or erased (the member left while it ran)."""

    kind: str
    resets_at: dt.datetime | None = None
    weeks_staged: int = 0
    retry_in_s: float | None = None  # when waiting: the delay the sync was re-sent with


def sync_member(member_id: int, runtime: Runtime) -> Outcome:
    """Run one sync, unless another holds the member's lock: then come back when it is free."""
    # Kept alive while this fetcher lives, the lock lapses within SYNC_LOCK_TTL if it dies.
    lock = KeptLock(
        runtime.redis, keys.sync_lock(member_id), ttl_s=runtime.settings.sync_lock_ttl_s
    )
    if not lock.acquire():
        return _come_back_later(member_id, runtime)
    with lock:
        member = Member.get_or_none(Member.id == member_id)
        try:
            return _sync(member_id, member, runtime, lock)
        finally:
            # The GitHub user whose keys (budgets, ETags) this sync wrote, as it started.
            _forget_if_gone(member_id, member.github_id if member else None, runtime)


def _forget_if_gone(member_id: int, github_id: int | None, runtime: Runtime) -> None:
    """A member erased (they left the project) or who disconnected GitHub while their sync ran:
    forget again what the sync wrote to Redis, and the weeks it staged since. Checked after its
    last write, and the erasure and the disconnection forget only once the row or token is
    gone, so one of the two forgets last."""
    connected = Member.select().where((Member.id == member_id) & (Member.github_token != ""))
    if not connected.exists():
        StagedWeek.delete().where(StagedWeek.member == member_id).execute()
        forget_redis_state(runtime.redis, member_id=member_id, github_id=github_id)
        log.info("sync_member_gone", member_id=member_id)


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


def _sync(member_id: int, member: Member | None, runtime: Runtime, lock: KeptLock) -> Outcome:
    if member is None or not member.github_connected:
        log.info("sync_skipped_not_connected", member_id=member_id)
        return Outcome("skipped")
    if member.state in NEEDS_ACTION:
        log.info("sync_skipped_needs_action", member_id=member_id, state=member.sync_state)
        return Outcome("skipped")
    settings = runtime.settings

    def before_request() -> None:
        lock.check()  # stop if this fetcher stalled and lost the member
        check_not_stopping()  # hand the sync back if the worker is asked to stop

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
        before_request=before_request,
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
    except LockLost:
        # This fetcher stalled past SYNC_LOCK_TTL: another may be running the sync now.
        log.warning("sync_lock_lost", member_id=member_id)
        return Outcome("lost")
    except TokenRevoked:
        transition(
            member_id,
            SyncState.NEEDS_RECONNECT,
            sync_detail="GitHub no longer accepts our access: please reconnect GitHub.",
        )
        log.warning("github_token_revoked", member_id=member_id)
        return Outcome("revoked")
    except Exception as error:
        if not Member.select().where(Member.id == member_id).exists():
            # Erased meanwhile (staging then fails on the missing row): nothing to retry.
            log.info("sync_stopped_member_erased", member_id=member_id, error=type(error).__name__)
            return Outcome("erased")
        # Dramatiq retries with back-off; what was staged stays staged, and goes to the member
        # now: a failure that keeps coming back never withholds the history read before it.
        # The error goes to the log (Dramatiq's), never to the member (gateway.status words it).
        transition(member_id, SyncState.ERROR, sync_detail="Sync failed, will retry.")
        if StagedWeek.select().where(StagedWeek.member == member_id).exists():
            queues.send_upload(member_id)
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
    progress = SyncProgress(runtime.redis, member.id)
    held = last_complete_week(member, runtime)
    start = _history_start(client, user, held, progress)
    first = first_week_to_fetch(history_start=start, last_complete_week=held)
    current = IsoWeek.of(client.server_now())
    # Progress counts the member's whole history, so that it never goes backwards on a resume.
    weeks_total = sum(1 for _ in _first_week_known(member, start, progress).until(current))
    weeks_held = weeks_total - sum(1 for _ in first.until(current))
    log.info(
        "sync_started", member_id=member.id, first_week=str(first), weeks=weeks_total - weeks_held
    )
    # GitHub's time before any data request: activity after it belongs to the next sync. A
    # resumed sync keeps the plan (and this time) of the run it continues.
    new_plan = Plan(first=first, last=current, fetched_at=client.server_now())
    plan = progress.resume_or_start(new_plan)
    Member.update(weeks_total=weeks_total).where(Member.id == member.id).execute()
    # A new sync starts its bar afresh; a resumed one only ever moves it forward.
    _show_progress(member.id, weeks_held, only_forward=plan is not new_plan)
    sync_periods = periods(plan.first, plan.last)
    contributions = []
    for index, (period_start, period_end) in enumerate(sync_periods):
        period = progress.period(index)
        if period is None:
            period = fetch_period(
                client,
                login=user.login,
                starts_at=period_start.starts_at,
                ends_at=period_end.ends_at,
                answers=progress,
                with_pushed=index == len(sync_periods) - 1,
            )
            progress.save_period(index, period)
        contributions.append(period)
    pushed = pushed_since(
        client,
        login=user.login,
        since=plan.first.starts_at,
        answers=progress,
        first_page=contributions[-1].pushed,
    )
    listings = plan_listings([period.repositories for period in contributions], also=pushed)
    commits_by_period: dict[int, list[Commit]] = defaultdict(list)
    staged = 0
    period_ends = [end.ends_at for _, end in sync_periods]
    for index, (period_start, period_end) in enumerate(sync_periods):
        weeks = [week for week in period_start.until(period_end) if week >= first]
        period_listings = [listing for listing in listings if listing.first_period == index]
        for read, listing in enumerate(period_listings, 1):
            for commit in _read_listing(
                client, listing, sync_periods, user.login, progress, member.id
            ):
                # Each commit goes to the period of its committer date.
                at = bisect.bisect_right(period_ends, parse_timestamp(commit["committed_at"]))
                if listing.first_period <= at <= listing.last_period:
                    commits_by_period[at].append(commit)
            # The dashboard's progress moves with each listing, not only once a year is staged.
            share = len(weeks) * read // (len(period_listings) + 1)
            _show_progress(member.id, weeks_held + staged + share)
        period_commits = commits_by_period.pop(index, [])
        if weeks:  # the others are staged already
            _stage(
                member.id,
                bucket_weeks(
                    weeks, contributions[index], period_commits, fetched_at=plan.fetched_at
                ),
            )
            staged += len(weeks)
            _show_progress(member.id, weeks_held + staged)
    progress.clear()
    return staged


def _show_progress(member_id: int, weeks_done: int, *, only_forward: bool = True) -> None:
    """The dashboard's progress; ``only_forward`` never lowers what the member already saw."""
    query = Member.update(weeks_done=weeks_done).where(Member.id == member_id)
    if only_forward:
        query = query.where(Member.weeks_done < weeks_done)
    query.execute()


def _history_start(
    client: GitHubClient, user: GitHubUser, held: IsoWeek | None, progress: SyncProgress
) -> IsoWeek:
    """Where the member's history begins: asked of GitHub only while the file holds nothing.

    GitHub counts commits dated before the account existed (a history pushed later) on their
    author date, so the history starts with the first contribution GitHub counts.
    """
    account = IsoWeek.of(user.created_at)
    if held is not None:
        return min(account, held)
    unfinished = progress.stored_plan()
    if unfinished is not None and unfinished.last == IsoWeek.of(client.server_now()):
        return unfinished.first  # asked by the run this one resumes
    first_day = first_contribution_day(
        client, login=user.login, account_created=user.created_at, answers=progress
    )
    return history_start(account_created=account, first_contribution=first_day)


def _first_week_known(member: Member, start: IsoWeek, progress: SyncProgress) -> IsoWeek:
    """The history's first week as far as anything tells: the file, what is staged, the plan."""
    known = [start]
    if member.coverage_first_week:
        known.append(IsoWeek.parse(member.coverage_first_week))
    staged = StagedWeek.select(fn.MIN(StagedWeek.week)).where(StagedWeek.member == member.id)
    if first_staged := staged.scalar():
        known.append(IsoWeek.parse(first_staged))  # "YYYY-Www" sorts as the weeks do
    if (unfinished := progress.stored_plan()) is not None:
        known.append(unfinished.first)
    return min(known)


def _read_listing(
    client: GitHubClient,
    listing: CommitListing,
    sync_periods: list[tuple[IsoWeek, IsoWeek]],
    login: str,
    progress: SyncProgress,
    member_id: int,
) -> list[Commit]:
    """Every commit of one listing, resuming from the pages an earlier run of this sync read.

    A repository GitHub no longer serves (deleted, taken down, blocked for this token) costs
    its own commits only: the listing ends there and the sync goes on.
    """
    since = sync_periods[listing.first_period][0].starts_at
    until = sync_periods[listing.last_period][1].ends_at - dt.timedelta(seconds=1)
    key = listing_key(listing.repository, utc_timestamp(since), utc_timestamp(until))
    read = progress.listing(key)
    if read.finished:
        return read.commits
    commits, page_index, finished = list(read.commits), read.pages, False
    try:
        for page, next_url in client.iter_commit_pages(
            listing.repository, author=login, since=since, until=until, start_url=read.next_url
        ):
            records = [commit_record(raw, listing.repository) for raw in page]
            commits.extend(records)
            progress.save_page(key, page_index, records, next_url)
            page_index, finished = page_index + 1, next_url is None
    except NotFound as error:
        log.warning(
            "repository_unavailable",
            member_id=member_id,
            repository=listing.repository,
            error=str(error),
        )
    if not finished:  # unavailable, or empty (409: no page at all)
        progress.save_page(key, page_index, [], None)
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
