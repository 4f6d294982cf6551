"""The member's files of ours, downloaded: read a week at a time while merged, or whole.

A file that does not parse, or not as schema 1, is logged and left out of the merge: it is
never deleted (the new file is written beside it).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from shared.errors import InvalidFile
from shared.fileformat import parse
from shared.logging import get_logger
from uploader.session import MemberSession
from uploader.stream import FileReader, Unsorted, sha256_of

# Files up to this size stay in memory while downloaded; larger ones spill to disk.
SPOOL_BYTES = 8 << 20

log = get_logger(__name__)


@dataclass
class ExistingFile:
    """One of the member's files, downloaded to a temporary file."""

    record: dict[str, Any]
    sink: IO[bytes]
    sha256: str
    top: dict[str, Any] = field(default_factory=dict)  # its fields but the weeks
    whole: dict[str, Any] | None = None  # all of it, for a file read in one piece


def download(
    session: MemberSession, record: dict[str, Any], member_id: int, temporary: contextlib.ExitStack
) -> ExistingFile | None:
    """The file on disk with its fields before the weeks read, or None (logged) if they do not
    parse: such a file is kept, untouched. Its weeks are read (and checked) while merging."""
    sink = temporary.enter_context(tempfile.SpooledTemporaryFile(SPOOL_BYTES))  # noqa: SIM115
    session.download(record, sink)
    file = ExistingFile(record=record, sink=sink, sha256=sha256_of(sink))
    try:
        file.top = FileReader(sink).read_top()
    except Unsorted:
        return file if read_whole(file, member_id) else None
    except InvalidFile as error:
        log_invalid(file, member_id, error)
        return None
    return file


def read_whole(file: ExistingFile, member_id: int) -> bool:
    """Read a file not laid out as this project writes it in one piece; False if invalid."""
    file.sink.seek(0)
    try:
        file.whole = parse(file.sink)
    except InvalidFile as error:
        log_invalid(file, member_id, error)
        return False
    file.top = {key: value for key, value in file.whole.items() if key != "weeks"}
    return True


def log_invalid(file: ExistingFile, member_id: int, error: InvalidFile) -> None:
    log.error(
        "existing_file_invalid",
        member_id=member_id,
        file_id=file.record.get("id"),
        error=str(error),
    )


class BrokenFile(Exception):
    """A file turned out invalid, or not laid out as this project writes it, while merged."""

    def __init__(self, file: ExistingFile, error: InvalidFile | Unsorted) -> None:
        super().__init__(str(error))
        self.file = file
        self.error = error


def file_weeks(file: ExistingFile) -> Iterator[tuple[str, dict[str, Any]]]:
    if file.whole is not None:
        yield from sorted(file.whole["weeks"].items())
        return
    reader = FileReader(file.sink)
    try:
        reader.read_top()
        yield from reader.weeks()
    except (InvalidFile, Unsorted) as error:
        raise BrokenFile(file, error) from error
