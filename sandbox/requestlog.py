"""The log of GitHub API requests the sandbox served, for tests and benchmarks to count."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class LoggedRequest:
    id: int
    at: str  # sandbox time, ISO 8601
    login: str | None
    method: str
    path: str  # with the query string
    status: int
    resource: str | None
    cost: int  # points charged (0 when not counted)
    counted: bool  # charged against the primary limit
    remaining_after: int | None
    violation: bool  # arrived while the user's budget for that resource was already 0
    secondary_limited: bool = False
    # What was asked, for POST (a GraphQL query and its variables): equal digests, same query.
    body_digest: str | None = None


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []

    def add(self, **fields: Any) -> LoggedRequest:
        entry = LoggedRequest(id=len(self._entries) + 1, **fields)
        self._entries.append(entry)
        return entry

    def entries(self, *, login: str | None = None, since_id: int = 0) -> list[dict[str, Any]]:
        return [
            asdict(e)
            for e in self._entries[since_id:]
            if login is None or (e.login or "").lower() == login.lower()
        ]

    def stats(self, *, login: str | None = None) -> dict[str, Any]:
        entries = [e for e in self._entries if login is None or (e.login or "") == login]
        by_resource: Counter[str] = Counter(e.resource or "none" for e in entries)
        counted_by_resource: Counter[str] = Counter(
            e.resource or "none" for e in entries if e.counted
        )
        by_status: Counter[str] = Counter(str(e.status) for e in entries)
        return {
            "requests": len(entries),
            "counted": sum(1 for e in entries if e.counted),
            "points": sum(e.cost for e in entries if e.counted),
            "by_resource": dict(by_resource),
            "counted_by_resource": dict(counted_by_resource),
            "by_status": dict(by_status),
            "not_modified": sum(1 for e in entries if e.status == 304),
            "violations": sum(1 for e in entries if e.violation),
            "secondary_limited": sum(1 for e in entries if e.secondary_limited),
        }
