"""www.openhumans.org's project API: exchange-member, three-step upload, delete, message.

Also the storage (an S3 look-alike) that download and upload URLs point to. Clients may send
the token as ``Authorization: Bearer`` or as an ``access_token`` query parameter (as ohapi does).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandbox.openhumans_store import (
    DOWNLOAD_URL_TTL_S,
    UPLOAD_URL_TTL_S,
    OHMember,
    StoredFile,
)
from sandbox.state import state_of

PAGE_SIZE = 100  # Open Humans' default page size for exchange-member


def _s3_error(code: str, message: str, status: int) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


async def _params(request: Request) -> dict[str, Any]:
    if "json" in request.headers.get("content-type", ""):
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    return dict(await request.form())


class _Auth:
    """The member a request acts for, or the 401 to answer."""

    def __init__(self, member: OHMember | None, error: Response | None) -> None:
        self.member = member
        self.error = error


def _authenticate(request: Request) -> _Auth:
    state = state_of(request)
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or request.query_params.get("access_token")
    found = state.oh.access_tokens.get(token or "")
    if found is None:
        return _Auth(None, JSONResponse({"detail": "Invalid token."}, status_code=401))
    if found.expired or found.expires_at_s < state.clock.now_s():
        return _Auth(None, JSONResponse({"detail": "Expired token."}, status_code=401))
    return _Auth(state.oh.member(found.username, now=state.clock.now()), None)


async def _request_fault(request: Request, username: str | None) -> Response | None:
    """5xx / timeout faults armed for Open Humans paths (``path_contains`` or ``login``)."""
    state = state_of(request)
    fault = state.faults.take(("5xx", "timeout"), path=request.url.path, login=username)
    if fault is None:
        return None
    if fault.kind == "timeout":
        await asyncio.sleep(state.config.timeout_fault_s)
    return JSONResponse({"detail": "Server error."}, status_code=502)


def _step_fault(request: Request, username: str, step: str) -> Response | None:
    state = state_of(request)
    fault = state.faults.take(
        ("fail_upload_step",), path=request.url.path, login=username, step=step
    )
    if fault is None:
        return None
    if step == "put":
        return _s3_error("InternalError", "We encountered an internal error.", 500)
    return JSONResponse({"detail": "A server error occurred."}, status_code=500)


def file_json(request: Request, stored: StoredFile, *, project_id: int) -> dict[str, Any]:
    state = state_of(request)
    expires = int(state.clock.now_s()) + DOWNLOAD_URL_TTL_S
    sig = state.oh.sign(str(stored.id), expires, "download")
    base = str(request.base_url).rstrip("/")
    return {
        "id": stored.id,
        "basename": stored.basename,
        "created": stored.created,
        "download_url": f"{base}/openhumans/data/{stored.id}/download?"
        + urlencode({"expires": expires, "sig": sig}),
        "metadata": stored.metadata,
        "source": f"direct-sharing-{project_id}",
        "source_project": project_id,
        "datatypes": stored.datatypes,
    }


async def exchange_member(request: Request) -> Response:
    auth = _authenticate(request)
    if auth.member is None:
        return auth.error  # type: ignore[return-value]
    if (fault := await _request_fault(request, auth.member.username)) is not None:
        return fault
    state = state_of(request)
    try:
        limit = max(1, int(request.query_params.get("limit", PAGE_SIZE)))
        offset = max(0, int(request.query_params.get("offset", 0)))
    except ValueError:
        return JSONResponse({"detail": "Invalid limit or offset."}, status_code=400)
    files = sorted(state.oh.member_files(auth.member.username), key=lambda f: f.id)
    page = files[offset : offset + limit]
    base = str(request.url).split("?", 1)[0]
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]

    def page_url(start: int) -> str:
        return f"{base}?{urlencode([*params, ('limit', limit), ('offset', start)])}"

    return JSONResponse(
        {
            "created": auth.member.created,
            "project_member_id": auth.member.project_member_id,
            "username": auth.member.username,
            "sources_shared": [],
            "message_permission": True,
            "count": len(files),
            "next": page_url(offset + limit) if offset + limit < len(files) else None,
            "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
            "data": [file_json(request, f, project_id=state.config.oh_project_id) for f in page],
        }
    )


def _wrong_member(auth: _Auth, params: dict[str, Any]) -> Response | None:
    assert auth.member is not None
    given = str(params.get("project_member_id", ""))
    if given != auth.member.project_member_id:
        return JSONResponse(
            {"project_member_id": ["project_member_id is invalid for this token."]},
            status_code=400,
        )
    return None


async def _file_step(
    request: Request, step: str, *, member_id_optional: bool = False
) -> tuple[_Auth, dict[str, Any]] | Response:
    """What every file endpoint checks first, in Open Humans' order: the token, injected
    request faults, the form's ``project_member_id``, then a fault injected on this ``step``."""
    auth = _authenticate(request)
    if auth.member is None:
        return auth.error  # type: ignore[return-value]
    if (fault := await _request_fault(request, auth.member.username)) is not None:
        return fault
    params = await _params(request)
    checked = not (member_id_optional and "project_member_id" not in params)
    if checked and (error := _wrong_member(auth, params)) is not None:
        return error
    if (fault := _step_fault(request, auth.member.username, step)) is not None:
        return fault
    return auth, params


