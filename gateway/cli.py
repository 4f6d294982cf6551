"""``ohgithub-admin``: the operators' command line, on the services' database and Redis.

    ohgithub-admin members [--state waiting]     members, by state
    ohgithub-admin show MEMBER                   one member: sync, file, GitHub budgets
    ohgithub-admin sync MEMBER... | --stale      queue syncs now (no cooldown)
    ohgithub-admin erase MEMBER [--yes]          erase everything held about a member
    ohgithub-admin queues                        depths of the fetch and upload queues
    ohgithub-admin budgets                       GitHub budgets per user, as GitHub last said

Every command takes ``--json`` for scripts. MEMBER is a project id, an Open Humans member id or
username, or a GitHub login. It reads the services' environment variables (README,
Configuration) and changes members only through ``gateway.members`` and ``transition()``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

import click
import redis

from gateway import members
from gateway.status import describe_contents
from scheduler.stale import is_due, stale_members
from shared import keys, runtime
from shared.db import Member, StagedWeek, connection, transition, utcnow
from shared.github.ratelimit import RateLimiter
from shared.queues import MEMBER_QUEUES, send_sync, setup_broker
from shared.settings import Settings
from shared.syncstate import SyncState

GITHUB_RESOURCES = ("core", "graphql", "search")
# `sync --stale` queues at most this many members per run (the scheduler's batch, too).
STALE_BATCH = 1000


@dataclasses.dataclass
class Context:
    runtime: runtime.Runtime
    as_json: bool = False

    @property
    def redis(self) -> redis.Redis:
        return self.runtime.redis


def _start(verbose: bool) -> runtime.Runtime:
    settings = Settings.from_env()
    if not verbose:  # log lines would drown the output; errors still show
        settings = dataclasses.replace(settings, log_level="WARNING")
    started = runtime.start("cli", settings)
    setup_broker(settings.redis_url)
    return started


@click.group()
@click.option("--verbose", is_flag=True, help="Show the services' log lines too.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Operate the Open Humans GitHub data source."""
    ctx.obj = Context(runtime=_start(verbose))


def json_option(command: Callable[..., None]) -> Callable[..., None]:
    """``--json``: print one JSON document instead of text."""

    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    @wraps(command)
    def wrapper(obj: Context, as_json: bool, *args: Any, **kwargs: Any) -> None:
        obj.as_json = as_json
        command(obj, *args, **kwargs)

    return wrapper


def emit(ctx: Context, data: Any, text: Callable[[], Iterable[str]]) -> None:
    if ctx.as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        for line in text():
            click.echo(line)


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _member_or_fail(reference: str) -> Member:
    member = members.find_member(reference)
    if member is None:
        raise click.ClickException(f"no member {reference!r} (try `ohgithub-admin members`)")
    return member


def member_row(member: Member) -> dict[str, Any]:
    """What the listing shows of a member (never a token)."""
    return {
        "id": member.id,
        "oh_member_id": member.oh_member_id,
        "oh_username": member.oh_username,
        "github_login": member.github_login,
        "github_id": member.github_id,
        "state": member.sync_state,
        "weeks_done": member.weeks_done,
        "weeks_total": member.weeks_total,
        "last_synced_at": member.last_synced_at,
    }


# ---- members ----------------------------------------------------------------------------------


@cli.command("members")
@click.option(
    "--state",
    type=click.Choice([state.value for state in SyncState]),
    help="Only members in this sync state.",
)
@json_option
def list_members(ctx: Context, state: str | None) -> None:
    """List members, by sync state."""
    found = members.list_members(SyncState(state) if state else None)
    rows = [member_row(member) for member in found]
    counts: dict[str, int] = {}
    for member in found:
        counts[member.sync_state] = counts.get(member.sync_state, 0) + 1

    def text() -> Iterable[str]:
        yield f"{'ID':>5}  {'STATE':<16} {'OPEN HUMANS':<20} {'GITHUB':<20} LAST SYNCED"
        for member in found:
            yield (
                f"{member.id:>5}  {member.sync_state:<16} "
                f"{(member.oh_username or member.oh_member_id)[:20]:<20} "
                f"{(member.github_login or '-')[:20]:<20} {_when(member.last_synced_at)}"
            )
        yield ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no members"

    emit(ctx, {"members": rows, "by_state": counts}, text)


