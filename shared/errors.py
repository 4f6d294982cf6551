"""The project's own exceptions; each service maps them to behaviour in one place.

DataSourceError
 ├── UpstreamError                 a GitHub or Open Humans call did not give usable data
 │    ├── RateLimited(resets_at)   GitHub's budget is spent until ``resets_at``
 │    ├── TokenRevoked             GitHub answered 401: the member must reconnect
 │    ├── OpenHumansAuthError      Open Humans refused the token or the refresh token
 │    │    └── OpenHumansLoginNeeded   no usable refresh token: only the member can help
 │    ├── OpenHumansMisconfigured  the project's own credentials are wrong: an operator's job
 │    ├── UpstreamUnavailable      5xx, timeout, connection error: retry with backoff
 │    │    └── DownloadUrlExpired  a file's signed URL lapsed: ask for a fresh one
 │    ├── MalformedResponse        the body is not what the API documents: retry
 │    └── NotFound, Unavailable    (shared.github.client) a repository GitHub does not serve
 ├── InvalidFile                   the member's Open Humans file does not parse or validate
 └── LockLost                      a lock lapsed while held (the process stalled): stop
"""

from __future__ import annotations

import datetime as dt


class DataSourceError(Exception):
    """Base of every error this project raises on purpose."""


class UpstreamError(DataSourceError):
    pass


class RateLimited(UpstreamError):
    def __init__(self, resets_at: dt.datetime, *, resource: str, reason: str = "") -> None:
        super().__init__(f"GitHub {resource} limit reached until {resets_at.isoformat()} {reason}")
        self.resets_at = resets_at
        self.resource = resource
        self.reason = reason


class TokenRevoked(UpstreamError):
    pass


class OpenHumansAuthError(UpstreamError):
    pass


class OpenHumansLoginNeeded(OpenHumansAuthError):
    """No usable refresh token: only the member logging in again helps, so never retry."""


class OpenHumansMisconfigured(UpstreamError):
    """The project's client id or secret is wrong: an operator must fix it; members keep their
    state, and messages are retried (with back-off) until the configuration is right."""


class UpstreamUnavailable(UpstreamError):
    pass


class DownloadUrlExpired(UpstreamUnavailable):
    """A file's ``download_url`` (or the signed storage URL it redirects to) answered 401/403.

    Those URLs live one hour and carry their own signature, not our token: the cure is a fresh
    URL from exchange-member, never a token refresh, and the file is not invalid.
    """


class MalformedResponse(UpstreamError):
    pass


class InvalidFile(DataSourceError):
    pass


class LockLost(DataSourceError):
    """A lock this process worked under lapsed (it stalled longer than the lock's TTL): another
    process may have taken over, so this one stops without writing more."""
