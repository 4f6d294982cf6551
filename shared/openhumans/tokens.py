"""The member's Open Humans tokens: stored encrypted, refreshed once under a per-member lock.

Open Humans rotates the refresh token on every refresh and the old one stops working, so two
services refreshing at once would lock the member out. The refresh therefore happens under a
Redis lock, after re-reading the stored tokens: whoever comes second finds them fresh already.
After a 401 "Expired token." the caller names the token that was refused (``rejected_token``), so
that of several processes refused at once only the first refreshes and the others take its result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import redis

from shared import keys
from shared.crypto import TokenCipher
from shared.db import Member, db, transition, utcnow
from shared.errors import OpenHumansAuthError, OpenHumansLoginNeeded
from shared.logging import get_logger
from shared.openhumans.client import OpenHumansApi
from shared.syncstate import SyncState

# Refresh when the access token expires within this margin.
REFRESH_MARGIN = dt.timedelta(seconds=60)
# A refresh takes one HTTP call; the lock expires on its own if a process dies holding it.
REFRESH_LOCK_TTL_S = 60

log = get_logger(__name__)


def store_tokens(member: Member, token: dict[str, Any], cipher: TokenCipher) -> None:
    """Set the encrypted access and refresh tokens and the expiry from a token response."""
    member.oh_access_token = cipher.encrypt(token["access_token"])
    member.oh_refresh_token = cipher.encrypt(token["refresh_token"])
    expires_in = int(token.get("expires_in") or 36000)
    member.oh_token_expires_at = utcnow() + dt.timedelta(seconds=expires_in)


def fresh_access_token(
    member_id: int,
    *,
    api: OpenHumansApi,
    cipher: TokenCipher,
    redis_client: redis.Redis,
    force: bool = False,
    rejected_token: str | None = None,
) -> str:
    """A usable access token for the member, refreshing it first if it is about to expire.

    ``force`` refreshes even if the stored expiry looks fine. ``rejected_token`` (the access
    token Open Humans just refused with 401 "Expired token.") implies ``force`` but refreshes
    only while that token is still the stored one: a concurrent refresh's result is reused.
    A refused refresh marks the member NEEDS_LOGIN and raises ``OpenHumansLoginNeeded``.
    """
    force = force or rejected_token is not None
    member = Member.get_by_id(member_id)
    if not force and _usable(member):
        return cipher.decrypt(member.oh_access_token)
    stale_token = member.oh_access_token
    with redis_client.lock(
        keys.openhumans_token_lock(member_id),
        timeout=REFRESH_LOCK_TTL_S,
        blocking_timeout=REFRESH_LOCK_TTL_S,
    ):
        member = Member.get_by_id(member_id)  # another process may have refreshed meanwhile
        if _usable(member):
            current = cipher.decrypt(member.oh_access_token)
            if not force:
                return current
            if rejected_token is not None and current != rejected_token:
                return current
            if rejected_token is None and member.oh_access_token != stale_token:
                return current
        if not member.oh_refresh_token:
            raise OpenHumansLoginNeeded("no Open Humans refresh token stored")
        try:
            token = api.refresh(cipher.decrypt(member.oh_refresh_token))
        except OpenHumansAuthError as error:
            transition(
                member_id,
                SyncState.NEEDS_LOGIN,
                sync_detail="Open Humans no longer accepts our access: please log in again.",
            )
            log.warning("openhumans_refresh_refused", member_id=member_id)
            raise OpenHumansLoginNeeded(str(error)) from error
        with db.atomic():  # the rotated refresh token is saved with the access token, or neither
            store_tokens(member, token, cipher)
            member.save()
        log.info("openhumans_token_refreshed", member_id=member_id)
        return str(token["access_token"])


def _usable(member: Member) -> bool:
    expires_at = member.oh_token_expires_at
    return (
        bool(member.oh_access_token)
        and expires_at is not None
        and (expires_at - utcnow() > REFRESH_MARGIN)
    )
