"""Which weeks a sync fetches, and in which periods (pure functions over plain data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from shared.isoweek import IsoWeek

# GitHub's contributionsCollection spans at most one year; 52 ISO weeks are 364 days.
MAX_PERIOD_WEEKS = 52


def history_start(*, account_created: IsoWeek, first_contribution: dt.date | None) -> IsoWeek:
    """The first week of the member's history: the account's, or earlier when GitHub counts
    contributions dated before the account existed (a history pushed later)."""
    if first_contribution is None:
        return account_created
    return min(account_created, IsoWeek.of(first_contribution))


def first_week_to_fetch(
    *, history_start: IsoWeek, last_complete_week: IsoWeek | None, horizon: IsoWeek | None = None
) -> IsoWeek:
    """The week after the last complete one held, else the history's first week.

    A week held but not complete (fetched before GitHub had settled it) is fetched again.
    """
    start = history_start if horizon is None else max(history_start, horizon)
    if last_complete_week is not None and last_complete_week >= start:
        return last_complete_week.next()
    return start


def periods(
    first: IsoWeek, last: IsoWeek, *, max_weeks: int = MAX_PERIOD_WEEKS
) -> list[tuple[IsoWeek, IsoWeek]]:
    """Consecutive ``(first, last)`` week ranges of at most ``max_weeks`` covering first..last."""
    result: list[tuple[IsoWeek, IsoWeek]] = []
    start = first
    while start <= last:
        end = start
        for _ in range(max_weeks - 1):
            if end.next() > last:
                break
            end = end.next()
        result.append((start, end))
        start = end.next()
    return result


def latest(*weeks: IsoWeek | None) -> IsoWeek | None:
    present = [week for week in weeks if week is not None]
    return max(present) if present else None


# A commit listing covers at most this many commits: longer listings save a page now and then,
# but a rate limit in the middle of one throws away the pages already read.
MAX_LISTING_COMMITS = 1000


@dataclass(frozen=True)
class CommitListing:
    """One repository's commits over consecutive periods, read page by page in one listing."""

    repository: str
    first_period: int  # index into the sync's periods
    last_period: int
    commits: int  # as the contribution data counts them

    @property
    def pages(self) -> int:
        """Requests the listing is expected to take (100 commits a page)."""
        return max(1, -(-self.commits // 100))


def plan_listings(
    commits_by_period: list[dict[str, int]],
    *,
    also: Iterable[str] = (),
    max_commits: int = MAX_LISTING_COMMITS,
) -> list[CommitListing]:
    """The fewest commit listings that read every repository's commits in every period.

    ``commits_by_period`` counts commits by author date (GitHub's contribution data); listings
    filter on the committer date, which is usually later, sometimes much later (a rebase), and
    now and then earlier (a wrong clock). So a repository's listings run from the period before
    the first one it has commits in to the last period of the sync, without gaps: every commit
    authored in the sync's periods is read wherever its committer date puts it. This costs no
    request where nothing was committed (GitHub pages 100 commits whatever the span); the
    listings are cut where one would exceed ``max_commits``. Repositories in ``also`` (pushed
    during the sync's weeks without commits authored in them) are listed over every period.
    Listings are ordered by the period they start in, the order in which weeks are completed.
    """
    last = len(commits_by_period) - 1
    listings: list[CommitListing] = []
    active_in = {name for counts in commits_by_period for name, n in counts.items() if n}
    for repository in sorted(active_in | set(also)):
        active = [i for i, counts in enumerate(commits_by_period) if counts.get(repository)]
        first = max(0, active[0] - 1) if active else 0
        total = 0
        for index in range(first, last + 1):
            count = commits_by_period[index].get(repository, 0)
            if total and total + count > max_commits:
                listings.append(CommitListing(repository, first, index - 1, total))
                first, total = index, 0
            total += count
        listings.append(CommitListing(repository, first, last, total))
    return sorted(listings, key=lambda listing: (listing.first_period, listing.repository))