async def upload_direct(request: Request) -> Response:
    checked = await _file_step(request, "direct")
    if isinstance(checked, Response):
        return checked
    auth, params = checked
    assert auth.member is not None
    filename = str(params.get("filename", "")).strip()
    if not filename or "/" in filename:
        return JSONResponse({"filename": ["A valid filename is required."]}, status_code=400)
    raw = params.get("metadata")
    try:
        metadata = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict):
        return JSONResponse({"metadata": ['"metadata" must be a JSON object.']}, status_code=400)
    if not isinstance(metadata.get("description"), str):
        return JSONResponse(
            {"metadata": ['"description" is a required field of "metadata"']}, status_code=400
        )
    if not isinstance(metadata.get("tags"), list):
        return JSONResponse(
            {"metadata": ['"tags" is a required field of "metadata" and must be a list']},
            status_code=400,
        )
    datatypes_raw = params.get("datatypes")
    try:
        datatypes = json.loads(datatypes_raw) if isinstance(datatypes_raw, str) else []
    except ValueError:
        datatypes = []
    state = state_of(request)
    stored = StoredFile(
        id=state.oh.next_file_id,
        username=auth.member.username,
        basename=filename,
        metadata=metadata,
        datatypes=datatypes if isinstance(datatypes, list) else [],
        created=state.clock.now().isoformat().replace("+00:00", "Z"),
        key=f"member-files/direct-sharing-{state.config.oh_project_id}/"
        f"{secrets.token_hex(8)}/{filename}",
    )
    state.oh.next_file_id += 1
    state.oh.files[stored.id] = stored
    expires = int(state.clock.now_s()) + UPLOAD_URL_TTL_S
    query = urlencode(
        {
            "X-Amz-Expires": UPLOAD_URL_TTL_S,
            "expires": expires,
            "X-Amz-Signature": state.oh.sign(stored.key, expires, "put"),
        }
    )
    base = str(request.base_url).rstrip("/")
    return JSONResponse({"id": stored.id, "url": f"{base}/storage/{stored.key}?{query}"}, 201)


async def upload_complete(request: Request) -> Response:
    checked = await _file_step(request, "complete", member_id_optional=True)
    if isinstance(checked, Response):
        return checked
    auth, params = checked
    assert auth.member is not None
    state = state_of(request)
    try:
        stored = state.oh.files.get(int(params.get("file_id", "")))
    except ValueError:
        stored = None
    if stored is None or stored.username != auth.member.username or stored.deleted:
        return JSONResponse({"file_id": ["Invalid file_id."]}, status_code=400)
    if stored.content is None:
        return JSONResponse({"detail": "The file has not been uploaded."}, status_code=400)
    stored.complete = True
    return JSONResponse({"status": "ok", "size": len(stored.content)})


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes", "on")


