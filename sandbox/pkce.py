"""PKCE (RFC 7636) as the providers check it: the token request's ``code_verifier`` must match
the ``code_challenge`` the authorize request carried."""

from __future__ import annotations

import base64
import hashlib
import hmac


def challenge_of(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verifier_matches(*, challenge: str, method: str, verifier: object) -> bool:
    """Whether ``verifier`` answers ``challenge`` (a code issued without one needs none)."""
    if not challenge:
        return True
    if not isinstance(verifier, str) or not verifier:
        return False
    return hmac.compare_digest(challenge_of(verifier, method), challenge)
