"""Injected faults: what kind, for whom, on which paths, how many times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Faults that alter the next matching request(s); the others change state at once. "refuse" is
# GitHub's 451 for a repository taken down (DMCA) or blocked: it never goes away by retrying.
REQUEST_FAULTS = ("5xx", "timeout", "malformed", "refuse")
STATE_FAULTS = ("revoke", "expire_oh_token", "expire_download_urls")
UPLOAD_STEPS = ("direct", "put", "complete", "delete")
KINDS = (*REQUEST_FAULTS, *STATE_FAULTS, "fail_upload_step")


@dataclass
class Fault:
    id: int
    kind: str
    login: str | None = None
    path_contains: str | None = None
    count: int | None = 1  # how many requests it still hits; None: until cleared
    step: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "login": self.login,
            "path_contains": self.path_contains,
            "count": self.count,
            "step": self.step,
        }


class FaultBook:
    """The armed request faults; ``take`` consumes one use of the first that matches."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(
        self,
        *,
        kind: str,
        login: str | None = None,
        path_contains: str | None = None,
        count: int | None = 1,
        step: str | None = None,
    ) -> Fault:
        fault = Fault(self._next_id, kind, login, path_contains, count, step)
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def all(self) -> list[Fault]:
        return list(self._faults)

    def take(
        self,
        kinds: tuple[str, ...],
        *,
        path: str,
        login: str | None,
        step: str | None = None,
    ) -> Fault | None:
        for fault in self._faults:
            if fault.kind not in kinds:
                continue
            if fault.login is not None and (login is None or fault.login.lower() != login.lower()):
                continue
            if fault.path_contains is not None and fault.path_contains not in path:
                continue
            if fault.step is not None and fault.step != step:
                continue
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
            return fault
        return None
