"""The member's file read and written a week at a time, so that memory holds a week, not a file.

Reading: ``FileReader`` decodes a file's top-level fields (everything before ``"weeks"`` in the
files this project writes, whose keys are sorted) and then its weeks one by one, checking each
against the JSON Schema as it goes; ``Unsorted`` says the file is not laid out that way (weeks out
of order, or fields after the weeks), and such a file is read whole instead.

Writing: ``DocumentWriter`` takes the merged weeks in order, writes each as soon as it is merged
and keeps only what the top of the file needs (coverage, the latest ``fetched_at``, the counts);
the result is the same bytes as ``shared.fileformat.serialise`` of the whole document.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from typing import IO, Any

import fastjsonschema

from shared.errors import InvalidFile
from shared.fileformat import SCHEMA_PATH, SCHEMA_VERSION, validate
from shared.history import HistoryBuilder

# Bytes read from a file at a time.
CHUNK_BYTES = 1 << 20
# No single value (a week) of a file may be larger than this many characters: a file that is
# broken in the middle is then refused before the reader holds all of it.
MAX_VALUE_CHARS = 64 << 20
# Files up to this size stay in memory while written; larger ones go to disk.
SPOOL_BYTES = 8 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SEPARATORS = (",", ":")


class Unsorted(Exception):
    """The file is valid JSON but not laid out as this project writes it: read it whole."""


def dumps(value: Any) -> str:
    """A value as ``shared.fileformat.serialise`` writes it inside the document."""
    return json.dumps(value, sort_keys=True, separators=_SEPARATORS, ensure_ascii=False)


@cache
def _week_validators() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    schema = json.loads(SCHEMA_PATH.read_text())
    definitions = schema["definitions"]
    return (
        fastjsonschema.compile({"definitions": definitions, "$ref": "#/definitions/isoWeek"}),
        fastjsonschema.compile({"definitions": definitions, "$ref": "#/definitions/week"}),
    )


def validate_week(key: Any, week: Any) -> None:
    """Raise ``InvalidFile`` unless ``key: week`` may stand in the file's ``weeks``."""
    key_validator, week_validator = _week_validators()
    try:
        key_validator(key)
        week_validator(week)
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidFile(f"week {str(key)[:20]}: {error.message[:300]}") from error


