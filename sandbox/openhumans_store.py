"""Open Humans' state in the sandbox: members, OAuth codes and tokens, files, messages."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from sandbox.data import stable_int

CODE_TTL_S = 30 * 60  # Open Humans authorization codes last 30 minutes
ACCESS_TOKEN_TTL_S = 36000  # expires_in of Open Humans access tokens
DOWNLOAD_URL_TTL_S = 3600  # download_url and the storage URL it redirects to
UPLOAD_URL_TTL_S = 6 * 3600  # presigned PUT URL


@dataclass
class OHMember:
    username: str
    project_member_id: str  # 8 digits derived from the username
    created: str


@dataclass
class AccessToken:
    username: str
    expires_at_s: float
    expired: bool = False  # forced by the expire_oh_token fault


@dataclass
class StoredFile:
    id: int
    username: str
    basename: str
    metadata: dict[str, Any]
    datatypes: list[str]
    created: str
    key: str  # storage key
    content: bytes | None = None  # set by the PUT
    complete: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class OHCode:
    """An authorization code: whose, for which redirect URI, until when, and its PKCE."""

    username: str
    redirect_uri: str
    expires_at_s: float
    code_challenge: str = ""
    code_challenge_method: str = "plain"


@dataclass
class OpenHumansStore:
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    members: dict[str, OHMember] = field(default_factory=dict)
    codes: dict[str, OHCode] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> username
    files: dict[int, StoredFile] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    url_generation: int = 0  # bumped by expire_download_urls: every signed GET URL dies
    next_file_id: int = 90_000_001

    def member(self, username: str, *, now: dt.datetime) -> OHMember:
        """The member ``username``, created on first use (any username may authorize)."""
        username = username.strip()
        found = self.members.get(username.lower())
        if found is None:
            found = OHMember(
                username=username,
                project_member_id=str(stable_int(f"oh-member:{username.lower()}", digits=8)),
                created=now.isoformat().replace("+00:00", "Z"),
            )
            self.members[username.lower()] = found
        return found

    def issue_tokens(self, username: str, *, now_s: float) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens[access] = AccessToken(username, now_s + ACCESS_TOKEN_TTL_S)
        self.refresh_tokens[refresh] = username
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ACCESS_TOKEN_TTL_S,
            "token_type": "Bearer",
            "scope": "read write",
        }

    def revoke_member(self, username: str) -> None:
        for token in [t for t, a in self.access_tokens.items() if a.username == username]:
            del self.access_tokens[token]
        for token in [t for t, u in self.refresh_tokens.items() if u == username]:
            del self.refresh_tokens[token]

    def sign(self, key: str, expires: int, purpose: str) -> str:
        message = f"{purpose}:{key}:{expires}:{self.url_generation}".encode()
        return hmac.new(self.signing_key, message, hashlib.sha256).hexdigest()

    def check(self, key: str, expires: str, sig: str, purpose: str, *, now_s: float) -> str | None:
        """None if the signed URL is valid now, else why it is not."""
        try:
            expires_s = int(expires)
        except ValueError:
            return "bad expiry"
        if not hmac.compare_digest(self.sign(key, expires_s, purpose), sig):
            return "signature"
        if now_s > expires_s:
            return "expired"
        return None

    def member_files(self, username: str) -> list[StoredFile]:
        return [
            f
            for f in self.files.values()
            if f.username.lower() == username.lower() and f.complete and not f.deleted
        ]
