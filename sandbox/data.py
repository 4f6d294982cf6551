"""Synthetic GitHub members: their repositories and the raw events of their activity.

A member is generated (``sandbox.generator``) from (seed, login, profile) over a horizon that
starts before the account was created and runs ``FUTURE_DAYS`` past the anchor (the Monday the
sandbox started in). Queries only see events at or before the sandbox clock, so time passing
(real or advanced) makes new activity appear, always the same activity for the same seed.

Events are raw facts, as GitHub stores them: a commit has an author date and a committer date,
a repository has the names it carried over time and may be deleted. Which events GitHub counts
as contributions, and on which day, is decided where GitHub decides it: ``sandbox.truth``.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

# How far past the anchor activity is generated: enough for long benchmarks with a fast clock.
FUTURE_DAYS = 730
DAY_S = 86400


@dataclass(frozen=True)
class Profile:
    """The shape of a member's history; rates are per year over the whole horizon."""

    name: str
    age_days: int
    public_repos: int  # own repositories with commits
    private_repos: int
    fork_repos: int  # forks never get commits by the member (they are not contributions)
    empty_repos: int  # no commits at all (the commits API answers 409)
    commits_per_year: float
    prs_per_year: float
    issues_per_year: float
    reviews_per_year: float
    external_repos: int  # other people's repositories where PRs, issues and reviews go
    wide_year_repos: int = 0  # extra repositories all active in one year (> 100 for "heavy")
    burst_commits: int = 0  # commits in one repository within one week
    # The profile setting "Private contributions": whether visitors (and tokens that cannot read
    # private repositories) see private contributions as anonymous counts in the calendar.
    shows_private_counts: bool = True
    # Share of contributions GitHub counts late (up to a day after they happened).
    lag_share: float = 0.0
    # Repositories whose commits were committed long after they were authored (rebased, or
    # cherry-picked), with no other activity where they were committed.
    rebased_repos: int = 0
    # A repository whose single commit was committed days before its author date (a clock set
    # wrong); more of them make a crossing of a period boundary likely.
    skewed_repos: int = 0
    pre_account_commits: int = 0  # authored before the account existed (an imported history)
    org_commit_repos: int = 0  # organisations' repositories the member commits to (one private)
    no_standing_repos: int = 0  # someone else's repository with the member's commits: no credit
    deleted_repos: int = 0  # own repositories with history, deleted in the past
    renamed_repos: int = 0  # own repositories renamed in the past
    transferred_repos: int = 0  # own repositories transferred to an organisation in the past
    wide_day_repos: int = 0  # repositories that all get commits on one day (> 100: over the cap)


PROFILES: dict[str, Profile] = {
    "small": Profile(
        name="small",
        age_days=182,
        public_repos=3,
        private_repos=0,
        fork_repos=0,
        empty_repos=0,
        commits_per_year=130,
        prs_per_year=14,
        issues_per_year=10,
        reviews_per_year=14,
        external_repos=1,
    ),
    "typical": Profile(
        name="typical",
        age_days=3 * 365,
        public_repos=9,
        private_repos=1,
        fork_repos=1,
        empty_repos=1,
        commits_per_year=900,
        prs_per_year=40,
        issues_per_year=25,
        reviews_per_year=30,
        external_repos=4,
    ),
    "heavy": Profile(
        name="heavy",
        age_days=10 * 365,
        public_repos=48,
        private_repos=6,
        fork_repos=5,
        empty_repos=3,
        commits_per_year=3000,
        prs_per_year=320,
        issues_per_year=220,
        reviews_per_year=450,
        external_repos=25,
        wide_year_repos=110,
        burst_commits=160,
    ),
    # Everything in which GitHub is less simple than one repository, one date, one name.
    "edge": Profile(
        name="edge",
        age_days=2 * 365,
        public_repos=3,
        private_repos=1,
        fork_repos=1,
        empty_repos=0,
        commits_per_year=120,
        prs_per_year=20,
        issues_per_year=12,
        reviews_per_year=15,
        external_repos=2,
        shows_private_counts=False,
        lag_share=0.5,
        rebased_repos=2,
        skewed_repos=6,
        pre_account_commits=12,
        org_commit_repos=2,
        no_standing_repos=1,
        deleted_repos=1,
        renamed_repos=1,
        transferred_repos=1,
    ),
    # One day with commits in more repositories than GitHub's contribution query returns.
    "wideday": Profile(
        name="wideday",
        age_days=2 * 365,
        public_repos=2,
        private_repos=0,
        fork_repos=0,
        empty_repos=0,
        commits_per_year=60,
        prs_per_year=4,
        issues_per_year=4,
        reviews_per_year=4,
        external_repos=1,
        wide_day_repos=130,
    ),
}

