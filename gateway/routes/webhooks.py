"""Open Humans' deauthorization webhook: a member left the project, so erase what we hold.

Only a delivery that proves itself is acted on: signed with the webhook secret (without a secret
configured nothing is erased: an unsigned webhook could erase any member), dated within
WEBHOOK_MAX_AGE of now, and not seen before (a captured delivery replayed later, after the member
joined again, must not erase them again). Everything else is logged and ignored. The answer is
always 2xx: Open Humans re-sends a webhook that got another status once, unsigned and with its
body JSON-encoded twice, which could not be trusted anyway.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
from typing import Any

import redis
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway import members
from gateway.context import gateway_of
from shared import keys
from shared.logging import get_logger

log = get_logger(__name__)

SIGNATURE_HEADER = "X-OpenHumans-Webhooks-Signature"
# Open Humans' project member ids are short strings of digits; anything else is not one.
PROJECT_MEMBER_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha1=<hex HMAC-SHA1(secret, body)>`` (constant-time compare).

    Compared as bytes: a header with characters outside ASCII simply does not match.
    """
    if not header or not header.startswith("sha1="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest().encode()
    offered = header.removeprefix("sha1=").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, offered)


def parse_payload(body: bytes) -> dict[str, Any] | None:
    """The webhook's JSON object, decoding a double-encoded body too; None if neither."""
    try:
        payload: Any = json.loads(body)
        if isinstance(payload, str):  # Open Humans' re-send: a JSON string holding the JSON
            payload = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def delivered_at(payload: dict[str, Any]) -> dt.datetime | None:
    """The delivery's ``timestamp`` (ISO 8601 as Open Humans writes it, or epoch seconds)."""
    value = payload.get("timestamp")
    try:
        if isinstance(value, str):
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return dt.datetime.fromtimestamp(value, dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def within_window(sent_at: dt.datetime | None, *, max_age_s: float) -> bool:
    """Whether a delivery dated ``sent_at`` is recent enough (either side of now) to act on."""
    if sent_at is None:
        return False
    try:
        age_s = (dt.datetime.now(dt.UTC) - sent_at).total_seconds()
    except OverflowError:
        return False
    return abs(age_s) <= max_age_s


def _ignored(reason: str) -> Response:
    log.warning("webhook_ignored", reason=reason)
    return JSONResponse({"status": "ignored", "reason": reason})


def _delivery_key(body: bytes) -> str:
    return keys.webhook_delivery(hashlib.sha256(body).hexdigest())


def _first_delivery(client: redis.Redis, body: bytes, *, max_age_s: float) -> bool:
    """Record this delivery; False if it was recorded before (a replay). Kept as long as a
    delivery can pass the age check, twice over for clock skew."""
    return bool(client.set(_delivery_key(body), "1", nx=True, ex=max(1, int(2 * max_age_s))))


def _erase(client: redis.Redis, body: bytes, project_member_id: str) -> bool:
    try:
        return members.erase_member(project_member_id, redis_client=client)
    except Exception:
        client.delete(_delivery_key(body))  # not done: the same delivery may be tried again
        raise


async def deauthorize(request: Request) -> Response:
    gateway = gateway_of(request)
    settings = gateway.settings
    body = await request.body()
    if not settings.openhumans_webhook_secret:
        return _ignored("no webhook secret configured")
    if not signature_valid(
        secret=settings.openhumans_webhook_secret,
        body=body,
        header=request.headers.get(SIGNATURE_HEADER),
    ):
        return _ignored("bad signature")
    payload = parse_payload(body)
    if payload is None:
        return _ignored("not a JSON object")
    if not within_window(delivered_at(payload), max_age_s=settings.webhook_max_age_s):
        return _ignored("timestamp missing or outside the allowed window")
    project_member_id = payload.get("project_member_id")
    if isinstance(project_member_id, int) and not isinstance(project_member_id, bool):
        project_member_id = str(project_member_id)
    if not isinstance(project_member_id, str) or not PROJECT_MEMBER_ID.match(project_member_id):
        return _ignored("no valid project_member_id")
    first = await run_in_threadpool(
        _first_delivery, gateway.redis, body, max_age_s=settings.webhook_max_age_s
    )
    if not first:
        return _ignored("delivery seen before")
    erased = await run_in_threadpool(_erase, gateway.redis, body, project_member_id)
    log.info(
        "member_deauthorized",
        erased=erased,
        erasure_requested=payload.get("erasure_requested") is True,
    )
    return JSONResponse({"status": "erased" if erased else "unknown member"})


ROUTES = [Route("/webhooks/openhumans/deauthorize", deauthorize, methods=["POST"])]