@cli.command("show")
@click.argument("reference", metavar="MEMBER")
@json_option
def show(ctx: Context, reference: str) -> None:
    """Show one member: sync state, file, and their GitHub budgets."""
    member = _member_or_fail(reference)
    budgets = _budgets_of(ctx.redis, member.github_id) if member.github_id else {}
    with connection():
        staged = StagedWeek.select().where(StagedWeek.member == member.id).count()
    data = {
        **member_row(member),
        "sync_detail": member.sync_detail,
        "waiting_until": member.waiting_until,
        "sync_requested_at": member.sync_requested_at,
        "last_uploaded_at": member.last_uploaded_at,
        "github_connected": member.github_connected,
        "github_scopes": member.github_scopes,
        "coverage": {
            "first_week": member.coverage_first_week or None,
            "last_week": member.coverage_last_week or None,
            "last_complete_week": member.coverage_last_complete_week or None,
        },
        "file_size": member.file_size,
        "contents": describe_contents(member.file_summary),
        "staged_weeks": staged,
        "github_budgets": budgets,
    }

    def text() -> Iterable[str]:
        yield f"Member {member.id}: Open Humans {member.oh_username or '-'} ({member.oh_member_id})"
        yield f"  GitHub:        {member.github_login or 'not connected'} {member.github_scopes}"
        progress = f"{member.weeks_done}/{member.weeks_total} weeks"
        yield f"  State:         {member.sync_state} ({progress})"
        if member.sync_detail:
            yield f"  Detail:        {member.sync_detail}"
        if member.waiting_until:
            yield f"  Waiting until: {_when(member.waiting_until)}"
        yield f"  Last synced:   {_when(member.last_synced_at)}"
        yield f"  Last upload:   {_when(member.last_uploaded_at)}"
        coverage = member.coverage_first_week and (
            f"{member.coverage_first_week} to {member.coverage_last_week}"
        )
        yield f"  File:          {coverage or 'none'}, {member.file_size:,} bytes"
        if data["contents"]:
            yield f"  Contents:      {data['contents']}"
        yield f"  Staged weeks:  {staged}"
        for resource, budget in budgets.items():
            yield f"  GitHub {resource + ':':<8} {_budget_text(budget)}"

    emit(ctx, data, text)


# ---- sync ---------------------------------------------------------------------------------------


@cli.command("sync")
@click.argument("references", metavar="[MEMBER]...", nargs=-1)
@click.option("--stale", is_flag=True, help="Every member due for a refresh (STALE_AFTER).")
@json_option
def sync(ctx: Context, references: tuple[str, ...], stale: bool) -> None:
    """Queue syncs now, for the members named or for every stale one (no cooldown)."""
    if bool(references) == stale:
        raise click.UsageError("name members, or give --stale (not both)")
    settings = ctx.runtime.settings
    now = utcnow()
    if stale:
        with connection():
            targets = stale_members(
                now=now, stale_after_s=settings.stale_after_s, limit=STALE_BATCH
            )
        # Still due when its turn comes: a member's own "Sync now" meanwhile must win.
        condition = is_due(now=now, stale_after_s=settings.stale_after_s)
    else:
        targets = [_member_or_fail(reference).id for reference in references]
        condition = None
    queued, skipped = [], []
    with click.progressbar(
        targets, label="Queueing syncs", file=sys.stderr, show_pos=True
    ) as progress:
        for member_id in progress:
            with connection():
                claimed = transition(
                    member_id,
                    SyncState.QUEUED,
                    condition=condition,
                    sync_detail="",
                    sync_requested_at=utcnow(),
                )
            if claimed:
                send_sync(member_id)
                queued.append(member_id)
            else:
                skipped.append(member_id)

    def text() -> Iterable[str]:
        yield f"{len(queued)} sync(s) queued" + (f": {queued}" if queued else "")
        if skipped:
            yield f"{len(skipped)} skipped (their state allows no sync now): {skipped}"

    emit(ctx, {"queued": queued, "skipped": skipped}, text)