# The members every sandbox has; each is also an Open Humans username.
BUILTIN_MEMBERS: dict[str, str] = {
    "octo-small": "small",
    "octo-typical": "typical",
    "octo-heavy": "heavy",
    "octo-edge": "edge",
    "octo-wideday": "wideday",
}


@dataclass(frozen=True)
class Rename:
    """From ``at`` on, the repository is ``owner/name`` (a rename, or a transfer)."""

    at: dt.datetime
    owner: str
    name: str


@dataclass(frozen=True)
class Repo:
    """A repository as created; ``renames`` and ``deleted_at`` say what became of it."""

    id: int
    owner: str  # at creation
    name: str  # at creation
    private: bool
    fork: bool
    created_at: dt.datetime
    default_branch: str
    description: str
    language: str | None
    owned: bool  # created by the member (listed by /user/repos)
    # The member owns it, collaborates, belongs to its organisation or opened an issue or pull
    # request there: only then are their commits in it contributions.
    standing: bool = True
    renames: tuple[Rename, ...] = ()
    deleted_at: dt.datetime | None = None

    @property
    def full_name(self) -> str:
        """The name at creation (stable: generated data is derived from it)."""
        return f"{self.owner}/{self.name}"

    def owner_at(self, now: dt.datetime) -> str:
        return self._named_at(now)[0]

    def full_name_at(self, now: dt.datetime) -> str:
        owner, name = self._named_at(now)
        return f"{owner}/{name}"

    def name_at(self, now: dt.datetime) -> str:
        return self._named_at(now)[1]

    def html_url_at(self, now: dt.datetime) -> str:
        return f"https://github.com/{self.full_name_at(now)}"

    def former_full_names(self, now: dt.datetime) -> list[str]:
        """Names it carried before the one it has at ``now`` (GitHub redirects them)."""
        current = self.full_name_at(now).lower()
        names = [self.full_name] + [f"{r.owner}/{r.name}" for r in self.renames if r.at <= now]
        return [n for n in names if n.lower() != current]

    def exists_at(self, now: dt.datetime) -> bool:
        return self.created_at <= now and (self.deleted_at is None or now < self.deleted_at)

    def _named_at(self, now: dt.datetime) -> tuple[str, str]:
        owner, name = self.owner, self.name
        for rename in self.renames:
            if rename.at <= now:
                owner, name = rename.owner, rename.name
        return owner, name


@dataclass(frozen=True)
class CommitEvent:
    sha: str
    repo: Repo
    authored_at: dt.datetime
    committed_at: dt.datetime  # pushed at once: the REST API shows it from then on
    message: str
    lag_s: int = 0  # GitHub counts it as a contribution this long after it was pushed

    def html_url_at(self, now: dt.datetime) -> str:
        return f"{self.repo.html_url_at(now)}/commit/{self.sha}"

    @property
    def counted_from(self) -> dt.datetime:
        """When GitHub's contribution data starts counting it."""
        return self.committed_at + dt.timedelta(seconds=self.lag_s)


