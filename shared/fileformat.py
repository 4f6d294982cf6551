"""The file written to Open Humans: ``github-activity.json``, schema version 1.

Serialisation is deterministic (sorted keys, fixed separators, lists in a stable order, and a
``generated_at`` derived from the data rather than the clock), so the same data always gives the
same bytes and an unchanged file is never uploaded again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import IO, Any

import fastjsonschema

from shared.errors import InvalidFile
from shared.isoweek import IsoWeek

SCHEMA_VERSION = 1
# Package data, so that the built wheel (and the image) carry it.
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "github-activity.schema.json"
TAGS = ["github", "commits", "pull-requests", "issues", "reviews", "activity"]
DESCRIPTION = "GitHub activity history: commits, pull requests, issues, reviews and daily counts"


def coverage_of(weeks: dict[str, Any]) -> dict[str, str | None]:
    """First and last week fetched, and the last week that had ended when it was fetched.

    Weeks with a ``source`` were imported from another file (the older integration's
    ``github.json``), not fetched from GitHub by this project: they are left out, because the
    fetcher starts after ``last_complete_week`` and must still fetch those weeks itself.
    """
    ordered = sorted((w for w in weeks if "source" not in weeks[w]), key=IsoWeek.parse)
    complete = [w for w in ordered if weeks[w]["complete"]]
    return {
        "first_week": ordered[0] if ordered else None,
        "last_week": ordered[-1] if ordered else None,
        "last_complete_week": complete[-1] if complete else None,
    }


def build_document(
    *, github: dict[str, Any], weeks: dict[str, Any], imported: Iterable[str] = ()
) -> dict[str, Any]:
    """The file's content; ``imported`` names the other files already merged into it."""
    fetched = [week["fetched_at"] for week in weeks.values()]
    document: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "generated_at": max(fetched) if fetched else "1970-01-01T00:00:00Z",
        "github": {"id": int(github["id"]), "login": str(github["login"])},
        "coverage": coverage_of(weeks),
        "weeks": weeks,
    }
    # Absent rather than empty: a file without imports keeps the bytes it always had.
    if names := sorted(set(imported)):
        document["imported"] = names
    return document


def summary_of(document: dict[str, Any]) -> dict[str, int]:
    """How much a file holds: weeks, and items of each kind (shown on the dashboard)."""
    weeks = document["weeks"].values()
    summary = {"weeks": len(document["weeks"])}
    for kind in ("commits", "pull_requests", "issues", "reviews"):
        summary[kind] = sum(len(week[kind]) for week in weeks)
    return summary


def serialise(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


@cache
def _validator() -> Callable[[Any], Any]:
    # Compiled to Python code: 15x faster than jsonschema on a 50,000-commit file. The tests
    # check written files with jsonschema, the reference implementation, as well.
    return fastjsonschema.compile(json.loads(SCHEMA_PATH.read_text()))


def validate(document: Any) -> None:
    """Raise ``InvalidFile`` unless the document conforms to the shipped JSON Schema."""
    try:
        _validator()(document)
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidFile(f"{error.name}: {error.message[:300]}") from error


def parse(source: IO[bytes] | bytes) -> dict[str, Any]:
    """Read and validate a file; raises ``InvalidFile`` for anything that is not schema 1."""
    try:
        document = json.loads(source) if isinstance(source, bytes) else json.load(source)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidFile(f"not JSON: {error}") from error
    validate(document)
    return document  # type: ignore[no-any-return]


def upload_metadata(document: dict[str, Any]) -> dict[str, Any]:
    """Metadata sent with the upload; a later sync reads the coverage back from it."""
    return {
        "description": DESCRIPTION,
        "tags": TAGS,
        "updated_at": document["generated_at"],
        "schema": SCHEMA_VERSION,
        "coverage": document["coverage"],
        "github_login": document["github"]["login"],
        # Lets a run see that no import is pending without downloading the file.
        "imported": document.get("imported", []),
    }


def coverage_from_metadata(metadata: Any) -> dict[str, str | None] | None:
    """The coverage a file's metadata declares, or None if it declares none we understand."""
    if not isinstance(metadata, dict) or metadata.get("schema") != SCHEMA_VERSION:
        return None
    coverage = metadata.get("coverage")
    if not isinstance(coverage, dict):
        return None
    try:
        for key in ("first_week", "last_week", "last_complete_week"):
            if coverage.get(key) is not None:
                IsoWeek.parse(coverage[key])
    except (ValueError, TypeError):
        return None
    return {k: coverage.get(k) for k in ("first_week", "last_week", "last_complete_week")}