async def delete_files(request: Request) -> Response:
    checked = await _file_step(request, "delete")
    if isinstance(checked, Response):
        return checked
    auth, params = checked
    assert auth.member is not None
    chosen = [
        k
        for k in ("file_id", "file_basename", "all_files")
        if k in params and (k != "all_files" or _truthy(params[k]))
    ]
    if len(chosen) != 1:
        return JSONResponse(
            {
                "non_field_errors": [
                    "One (and only one) of file_id, file_basename or all_files must be specified."
                ]
            },
            status_code=400,
        )
    state = state_of(request)
    files = state.oh.member_files(auth.member.username)
    if chosen[0] == "file_id":
        files = [f for f in files if str(f.id) == str(params["file_id"])]
    elif chosen[0] == "file_basename":
        files = [f for f in files if f.basename == params["file_basename"]]
    for stored in files:
        stored.deleted = True
    return JSONResponse({"ids": [f.id for f in files]})


async def message(request: Request) -> Response:
    auth = _authenticate(request)
    if auth.member is None:
        return auth.error  # type: ignore[return-value]
    params = await _params(request)
    if not params.get("subject") or not params.get("message"):
        return JSONResponse({"detail": "subject and message are required."}, status_code=400)
    state = state_of(request)
    state.oh.messages.append(
        {
            "username": auth.member.username,
            "subject": params["subject"],
            "message": params["message"],
            "at": state.clock.now().isoformat().replace("+00:00", "Z"),
        }
    )
    return JSONResponse({})


async def download(request: Request) -> Response:
    """``download_url``: checks its signature, then redirects to a signed storage URL."""
    state = state_of(request)
    file_id = request.path_params["file_id"]
    problem = state.oh.check(
        str(file_id),
        request.query_params.get("expires", ""),
        request.query_params.get("sig", ""),
        "download",
        now_s=state.clock.now_s(),
    )
    stored = state.oh.files.get(file_id)
    if problem is not None:
        return JSONResponse({"detail": f"Download link invalid ({problem})."}, status_code=403)
    if stored is None or not stored.complete or stored.deleted:
        return JSONResponse({"detail": "Not found."}, status_code=404)
    expires = int(state.clock.now_s()) + DOWNLOAD_URL_TTL_S
    query = urlencode({"expires": expires, "sig": state.oh.sign(stored.key, expires, "get")})
    base = str(request.base_url).rstrip("/")
    return RedirectResponse(f"{base}/storage/{stored.key}?{query}", status_code=302)


async def storage(request: Request) -> Response:
    """The S3 look-alike: signed GET of a completed file, signed PUT of an upload."""
    state = state_of(request)
    key = request.path_params["key"]
    stored = next((f for f in state.oh.files.values() if f.key == key), None)
    now_s = state.clock.now_s()
    if request.method == "PUT":
        problem = state.oh.check(
            key,
            request.query_params.get("expires", ""),
            request.query_params.get("X-Amz-Signature", ""),
            "put",
            now_s=now_s,
        )
        if problem == "expired":
            return _s3_error("AccessDenied", "Request has expired", 403)
        if problem is not None or stored is None:
            return _s3_error("AccessDenied", "Access Denied", 403)
        if "content-type" in request.headers:
            # The presigned URL was signed without a Content-Type: sending one breaks it.
            return _s3_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
                403,
            )
        if (fault := _step_fault(request, stored.username, "put")) is not None:
            return fault
        stored.content = await request.body()
        etag = '"' + hashlib.md5(stored.content).hexdigest() + '"'  # noqa: S324 (S3's ETag)
        return Response(b"", status_code=200, headers={"etag": etag})
    problem = state.oh.check(
        key,
        request.query_params.get("expires", ""),
        request.query_params.get("sig", ""),
        "get",
        now_s=now_s,
    )
    if problem == "expired":
        return _s3_error("AccessDenied", "Request has expired", 403)
    if problem is not None:
        return _s3_error("AccessDenied", "Access Denied", 403)
    if stored is None or stored.content is None or stored.deleted:
        return _s3_error("NoSuchKey", "The specified key does not exist.", 404)
    return Response(
        stored.content,
        media_type="binary/octet-stream",
        headers={"etag": '"' + hashlib.md5(stored.content).hexdigest() + '"'},  # noqa: S324
    )
