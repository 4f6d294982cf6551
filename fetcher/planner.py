"""Which weeks a sync fetches, and in which periods (pure functions over plain data)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.isoweek import IsoWeek

# GitHub's contributionsCollection spans at most one year; 52 ISO weeks are 364 days.
MAX_PERIOD_WEEKS = 52


def first_week_to_fetch(
    *, account_created: IsoWeek, last_complete_week: IsoWeek | None, horizon: IsoWeek | None = None
) -> IsoWeek:
    """The week after the last complete one held, else the account's first week.

    A week held but not complete (fetched before it ended) is fetched again.
    """
    start = account_created if horizon is None else max(account_created, horizon)
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
    commits_by_period: list[dict[str, int]], *, max_commits: int = MAX_LISTING_COMMITS
) -> list[CommitListing]:
    """The fewest commit listings that read every repository's commits in every period.

    A repository's consecutive periods share one listing (GitHub pages 100 commits whatever
    the time span, so sparse years cost nothing extra) until it would exceed ``max_commits``.
    Periods without commits between two active ones are spanned, never skipped, so that a
    commit whose committer date falls outside its author's period is still read. Listings are
    ordered by the period they start in, the order in which weeks are completed.
    """
    listings: list[CommitListing] = []
    repositories = sorted({name for counts in commits_by_period for name in counts})
    for repository in repositories:
        active = [i for i, counts in enumerate(commits_by_period) if counts.get(repository)]
        first, total = active[0], 0
        for index in range(active[0], active[-1] + 1):
            count = commits_by_period[index].get(repository, 0)
            if total and total + count > max_commits:
                listings.append(CommitListing(repository, first, index - 1, total))
                first, total = index, 0
            total += count
        listings.append(CommitListing(repository, first, active[-1], total))
    return sorted(listings, key=lambda listing: (listing.first_period, listing.repository))