class _Text:
    """UTF-8 text decoded from a binary file a chunk at a time, consumed from the front."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._decoder = json.JSONDecoder()
        self.text = ""
        self.at = 0
        self.ended = False

    def more(self) -> bool:
        """Append the next chunk (dropping what was consumed); False at the end of the file."""
        if self.ended:
            return False
        if len(self.text) - self.at > MAX_VALUE_CHARS:
            raise InvalidFile(f"a value of more than {MAX_VALUE_CHARS} characters")
        data = self._source.read(CHUNK_BYTES)
        try:
            decoded = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise InvalidFile(f"not UTF-8: {error}") from error
        self.ended = not data
        self.text = self.text[self.at :] + decoded
        self.at = 0
        return True

    def peek(self) -> str:
        """The next character after whitespace, or "" at the end."""
        while True:
            match = _WHITESPACE.match(self.text, self.at)
            self.at = match.end() if match else self.at
            if self.at < len(self.text):
                return self.text[self.at]
            if not self.more():
                return ""

    def punctuation(self, allowed: str) -> str:
        char = self.peek()
        if not char or char not in allowed:
            raise InvalidFile(f"not JSON: expected one of {allowed!r} at {char[:1]!r}")
        self.at += 1
        return char

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.text, self.at)
            except json.JSONDecodeError as error:
                if self.more():
                    continue  # the value goes on in the next chunk
                raise InvalidFile(f"not JSON: {error}") from error
            if end == len(self.text) and isinstance(value, int | float) and self.more():
                continue  # a number may go on in the next chunk
            self.at = end
            return value


class FileReader:
    """One file of the member: its top-level fields, then its weeks in order.

    ``top`` holds every field before ``"weeks"`` once ``read_top`` returned; ``weeks`` yields
    ``(key, week)`` and, at its end, checks the top-level fields against the schema. Raises
    ``InvalidFile`` (not JSON, or not schema 1) or ``Unsorted`` (read it whole instead).
    """

    def __init__(self, source: IO[bytes]) -> None:
        source.seek(0)
        self._text = _Text(source)
        self.top: dict[str, Any] = {}
        self._weeks_started = False

    def read_top(self) -> dict[str, Any]:
        text = self._text
        text.punctuation("{")
        if text.peek() == "}":
            text.at += 1
            self._end()
            return self.top
        while True:
            key = text.value()
            if not isinstance(key, str):
                raise InvalidFile("not JSON: a key that is not a string")
            text.punctuation(":")
            if key == "weeks":
                self._weeks_started = True
                return self.top
            if key in self.top:
                raise Unsorted(f"{key!r} twice")
            self.top[key] = text.value()
            if text.punctuation(",}") == "}":
                self._end()
                return self.top

    def weeks(self) -> Iterator[tuple[str, Any]]:
        if not self._weeks_started:
            return
        text = self._text
        text.punctuation("{")
        previous = ""
        if text.peek() == "}":
            text.at += 1
        else:
            while True:
                key = text.value()
                text.punctuation(":")
                week = text.value()
                validate_week(key, week)
                if key <= previous:
                    raise Unsorted(f"week {key} after {previous}")
                previous = key
                yield key, week
                if text.punctuation(",}") == "}":
                    break
        if text.punctuation(",}") == ",":
            raise Unsorted("fields after the weeks")
        self._end()

    def _end(self) -> None:
        if self._text.peek():
            raise InvalidFile("not JSON: data after the document")
        validate({**self.top, "weeks": {}})


class DocumentWriter:
    """Writes merged weeks in order as they come, then the whole file with its top fields.

    ``finish`` returns the file (a temporary file, at its start) and what the top of the file
    and the dashboard need; ``sha256`` and ``size`` are the file's.
    """

    def __init__(self) -> None:
        self._body: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_BYTES)  # noqa: SIM115
        self._previous = ""
        self._latest_fetch = ""
        # The first and last week fetched by this project, and the last that was complete.
        self._first: str | None = None
        self._last: str | None = None
        self._last_complete: str | None = None
        self.summary = {"weeks": 0, "commits": 0, "pull_requests": 0, "issues": 0, "reviews": 0}
        self.history = HistoryBuilder()  # the dashboard's digest, built as the weeks go by
        self.sha256 = ""
        self.size = 0

    def add(self, key: str, week: dict[str, Any]) -> None:
        if key <= self._previous:
            raise ValueError(f"weeks out of order: {key} after {self._previous}")
        separator = "," if self._previous else ""
        self._body.write(f"{separator}{dumps(key)}:{dumps(week)}".encode())
        self._previous = key
        self.history.add(key, week)
        self._latest_fetch = max(self._latest_fetch, week["fetched_at"])
        self.summary["weeks"] += 1
        for kind in ("commits", "pull_requests", "issues", "reviews"):
            self.summary[kind] += len(week[kind])
        if "source" not in week:  # imported weeks are left out of coverage
            self._first = self._first or key
            self._last = key
            if week["complete"]:
                self._last_complete = key

    def top(self, *, github: dict[str, Any], imported: set[str]) -> dict[str, Any]:
        """The document without its weeks (``shared.fileformat.build_document``'s fields)."""
        top: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "generated_at": self._latest_fetch or "1970-01-01T00:00:00Z",
            "github": {"id": int(github["id"]), "login": str(github["login"])},
            "coverage": {
                "first_week": self._first,
                "last_week": self._last,
                "last_complete_week": self._last_complete,
            },
        }
        if imported:
            top["imported"] = sorted(imported)
        return top

    def finish(self, top: dict[str, Any]) -> IO[bytes]:
        """The whole file: ``top`` with ``"weeks"`` (its last key) holding the weeks written."""
        opening = dumps({**top, "weeks": {}})
        assert opening.endswith('"weeks":{}}')
        document: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_BYTES)  # noqa: SIM115
        digest = hashlib.sha256()
        head = opening[:-2].encode()  # up to the weeks' opening brace
        document.write(head)
        digest.update(head)
        self._body.seek(0)
        while chunk := self._body.read(CHUNK_BYTES):
            document.write(chunk)
            digest.update(chunk)
        document.write(b"}}")
        digest.update(b"}}")
        self._body.close()
        self.size = document.tell()
        self.sha256 = digest.hexdigest()
        document.seek(0)
        return document

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> DocumentWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sha256_of(source: IO[bytes]) -> str:
    """The digest of a file's bytes, read a chunk at a time (the file is left at its start)."""
    source.seek(0)
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK_BYTES):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()
