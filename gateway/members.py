"""The gateway's changes to member rows; each function runs inside one database connection.

These are synchronous on purpose: routes call them through a thread pool so that peewee's
blocking I/O never runs on the event loop.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import redis
from peewee import fn

from gateway.sessions import SESSION_MAX_AGE_S
from shared.crypto import TokenCipher
from shared.db import (
    Member,
    StagedWeek,
    connection,
    member_by_id,
    transition,
    utcnow,
    write_transaction,
)
from shared.erasure import forget_and_stop_sync, forget_login_sessions
from shared.errors import OpenHumansAuthError, OpenHumansLoginNeeded
from shared.logging import get_logger
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import fresh_access_token, store_tokens
from shared.queues import send_delete_file, send_sync
from shared.settings import Settings
from shared.syncstate import AT_REST, EVERY_STATE, SyncState

log = get_logger(__name__)


def get_member(member_id: int) -> Member | None:
    with connection():
        return member_by_id(member_id)


def upsert_openhumans_member(
    *, project_member_id: str, username: str, token: dict[str, Any], cipher: TokenCipher
) -> Member:
    """Create or update the member who just logged in with Open Humans; returns the row.

    A member who had to log in again because their refresh token stopped working gets their
    pending sync queued again, since staged weeks may be waiting for upload.
    """
    with connection(), write_transaction():
        member = Member.get_or_none(Member.oh_member_id == project_member_id)
        created = member is None
        if member is None:
            member = Member(oh_member_id=project_member_id)
        member.oh_username = username
        store_tokens(member, token, cipher)
        member.save()
        resume = SyncState.QUEUED if member.github_connected else SyncState.NEW
        resumed = transition(
            member.id,
            resume,
            from_states={SyncState.NEEDS_LOGIN},
            sync_detail="",
            sync_requested_at=utcnow(),
        )
    log.info("openhumans_login", member_id=member.id, created=created)
    if resumed and resume == SyncState.QUEUED:
        send_sync(member.id)
    return member


def connect_github(
    *,
    member_id: int,
    github_id: int,
    login: str,
    created_at: dt.datetime,
    scopes: list[str],
    token: str,
    cipher: TokenCipher,
) -> Member | None:
    """Store the member's GitHub connection and queue their first sync; None if they are gone."""
    with connection(), write_transaction():
        member = Member.get_or_none(Member.id == member_id)
        if member is None:
            return None
        if member.github_id is not None and member.github_id != github_id:
            # Another GitHub account: its staged weeks belong to the previous one.
            StagedWeek.delete().where(StagedWeek.member == member).execute()
        member.github_id = github_id
        member.github_login = login
        member.github_created_at = created_at
        member.github_scopes = " ".join(sorted(scopes))
        member.github_token = cipher.encrypt(token)
        member.save()
        transition(
            member.id,
            SyncState.QUEUED,
            from_states=EVERY_STATE,
            sync_detail="",
            waiting_until=None,
            sync_requested_at=utcnow(),
        )
    log.info("github_connected", member_id=member.id, github_id=github_id, scopes=scopes)
    send_sync(member.id)
    return member


def request_sync(member: Member) -> bool:
    """Queue a sync now (the caller has checked the cooldown on ``member`` as read); False if
    the member is busy or another request queued a sync since that read.

    One conditional UPDATE decides: the member must still be at rest, with the
    ``sync_requested_at`` the caller's check saw. Of many presses at once, through any number
    of gateways, exactly one queues a sync; the others find the row changed.
    """
    seen = member.sync_requested_at
    unchanged = (
        Member.sync_requested_at.is_null() if seen is None else Member.sync_requested_at == seen
    )
    with connection():
        queued = transition(
            member.id,
            SyncState.QUEUED,
            from_states=AT_REST,
            condition=unchanged,
            sync_detail="",
            sync_requested_at=utcnow(),
        )
    if queued:
        log.info("sync_requested", member_id=member.id)
        send_sync(member.id)
    return queued


