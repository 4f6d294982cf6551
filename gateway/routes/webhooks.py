"""Open Humans' deauthorization webhook: a member left the project, so erase what we hold.

Open Humans re-sends a webhook once, unsigned and with its body JSON-encoded twice, when the
first delivery got a non-2xx answer; this endpoint therefore always answers 2xx and accepts
both body shapes. With a webhook secret configured, a missing or wrong signature is logged and
the request ignored (otherwise anyone could erase any member).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway import members
from gateway.context import gateway_of
from shared.logging import get_logger

log = get_logger(__name__)

SIGNATURE_HEADER = "X-OpenHumans-Webhooks-Signature"


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha1=<hex HMAC-SHA1(secret, body)>`` (constant-time compare)."""
    if not header or not header.startswith("sha1="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha1=").strip().lower())


def parse_payload(body: bytes) -> dict[str, Any] | None:
    """The webhook's JSON object, decoding a double-encoded body too; None if neither."""
    try:
        payload: Any = json.loads(body)
        if isinstance(payload, str):  # Open Humans' re-send: a JSON string holding the JSON
            payload = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


async def deauthorize(request: Request) -> Response:
    body = await request.body()
    secret = gateway_of(request).settings.openhumans_webhook_secret
    if secret and not signature_valid(
        secret=secret, body=body, header=request.headers.get(SIGNATURE_HEADER)
    ):
        log.warning("webhook_signature_invalid", signed=SIGNATURE_HEADER in request.headers)
        return JSONResponse({"status": "ignored", "reason": "bad signature"})
    payload = parse_payload(body)
    project_member_id = None if payload is None else payload.get("project_member_id")
    if not isinstance(project_member_id, str | int) or not str(project_member_id):
        log.warning("webhook_payload_invalid")
        return JSONResponse({"status": "ignored", "reason": "no project_member_id"})
    erased = await run_in_threadpool(
        members.erase_member, str(project_member_id), redis_client=gateway_of(request).redis
    )
    log.info(
        "member_deauthorized",
        erased=erased,
        erasure_requested=bool(payload and payload.get("erasure_requested")),
    )
    return JSONResponse({"status": "erased" if erased else "unknown member"})


ROUTES = [Route("/webhooks/openhumans/deauthorize", deauthorize, methods=["POST"])]
