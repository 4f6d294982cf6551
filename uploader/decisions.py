"""What the uploader decides, as pure functions of what Open Humans and the database said.

Kept apart from the I/O in ``uploader.publish`` so that each rule is tested without a sandbox:
which of the member's files are ours, whether there is anything to do, and which file stays and
which go once the new one is complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from uploader.legacy import import_key, is_legacy_record


def files_of(
    profile: dict[str, Any], *, filename: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The member's files named ``filename`` (ours) and the older integration's (legacy)."""
    data = profile["data"]
    ours = [record for record in data if record.get("basename") == filename]
    legacy = [record for record in data if is_legacy_record(record, own_filename=filename)]
    return ours, legacy


def imports_pending(legacy: Sequence[dict[str, Any]], ours: Sequence[dict[str, Any]]) -> bool:
    """Whether a ``github.json`` is not yet merged, judged from our file's upload metadata."""
    if not legacy:
        return False
    metadata = ours[0].get("metadata") if ours else None
    declared = metadata.get("imported") if isinstance(metadata, dict) else None
    done = set(declared) if isinstance(declared, list) else set()
    return any(import_key(record) not in done for record in legacy)


def nothing_to_publish(
    *, staged_weeks: int, ours: Sequence[dict[str, Any]], legacy: Sequence[dict[str, Any]]
) -> bool:
    """No staged week, at most one file of ours, and no import to do: leave the file as it is.

    Two files of ours (a crash between ``complete`` and the delete) are merged into one even
    with nothing staged.
    """
    return staged_weeks == 0 and len(ours) <= 1 and not imports_pending(legacy, ours)


@dataclass(frozen=True)
class Replacement:
    """What happens to the member's files once the merged file is written.

    ``keep``: an existing file whose bytes equal the new file's, kept instead of uploading the
    same bytes again (None: upload). ``replaced``: the files to delete once the kept or
    uploaded file is complete (never before: a crash in between leaves two files, which the
    next run merges, never none).
    """

    keep: int | None
    replaced: tuple[int, ...]

    def deleted_after(self, kept: int) -> list[int]:
        return [file_id for file_id in self.replaced if file_id != kept]


def replacement_of(existing: Sequence[tuple[int, str]], *, written_sha256: str) -> Replacement:
    """``existing``: the valid files of ours as (id, sha256), oldest first. A file that did not
    parse is not among them: it is never deleted."""
    same = [file_id for file_id, sha256 in existing if sha256 == written_sha256]
    return Replacement(
        keep=same[0] if same else None, replaced=tuple(file_id for file_id, _ in existing)
    )
