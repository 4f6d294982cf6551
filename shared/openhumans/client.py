"""A small Open Humans client: token refresh, exchange-member, upload, delete, message.

Uploads go in three steps (request a URL, PUT the bytes with no Content-Type, complete); bodies
are streamed from and to files so that a member's tens of megabytes are never held twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import IO, Any

import httpx

from shared.errors import (
    DownloadUrlExpired,
    MalformedResponse,
    OpenHumansAuthError,
    OpenHumansMisconfigured,
    UpstreamUnavailable,
)
from shared.settings import Settings

# Open Humans refuses some bot user agents: send a plain one.
USER_AGENT = "oh-github-source/0.1"
# Attempts for one call on 5xx and timeouts.
MAX_ATTEMPTS = 3
FIRST_BACKOFF_S = 0.5
# Chunk size for streaming downloads into a file.
CHUNK_BYTES = 1 << 20


class OpenHumansApi:
    """The project's calls to Open Humans.

    ``http``: the process's shared HTTP client (``shared.http``); without one the API makes its
    own, closed with it. Tokens go with each request, never into ``http``.
    """

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str = "",
        client_secret: str = "",
        timeout_s: float = 30,
        http: httpx.Client | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout_s = timeout_s
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout_s)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http: httpx.Client | None = None
    ) -> OpenHumansApi:
        return cls(
            base_url=settings.openhumans_url,
            client_id=settings.openhumans_client_id,
            client_secret=settings.openhumans_client_secret,
            timeout_s=settings.http_timeout_s,
            http=http,
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"User-Agent": USER_AGENT, **(extra or {})}

    def __enter__(self) -> OpenHumansApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        if not url.startswith("http"):
            url = self._base_url + url
        last_error: Exception | None = None
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                time.sleep(FIRST_BACKOFF_S * 2 ** (attempt - 1))
            try:
                response = self._http.request(
                    method,
                    url,
                    headers=self._headers(headers),
                    timeout=self._timeout_s,
                    **kwargs,
                )
            except httpx.TransportError as error:
                last_error = error
                continue
            if response.status_code >= 500:
                last_error = UpstreamUnavailable(f"Open Humans {response.status_code} on {url}")
                continue
            return response
        raise UpstreamUnavailable(f"Open Humans unavailable: {last_error}")

    def _api(self, method: str, path: str, access_token: str, **kwargs: Any) -> Any:
        response = self._request(
            method, path, headers={"Authorization": f"Bearer {access_token}"}, **kwargs
        )
        if response.status_code in (401, 403):
            raise OpenHumansAuthError(f"Open Humans refused the token: {response.text[:200]}")
        if response.status_code >= 400:
            raise MalformedResponse(f"Open Humans {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError as error:
            raise MalformedResponse(f"Open Humans sent no JSON for {path}") from error

    # ---- OAuth -----------------------------------------------------------------------------

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new token set; every refresh rotates the refresh token, which must be saved."""
        response = self._request(
            "POST",
            "/oauth2/token/",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(self._client_id, self._client_secret),
        )
        if response.status_code in (400, 401):
            if _oauth_error(response) == "invalid_client":
                # Our own client id or secret is wrong: no member can fix that by logging in.
                raise OpenHumansMisconfigured("Open Humans refused the project's credentials")
            raise OpenHumansAuthError(f"refresh refused: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as error:
            raise MalformedResponse("token response is not JSON") from error
        if not isinstance(body, dict) or "access_token" not in body or "refresh_token" not in body:
            raise MalformedResponse("token response without tokens")
        result: dict[str, Any] = body
        return result

    # ---- member and files ------------------------------------------------------------------

    def exchange_member(self, access_token: str) -> dict[str, Any]:
        """The member and every file the project can see, following ``next`` pages."""
        member: dict[str, Any] = self._api(
            "GET", "/api/direct-sharing/project/exchange-member/", access_token
        )
        files = list(member.get("data") or [])
        next_url = member.get("next")
        while next_url:
            page = self._api("GET", next_url, access_token)
            files.extend(page.get("data") or [])
            next_url = page.get("next")
        member["data"] = files
        return member

    def download_to(self, url: str, sink: IO[bytes]) -> int:
        """Stream a file's bytes (following the redirect to storage) into ``sink``; returns size."""
        size = 0
        sink.seek(0)
        sink.truncate()  # a retry must not append to the bytes of a failed attempt
        try:
            with self._http.stream(
                "GET", url, headers=self._headers(), timeout=self._timeout_s, follow_redirects=True
            ) as response:
                if response.status_code in (401, 403):
                    raise DownloadUrlExpired(f"download URL refused ({response.status_code})")
                if response.status_code >= 400:
                    raise UpstreamUnavailable(f"download failed ({response.status_code})")
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    sink.write(chunk)
                    size += len(chunk)
        except httpx.TransportError as error:
            raise UpstreamUnavailable(f"download interrupted: {error}") from error
        sink.seek(0)
        return size

    def upload(
        self,
        access_token: str,
        *,
        project_member_id: str,
        filename: str,
        metadata: dict[str, Any],
        content: IO[bytes],
        size: int,
    ) -> int:
        """Direct upload in three steps; returns the new file's id once ``complete`` succeeded."""
        created = self._api(
            "POST",
            "/api/direct-sharing/project/files/upload/direct/",
            access_token,
            data={
                "project_member_id": project_member_id,
                "filename": filename,
                "metadata": json.dumps(metadata, sort_keys=True),
            },
        )
        try:
            file_id, put_url = int(created["id"]), str(created["url"])
        except (KeyError, TypeError, ValueError) as error:
            raise MalformedResponse(f"upload/direct answered {created!r}") from error
        # No Content-Type header: it is part of the storage URL's signature and breaks it.
        put = self._http.put(
            put_url,
            content=_chunks(content),
            headers=self._headers({"Content-Length": str(size)}),
            timeout=self._timeout_s,
        )
        if put.status_code >= 300:
            raise UpstreamUnavailable(f"storage PUT failed ({put.status_code}): {put.text[:200]}")
        self._api(
            "POST",
            "/api/direct-sharing/project/files/upload/complete/",
            access_token,
            data={"project_member_id": project_member_id, "file_id": file_id},
        )
        return file_id

    def delete_file(self, access_token: str, *, project_member_id: str, file_id: int) -> None:
        self._api(
            "POST",
            "/api/direct-sharing/project/files/delete/",
            access_token,
            data={"project_member_id": project_member_id, "file_id": file_id},
        )

    def message(self, access_token: str, *, subject: str, message: str) -> None:
        self._api(
            "POST",
            "/api/direct-sharing/project/message/",
            access_token,
            data={"subject": subject, "message": message},
        )


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _chunks(content: IO[bytes]) -> Iterator[bytes]:
    content.seek(0)
    while chunk := content.read(CHUNK_BYTES):
        yield chunk
