"""One member's Open Humans calls, with the token refreshed once when Open Humans refuses it."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, TypeVar

from shared.errors import DownloadUrlExpired, OpenHumansAuthError, UpstreamUnavailable
from shared.logging import get_logger
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import fresh_access_token
from shared.runtime import Runtime

log = get_logger(__name__)

T = TypeVar("T")


class MemberSession:
    """The Open Humans API as one member's project token sees it.

    A call refused with 401 "Expired token." is made once more with a refreshed token. Naming
    the refused token lets a concurrent refresh's result be reused, so the rotating refresh
    token is spent once however many processes were refused.
    """

    def __init__(self, member_id: int, runtime: Runtime, api: OpenHumansApi) -> None:
        self.member_id = member_id
        self._runtime = runtime
        self.api = api
        self.token = self._token()

    def _token(self, *, rejected: str | None = None) -> str:
        return fresh_access_token(
            self.member_id,
            api=self.api,
            cipher=self._runtime.cipher,
            redis_client=self._runtime.redis,
            rejected_token=rejected,
        )

    def _authorized(
        self, call: Callable[[str], T], *, before_retry: Callable[[], Any] | None = None
    ) -> T:
        try:
            return call(self.token)
        except OpenHumansAuthError:
            self.token = self._token(rejected=self.token)
            if before_retry is not None:
                before_retry()
            return call(self.token)

    def exchange_member(self) -> dict[str, Any]:
        return self._authorized(self.api.exchange_member)

    def upload(
        self,
        *,
        project_member_id: str,
        filename: str,
        metadata: dict[str, Any],
        content: IO[bytes],
        size: int,
    ) -> int:
        """The three-step upload; returns the new file's id once ``complete`` succeeded."""
        return self._authorized(
            lambda token: self.api.upload(
                token,
                project_member_id=project_member_id,
                filename=filename,
                metadata=metadata,
                content=content,
                size=size,
            ),
            before_retry=lambda: content.seek(0),  # the first try may have sent some of it
        )

    def delete_file(self, *, project_member_id: str, file_id: int) -> None:
        self._authorized(
            lambda token: self.api.delete_file(
                token, project_member_id=project_member_id, file_id=file_id
            )
        )

    def download(self, record: dict[str, Any], sink: IO[bytes]) -> None:
        """A file's bytes into ``sink``; an expired ``download_url`` is renewed once."""
        try:
            self.api.download_to(record["download_url"], sink)
        except DownloadUrlExpired:
            log.info("download_url_renewed", member_id=self.member_id, file_id=record.get("id"))
            fresh = [f for f in self.exchange_member()["data"] if f["id"] == record["id"]]
            if not fresh:  # deleted meanwhile: list again from the start on the next attempt
                raise UpstreamUnavailable(f"file {record.get('id')} vanished while read") from None
            sink.seek(0)
            sink.truncate()
            self.api.download_to(fresh[0]["download_url"], sink)