@dataclass(frozen=True)
class IssueEvent:
    """An issue or a pull request opened by the member."""

    id: int
    is_pull_request: bool
    repo: Repo
    number: int
    title: str
    state: str  # OPEN, CLOSED, MERGED (pull requests only)
    created_at: dt.datetime
    lag_s: int = 0

    def html_url_at(self, now: dt.datetime) -> str:
        kind = "pull" if self.is_pull_request else "issues"
        return f"{self.repo.html_url_at(now)}/{kind}/{self.number}"

    @property
    def counted_from(self) -> dt.datetime:
        return self.created_at + dt.timedelta(seconds=self.lag_s)


@dataclass(frozen=True)
class ReviewEvent:
    id: int
    repo: Repo
    pull_request: int
    pull_request_title: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED
    submitted_at: dt.datetime
    lag_s: int = 0

    def html_url_at(self, now: dt.datetime) -> str:
        return f"{self.repo.html_url_at(now)}/pull/{self.pull_request}#pullrequestreview-{self.id}"

    @property
    def counted_from(self) -> dt.datetime:
        return self.submitted_at + dt.timedelta(seconds=self.lag_s)


@dataclass
class Member:
    """One synthetic GitHub user and the whole timeline of their activity."""

    login: str
    id: int
    name: str
    email: str
    created_at: dt.datetime
    profile: str
    repos: list[Repo]  # created by the member, in creation order
    external_repos: list[Repo]  # other owners' repositories the member acts in
    commits: list[CommitEvent]  # sorted by committed_at
    pull_requests: list[IssueEvent]  # sorted by created_at
    issues: list[IssueEvent]
    reviews: list[ReviewEvent]  # sorted by submitted_at
    shows_private_counts: bool = True
    _commit_times: list[float] = field(default_factory=list, repr=False)
    _authored: list[CommitEvent] = field(default_factory=list, repr=False)
    _authored_times: list[float] = field(default_factory=list, repr=False)
    _item_times: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Indexes by time, so that a query over a span reads that span only.
        self._commit_times = [c.committed_at.timestamp() for c in self.commits]
        self._authored = sorted(self.commits, key=lambda c: (c.authored_at, c.sha))
        self._authored_times = [c.authored_at.timestamp() for c in self._authored]
        self._item_times = {
            "pull_requests": [i.created_at.timestamp() for i in self.pull_requests],
            "issues": [i.created_at.timestamp() for i in self.issues],
            "reviews": [r.submitted_at.timestamp() for r in self.reviews],
        }

    def commits_until(self, now: dt.datetime) -> list[CommitEvent]:
        """Commits whose committed_at is at or before ``now``."""
        return self.commits[: bisect.bisect_right(self._commit_times, now.timestamp())]

    def commits_authored(self, start: dt.datetime, end: dt.datetime) -> list[CommitEvent]:
        """Commits authored in [start, end], whenever they were committed."""
        low = bisect.bisect_left(self._authored_times, start.timestamp())
        high = bisect.bisect_right(self._authored_times, end.timestamp())
        return self._authored[low:high]

    def opened(self, kind: str, start: dt.datetime, end: dt.datetime) -> list[Any]:
        """The ``kind`` ("pull_requests", "issues", "reviews") opened in [start, end]."""
        times = self._item_times[kind]
        low = bisect.bisect_left(times, start.timestamp())
        items: list[Any] = getattr(self, kind)
        return items[low : bisect.bisect_right(times, end.timestamp())]

    def all_repos(self) -> list[Repo]:
        return [*self.repos, *self.external_repos]

    def repo(self, full_name: str, now: dt.datetime) -> Repo | None:
        """The repository named ``full_name`` at ``now`` (existing or not)."""
        for repo in self.all_repos():
            if repo.full_name_at(now).lower() == full_name.lower():
                return repo
        return None

    def renamed_repo(self, full_name: str, now: dt.datetime) -> Repo | None:
        """The repository that carried ``full_name`` before a rename or transfer."""
        for repo in self.all_repos():
            if full_name.lower() in (n.lower() for n in repo.former_full_names(now)):
                return repo
        return None

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return next((r for r in self.all_repos() if r.id == repo_id), None)