def disconnect_github(member_id: int, *, redis_client: redis.Redis) -> None:
    """Forget the GitHub token, account and staged weeks; the Open Humans file stays.

    A sync running now stops (``forget_and_stop_sync``) and forgets what it wrote meanwhile, as
    when a member leaves (``erase_member``).
    """
    with connection(), write_transaction():
        member = Member.get_or_none(Member.id == member_id)
        if member is None:
            return
        StagedWeek.delete().where(StagedWeek.member == member_id).execute()
        transition(
            member_id,
            SyncState.NEW,
            from_states=EVERY_STATE,
            github_token="",
            github_id=None,
            github_login="",
            github_scopes="",
            github_created_at=None,
            sync_detail="",
            waiting_until=None,
            weeks_done=0,
            weeks_total=0,
        )
    forget_and_stop_sync(redis_client, member_id=member_id, github_id=member.github_id)
    log.info("github_disconnected", member_id=member_id)


def delete_data(member_id: int, *, redis_client: redis.Redis) -> None:
    """Disconnect GitHub and have the uploader delete the member's file on Open Humans.

    The deletion runs on the upload queue, under the member's upload lock, so that it never
    interleaves with an upload that would write the file again.
    """
    disconnect_github(member_id, redis_client=redis_client)
    with connection():
        transition(
            member_id,
            SyncState.DELETING,
            from_states=EVERY_STATE,
            sync_detail="Deleting your file from Open Humans.",
        )
    send_delete_file(member_id)
    log.info("member_data_deletion_requested", member_id=member_id)


def erase_member(project_member_id: str, *, redis_client: redis.Redis) -> bool:
    """Delete everything held about an Open Humans member (deauthorization); False if unknown.

    Every login of the member ends, so no browser stays logged in as them. A fetcher or
    uploader that later receives a message for this member finds no row and stops; a sync
    running now stops too (``forget_and_stop_sync``), and forgets what it wrote meanwhile.
    """
    with connection(), write_transaction():
        member = Member.get_or_none(Member.oh_member_id == project_member_id)
        if member is None:
            return False
        forget_login_sessions(redis_client, member_id=member.id, left_for_s=SESSION_MAX_AGE_S)
        StagedWeek.delete().where(StagedWeek.member == member).execute()
        member.delete_instance()
    forget_and_stop_sync(redis_client, member_id=member.id, github_id=member.github_id)
    log.info("member_erased", member_id=member.id)
    return True


def find_member(reference: str) -> Member | None:
    """The member an operator names: project id, Open Humans member id or username, or GitHub
    login (case-insensitive)."""
    with connection():
        if reference.isdigit() and len(reference) < 10:
            member = Member.get_or_none(Member.id == int(reference))
            if member is not None:
                return member
        return Member.get_or_none(
            (Member.oh_member_id == reference)
            | (Member.oh_username == reference)
            | (fn.LOWER(Member.github_login) == reference.lower())
        )


def list_members(state: SyncState | None = None) -> list[Member]:
    """Every member (in one state), oldest first."""
    with connection():
        query = Member.select().order_by(Member.id)
        if state is not None:
            query = query.where(Member.sync_state == state.value)
        return list(query)


def count_by_state() -> dict[str, int]:
    """Members per sync state, for the metrics endpoint."""
    with connection():
        query = Member.select(Member.sync_state, fn.COUNT(Member.id)).group_by(Member.sync_state)
        rows = cast("list[tuple[str, int]]", list(query.tuples()))
    return {str(state): int(count) for state, count in rows}


def file_download_url(
    member_id: int, *, settings: Settings, cipher: TokenCipher, redis_client: redis.Redis
) -> str | None:
    """A fresh download URL of the member's file on Open Humans; None if they have none.

    One exchange-member call (with one token refresh if Open Humans says the token expired);
    the file itself is never downloaded here.
    """
    with connection(), OpenHumansApi.from_settings(settings) as api:
        token = fresh_access_token(member_id, api=api, cipher=cipher, redis_client=redis_client)
        try:
            profile = api.exchange_member(token)
        except OpenHumansLoginNeeded:
            raise
        except OpenHumansAuthError:
            token = fresh_access_token(
                member_id, api=api, cipher=cipher, redis_client=redis_client, rejected_token=token
            )
            profile = api.exchange_member(token)
    ours = [f for f in profile["data"] if f.get("basename") == settings.openhumans_filename]
    if not ours:
        return None
    newest = max(ours, key=lambda record: (str(record.get("created") or ""), int(record["id"])))
    return str(newest["download_url"])