# ---- erase --------------------------------------------------------------------------------------


@cli.command("erase")
@click.argument("reference", metavar="MEMBER")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def erase(ctx: Context, reference: str, yes: bool) -> None:
    """Erase everything held about a member, as when they leave the project.

    Their tokens, staged weeks and Redis state go; the file in their Open Humans account stays
    (it is theirs).
    """
    member = _member_or_fail(reference)
    label = f"{member.oh_username or member.oh_member_id} (id {member.id})"
    if not yes:
        click.confirm(f"Erase everything held about {label}?", abort=True, err=True)
    erased = members.erase_member(member.oh_member_id, redis_client=ctx.redis)
    emit(
        ctx,
        {"erased": erased, "id": member.id, "oh_member_id": member.oh_member_id},
        lambda: [f"Erased {label}." if erased else f"{label} was already gone."],
    )


# ---- queues and budgets -------------------------------------------------------------------------


def queue_depths(client: redis.Redis) -> dict[str, dict[str, int]]:
    """Per queue: messages waiting for a worker, being worked, delayed, and dead-lettered."""
    depths = {}
    for queue in MEMBER_QUEUES:
        pipe = client.pipeline()
        pipe.llen(keys.queue_ready(queue))
        pipe.hlen(keys.queue_messages(queue))
        pipe.hlen(keys.delayed_messages(queue))
        pipe.hlen(keys.dead_messages(queue))
        ready, unacknowledged, delayed, dead = (int(n) for n in pipe.execute())
        depths[queue] = {
            "ready": ready,
            "in_progress": max(unacknowledged - ready, 0),
            "delayed": delayed,
            "dead": dead,
        }
    return depths


@cli.command("queues")
@json_option
def queues(ctx: Context) -> None:
    """Depths of the fetch, fetch-resumed and upload queues."""
    depths = queue_depths(ctx.redis)

    def text() -> Iterable[str]:
        yield f"{'QUEUE':<13} {'READY':>7} {'WORKING':>8} {'DELAYED':>8} {'DEAD':>6}"
        for queue, d in depths.items():
            counts = f"{d['ready']:>7} {d['in_progress']:>8} {d['delayed']:>8} {d['dead']:>6}"
            yield f"{queue:<13} {counts}"

    emit(ctx, depths, text)


def _budgets_of(client: redis.Redis, github_id: int) -> dict[str, dict[str, Any]]:
    limiter = RateLimiter(client)
    budgets = {}
    for resource in GITHUB_RESOURCES:
        state = limiter.state(github_id, resource)
        if state:
            budgets[resource] = {
                **state,
                "resets_at": dt.datetime.fromtimestamp(state.get("reset", 0), dt.UTC),
            }
    return budgets


def _budget_text(budget: dict[str, Any]) -> str:
    return (
        f"{budget.get('remaining', '?')}/{budget.get('limit', '?')} left, "
        f"resets {_when(budget['resets_at'])}"
    )


@cli.command("budgets")
@json_option
def budgets(ctx: Context) -> None:
    """GitHub budgets per user and resource, as GitHub's headers last reported them."""
    github_ids = set()
    for key in ctx.redis.scan_iter(match=keys.rate_limit_pattern(), count=1000):
        parts = key.decode().split(":")
        if len(parts) == 4 and parts[2].isdigit():
            github_ids.add(int(parts[2]))
    with connection():
        logins = {
            member.github_id: member.github_login
            for member in Member.select(Member.github_id, Member.github_login).where(
                Member.github_id.in_(sorted(github_ids))
            )
        }
    rows: list[dict[str, Any]] = [
        {
            "github_id": github_id,
            "github_login": logins.get(github_id, ""),
            "budgets": _budgets_of(ctx.redis, github_id),
        }
        for github_id in sorted(github_ids)
    ]

    def text() -> Iterable[str]:
        if not rows:
            yield "no GitHub budgets recorded (no GitHub request in the last two hours)"
        for row in rows:
            yield f"{row['github_login'] or '?'} ({row['github_id']})"
            for resource, budget in row["budgets"].items():
                yield f"  {resource + ':':<8} {_budget_text(budget)}"

    emit(ctx, {"github_users": rows}, text)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