def stable_int(text: str, *, digits: int) -> int:
    """A number of exactly ``digits`` digits derived from ``text`` (same on every run)."""
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    low: int = 10 ** (digits - 1)
    return low + value % (9 * low)


def anchor_for(now: dt.datetime) -> dt.datetime:
    """Monday 00:00 UTC of the week holding ``now``: members are generated relative to it."""
    day = now.astimezone(dt.UTC).date()
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime.combine(monday, dt.time(0), tzinfo=dt.UTC)


def with_changes(member: Member, changed: dict[int, Repo]) -> Member:
    """``member`` with the repositories of ``changed`` (by id) replaced everywhere."""

    def swap(repo: Repo) -> Repo:
        return changed.get(repo.id, repo)

    return dataclasses.replace(
        member,
        repos=[swap(r) for r in member.repos],
        external_repos=[swap(r) for r in member.external_repos],
        commits=[dataclasses.replace(c, repo=swap(c.repo)) for c in member.commits],
        pull_requests=[dataclasses.replace(p, repo=swap(p.repo)) for p in member.pull_requests],
        issues=[dataclasses.replace(i, repo=swap(i.repo)) for i in member.issues],
        reviews=[dataclasses.replace(r, repo=swap(r.repo)) for r in member.reviews],
    )


class Directory:
    """The synthetic GitHub users of one sandbox: built-in ones plus those added by admin, with
    the renames, transfers and deletions the admin API made since the sandbox (re)started."""

    def __init__(self, *, seed: int, anchor: dt.datetime) -> None:
        self.seed = seed
        self.anchor = anchor
        self._specs: dict[str, tuple[str, int]] = {
            login: (profile, seed) for login, profile in BUILTIN_MEMBERS.items()
        }
        self._changes: dict[str, dict[int, Repo]] = {}  # login -> repository id -> changed
        self._changed_members: dict[str, Member] = {}  # built once per change

    def add(self, *, login: str, profile: str, seed: int | None = None) -> Member:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; one of {sorted(PROFILES)}")
        self._specs[login.lower()] = (profile, self.seed if seed is None else seed)
        self._changes.pop(login.lower(), None)
        self._changed_members.pop(login.lower(), None)
        return self.get(login)  # type: ignore[return-value]

    def logins(self) -> list[str]:
        return sorted(self._specs)

    def get(self, login: str) -> Member | None:
        from sandbox.generator import generate_member

        spec = self._specs.get(login.lower())
        if spec is None:
            return None
        profile, seed = spec
        member = generate_member(
            login=login.lower(), profile=profile, seed=seed, anchor=self.anchor
        )
        changed = self._changes.get(login.lower())
        if not changed:
            return member
        if login.lower() not in self._changed_members:
            self._changed_members[login.lower()] = with_changes(member, changed)
        return self._changed_members[login.lower()]

    def by_id(self, user_id: int) -> Member | None:
        for login in self._specs:
            member = self.get(login)
            if member is not None and member.id == user_id:
                return member
        return None

    def change_repo(
        self,
        login: str,
        repo: Repo,
        *,
        at: dt.datetime,
        rename_to: str | None = None,
        delete: bool = False,
    ) -> Repo:
        """Rename (a transfer when the owner changes) or delete ``login``'s ``repo`` at ``at``."""
        if rename_to is not None:
            owner, _, name = rename_to.partition("/")
            if not owner or not name:
                raise ValueError("the new name must be owner/name")
            repo = dataclasses.replace(repo, renames=(*repo.renames, Rename(at, owner, name)))
        if delete:
            repo = dataclasses.replace(repo, deleted_at=at)
        self._changes.setdefault(login.lower(), {})[repo.id] = repo
        self._changed_members.pop(login.lower(), None)
        return repo
