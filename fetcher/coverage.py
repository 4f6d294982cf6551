"""Which weeks the member's Open Humans file already holds complete.

The database's coverage cache is consulted first, then the staged weeks; if the database knows
nothing (new member, or the database was lost) the file's upload metadata on Open Humans tells,
so that nothing the file holds is downloaded from GitHub again.
"""

from __future__ import annotations

from fetcher.planner import latest
from shared.db import Member, StagedWeek
from shared.errors import UpstreamError
from shared.fileformat import coverage_from_metadata
from shared.isoweek import IsoWeek
from shared.logging import get_logger
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import fresh_access_token
from shared.runtime import Runtime

log = get_logger(__name__)


def last_complete_week(member: Member, runtime: Runtime) -> IsoWeek | None:
    staged = StagedWeek.select(StagedWeek.week).where(
        (StagedWeek.member == member) & StagedWeek.complete
    )
    staged_last = latest(*(IsoWeek.parse(row.week) for row in staged))
    cached = (
        IsoWeek.parse(member.coverage_last_complete_week)
        if member.coverage_last_complete_week
        else None
    )
    if cached is None and not member.coverage_last_week:
        cached = _from_openhumans(member, runtime)
    return latest(staged_last, cached)


def _from_openhumans(member: Member, runtime: Runtime) -> IsoWeek | None:
    """Coverage declared by the metadata of the member's file(s), without downloading them."""
    settings = runtime.settings
    if not member.oh_refresh_token:
        return None
    try:
        with OpenHumansApi.from_settings(settings) as api:
            token = fresh_access_token(
                member.id, api=api, cipher=runtime.cipher, redis_client=runtime.redis
            )
            files = api.exchange_member(token)["data"]
    except UpstreamError as error:
        log.warning("coverage_lookup_failed", member_id=member.id, error=str(error))
        return None
    weeks = []
    for record in files:
        if record.get("basename") != settings.openhumans_filename:
            continue
        coverage = coverage_from_metadata(record.get("metadata"))
        if coverage and coverage.get("last_complete_week"):
            weeks.append(IsoWeek.parse(str(coverage["last_complete_week"])))
    found = latest(*weeks)
    log.info("coverage_from_openhumans", member_id=member.id, last_complete_week=str(found))
    return found
