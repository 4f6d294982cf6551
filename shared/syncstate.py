"""The states of a member's sync, and which state may follow which.

One enum for every service, and one table saying from which states each automatic step may move
a member: a finishing upload must never turn "needs login" back into "done", a sync message
arriving after "Delete my data" must not mark the member "syncing". Member actions (logging in,
connecting or disconnecting GitHub, deleting data) may move a member from any state.
``shared.db.transition`` applies the table as a conditional UPDATE, so two services racing on
one member can never write a state the table forbids.
"""

from __future__ import annotations

from enum import StrEnum


class SyncState(StrEnum):
    """What the dashboard shows about a member's sync (stored as its string value)."""

    NEW = "new"  # GitHub not connected yet
    IDLE = "idle"  # connected, nothing running
    QUEUED = "queued"
    SYNCING = "syncing"
    WAITING = "waiting"  # for GitHub's rate limit to reset (see waiting_until)
    UPLOADING = "uploading"
    DONE = "done"
    NEEDS_RECONNECT = "needs_reconnect"  # GitHub token revoked
    NEEDS_LOGIN = "needs_login"  # Open Humans refresh token no longer valid
    DELETING = "deleting"  # the member asked to delete their file on Open Humans
    ERROR = "error"


# Member actions may move a member from any state.
EVERY_STATE = frozenset(SyncState)
# A sync is under way (queued, running, waiting for a reset, or its upload pending).
ACTIVE = frozenset({SyncState.QUEUED, SyncState.SYNCING, SyncState.WAITING, SyncState.UPLOADING})
# Only the member can get out of these (reconnect GitHub, log in again).
NEEDS_ACTION = frozenset({SyncState.NEEDS_RECONNECT, SyncState.NEEDS_LOGIN})
# Connected and at rest: a refresh may start.
AT_REST = frozenset({SyncState.IDLE, SyncState.DONE, SyncState.ERROR})

# For each state an automatic step (fetcher, uploader, scheduler, token refresh) moves a member
# to: the states it may move the member from. Anything else is left as it is.
AUTOMATIC_FROM: dict[SyncState, frozenset[SyncState]] = {
    # "Sync now" and the scheduler: from rest, or a busy state presumed stuck.
    SyncState.QUEUED: AT_REST | ACTIVE,
    # A sync message starts (or resumes, or retries after an error).
    SyncState.SYNCING: AT_REST | ACTIVE,
    SyncState.WAITING: frozenset({SyncState.SYNCING}),
    SyncState.UPLOADING: frozenset({SyncState.SYNCING}),
    SyncState.ERROR: frozenset({SyncState.SYNCING, SyncState.UPLOADING}),
    SyncState.NEEDS_RECONNECT: frozenset({SyncState.SYNCING}),
    SyncState.DONE: frozenset({SyncState.UPLOADING}),
    # A refused Open Humans refresh, whatever the sync was doing; not over a member who is
    # deleting their data or never connected.
    SyncState.NEEDS_LOGIN: AT_REST | ACTIVE | frozenset({SyncState.NEEDS_RECONNECT}),
    # The deletion the member asked for is done.
    SyncState.NEW: frozenset({SyncState.DELETING}),
}
