"""Deterministic synthetic GitHub members: repositories, commits, pull requests, issues, reviews.

Each member is generated from (seed, login, profile) over a horizon that starts when the account
was created and runs ``FUTURE_DAYS`` past the anchor (the Monday the sandbox started in). Queries
only see events whose time is at or before the sandbox clock, so time passing (real or advanced)
makes new activity appear, always the same activity for the same seed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import random
from dataclasses import dataclass, field

# How far past the anchor activity is generated: enough for long benchmarks with a fast clock.
FUTURE_DAYS = 730
DAY_S = 86400

_WORDS = [
    "atlas",
    "beacon",
    "cinder",
    "delta",
    "ember",
    "falcon",
    "garnet",
    "harbor",
    "iris",
    "juniper",
    "kelp",
    "lumen",
    "maple",
    "nimbus",
    "onyx",
    "prism",
    "quartz",
    "raven",
    "sierra",
    "tundra",
    "umber",
    "vortex",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
]
_KINDS = ["api", "cli", "lib", "web", "bot", "kit", "sync", "lab", "docs", "core"]
_VERBS = [
    "Fix",
    "Add",
    "Refactor",
    "Update",
    "Remove",
    "Improve",
    "Document",
    "Test",
    "Rename",
    "Simplify",
]
_THINGS = [
    "parser",
    "cache",
    "login flow",
    "retry logic",
    "README",
    "build config",
    "tests",
    "pagination",
    "error handling",
    "timezone bug",
    "logging",
    "CI workflow",
    "dependency pins",
    "schema migration",
]
_LANGUAGES = ("Python", "Go", "TypeScript", "Rust", "Shell", None)


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
}

# The members every sandbox has; each is also an Open Humans username.
BUILTIN_MEMBERS: dict[str, str] = {
    "octo-small": "small",
    "octo-typical": "typical",
    "octo-heavy": "heavy",
}


@dataclass(frozen=True)
class Repo:
    id: int
    owner: str
    name: str
    private: bool
    fork: bool
    created_at: dt.datetime
    default_branch: str
    description: str
    language: str | None
    owned: bool  # belongs to the member (listed by /user/repos)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def html_url(self) -> str:
        return f"https://github.com/{self.full_name}"


@dataclass(frozen=True)
class CommitEvent:
    sha: str
    repo: Repo
    authored_at: dt.datetime
    committed_at: dt.datetime
    message: str

    @property
    def html_url(self) -> str:
        return f"{self.repo.html_url}/commit/{self.sha}"


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

    @property
    def html_url(self) -> str:
        kind = "pull" if self.is_pull_request else "issues"
        return f"{self.repo.html_url}/{kind}/{self.number}"


@dataclass(frozen=True)
class ReviewEvent:
    id: int
    repo: Repo
    pull_request: int
    pull_request_title: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED
    submitted_at: dt.datetime

    @property
    def html_url(self) -> str:
        return f"{self.repo.html_url}/pull/{self.pull_request}#pullrequestreview-{self.id}"


@dataclass
class Member:
    """One synthetic GitHub user and the whole timeline of their activity."""

    login: str
    id: int
    name: str
    email: str
    created_at: dt.datetime
    profile: str
    repos: list[Repo]  # owned, in creation order
    external_repos: list[Repo]
    commits: list[CommitEvent]  # sorted by committed_at
    pull_requests: list[IssueEvent]  # sorted by created_at
    issues: list[IssueEvent]
    reviews: list[ReviewEvent]  # sorted by submitted_at
    _commit_times: list[float] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._commit_times = [c.committed_at.timestamp() for c in self.commits]

    def commits_until(self, now: dt.datetime) -> list[CommitEvent]:
        """Commits whose committed_at is at or before ``now``."""
        return self.commits[: bisect.bisect_right(self._commit_times, now.timestamp())]

    def repo(self, full_name: str) -> Repo | None:
        for repo in (*self.repos, *self.external_repos):
            if repo.full_name.lower() == full_name.lower():
                return repo
        return None


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


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC)


class _Builder:
    """Generates one member; all randomness comes from one seeded ``random.Random``."""

    def __init__(self, *, login: str, profile: Profile, seed: int, anchor: dt.datetime) -> None:
        self.login = login
        self.profile = profile
        self.seed = seed
        self.rng = random.Random(f"{seed}:{login}:{profile.name}")
        self.anchor_s = anchor.timestamp()
        self.created_s = self.anchor_s - profile.age_days * DAY_S + self.rng.uniform(0, DAY_S)
        self.horizon_s = self.anchor_s + FUTURE_DAYS * DAY_S
        self.user_id = stable_int(f"github-user:{login}", digits=8)
        self._serial = 0

    def _next_id(self, base: int) -> int:
        self._serial += 1
        return base + stable_int(f"{self.seed}:{self.login}:{self._serial}", digits=6)

    def _repo(
        self, *, owner: str, private: bool, fork: bool, created_s: float, owned: bool
    ) -> Repo:
        rng = self.rng
        name = f"{rng.choice(_WORDS)}-{rng.choice(_KINDS)}-{self._serial % 1000}"
        return Repo(
            id=self._next_id(400_000_000),
            owner=owner,
            name=name,
            private=private,
            fork=fork,
            created_at=_at(created_s),
            default_branch="main" if rng.random() < 0.8 else "master",
            description=f"The {name.replace('-', ' ')} project",
            language=rng.choice(_LANGUAGES),
            owned=owned,
        )

    def build(self) -> Member:
        rng, p = self.rng, self.profile
        span_end = self.anchor_s - 14 * DAY_S
        repos: list[Repo] = []
        active: list[tuple[Repo, float, float, float]] = []  # repo, start, end, weight

        def window(created: float) -> tuple[float, float]:
            ongoing = p.name == "small" or rng.random() < 0.4
            length = rng.uniform(60, 900) * DAY_S
            return created, self.horizon_s if ongoing else min(created + length, self.horizon_s)

        for private, count in ((False, p.public_repos), (True, p.private_repos)):
            for i in range(count):
                first = not private and i == 0
                created = self.created_s + (
                    0 if first else rng.uniform(0, span_end - self.created_s)
                )
                repo = self._repo(
                    owner=self.login, private=private, fork=False, created_s=created, owned=True
                )
                start, end = window(created)
                if first:
                    end = self.horizon_s  # the oldest repository stays active: always new activity
                repos.append(repo)
                active.append((repo, start, end, rng.lognormvariate(0, 0.8)))
        for fork in [True] * p.fork_repos + [False] * p.empty_repos:
            created = rng.uniform(self.created_s, span_end)
            repos.append(
                self._repo(
                    owner=self.login, private=False, fork=fork, created_s=created, owned=True
                )
            )
        wide_start = self.created_s + 0.6 * (self.anchor_s - self.created_s)
        wide: list[Repo] = []
        for _ in range(p.wide_year_repos):
            created = wide_start + rng.uniform(0, 20 * DAY_S)
            wide.append(
                self._repo(
                    owner=self.login, private=False, fork=False, created_s=created, owned=True
                )
            )
        repos.extend(wide)
        repos.sort(key=lambda r: r.created_at)
        external = [
            self._repo(
                owner=f"{rng.choice(_WORDS)}-org",
                private=False,
                fork=False,
                created_s=self.created_s - rng.uniform(100, 2000) * DAY_S,
                owned=False,
            )
            for _ in range(p.external_repos)
        ]

        commits = self._commits(active, wide, wide_start)
        prs, issues, reviews = self._issues_and_reviews(repos, external)
        return Member(
            login=self.login,
            id=self.user_id,
            name=self.login.replace("-", " ").title(),
            email=f"{self.user_id}+{self.login}@users.noreply.github.com",
            created_at=_at(self.created_s),
            profile=p.name,
            repos=repos,
            external_repos=external,
            commits=commits,
            pull_requests=prs,
            issues=issues,
            reviews=reviews,
        )

    def _commit(self, repo: Repo, at_s: float, index: int) -> CommitEvent:
        rng = self.rng
        committed = _at(at_s)
        lag = 0 if rng.random() < 0.7 else int(rng.uniform(0, 3 * 3600))
        sha = hashlib.sha1(f"{self.seed}:{repo.full_name}:{index}".encode()).hexdigest()
        message = f"{rng.choice(_VERBS)} {rng.choice(_THINGS)}"
        if rng.random() < 0.2:
            message += f"\n\nSee #{rng.randint(1, 400)} for the details."
        return CommitEvent(
            sha=sha,
            repo=repo,
            authored_at=committed - dt.timedelta(seconds=lag),
            committed_at=committed,
            message=message,
        )

    def _commits(
        self,
        active: list[tuple[Repo, float, float, float]],
        wide: list[Repo],
        wide_start: float,
    ) -> list[CommitEvent]:
        rng, p = self.rng, self.profile
        total_weight = sum(w for *_, w in active) or 1.0
        yearly = p.commits_per_year
        commits: list[CommitEvent] = []
        index = 0
        for repo, start, end, weight in active:
            rate_per_s = yearly * (weight / total_weight) * len(active) / 365 / DAY_S
            # Each repository gets its share of the member's yearly rate while it is active.
            rate_per_s /= max(1.0, len(active) * 0.6)
            count = int(rate_per_s * (end - start)) + 1
            for _ in range(count):
                commits.append(self._commit(repo, rng.uniform(start, end), index))
                index += 1
        for repo in wide:
            start = repo.created_at.timestamp()
            for _ in range(rng.randint(3, 8)):
                commits.append(
                    self._commit(repo, rng.uniform(start, wide_start + 340 * DAY_S), index)
                )
                index += 1
        if p.burst_commits and active:
            repo, start, _, _ = active[0]
            week_start = (self.anchor_s + start) / 2
            week_start -= (week_start - 4 * DAY_S) % (7 * DAY_S)  # align to a Monday (epoch: Thu)
            for _ in range(p.burst_commits):
                commits.append(
                    self._commit(repo, week_start + rng.uniform(0, 7 * DAY_S - 1), index)
                )
                index += 1
        commits.sort(key=lambda c: (c.committed_at, c.sha))
        return commits

    def _issues_and_reviews(
        self, repos: list[Repo], external: list[Repo]
    ) -> tuple[list[IssueEvent], list[IssueEvent], list[ReviewEvent]]:
        rng, p = self.rng, self.profile
        own = [r for r in repos if not r.fork]
        years = (self.horizon_s - self.created_s) / (365 * DAY_S)
        # (time, kind, repo): kind is "pr", "issue" or "review" (of someone else's pull request)
        planned: list[tuple[float, str, Repo]] = []
        for kind, per_year in (
            ("pr", p.prs_per_year),
            ("issue", p.issues_per_year),
            ("review", p.reviews_per_year),
        ):
            for _ in range(int(per_year * years)):
                pool = external if external and rng.random() < 0.35 else own
                repo = rng.choice(pool)
                start = max(self.created_s, repo.created_at.timestamp())
                planned.append((rng.uniform(start, self.horizon_s), kind, repo))
        planned.sort(key=lambda item: (item[0], item[1], item[2].id))
        numbers: dict[int, int] = {}
        prs: list[IssueEvent] = []
        issues: list[IssueEvent] = []
        reviews: list[ReviewEvent] = []
        for at_s, kind, repo in planned:
            gap = rng.randint(1, 3) if repo.owned else rng.randint(1, 40)
            number = numbers.get(repo.id, 0) + gap
            numbers[repo.id] = number
            title = f"{rng.choice(_VERBS)} {rng.choice(_THINGS)}"
            old = at_s < self.anchor_s - 30 * DAY_S
            if kind == "review":
                reviews.append(
                    ReviewEvent(
                        id=self._next_id(1_000_000_000),
                        repo=repo,
                        pull_request=number,
                        pull_request_title=title,
                        state=rng.choices(
                            ["APPROVED", "COMMENTED", "CHANGES_REQUESTED"], [5, 3, 2]
                        )[0],
                        submitted_at=_at(at_s),
                    )
                )
                continue
            if kind == "pr":
                states, weights = ["MERGED", "CLOSED", "OPEN"], [7, 2, 1] if old else [3, 1, 6]
            else:
                states, weights = ["CLOSED", "OPEN"], [7, 3] if old else [2, 8]
            event = IssueEvent(
                id=self._next_id(2_000_000_000),
                is_pull_request=kind == "pr",
                repo=repo,
                number=number,
                title=title,
                state=rng.choices(states, weights)[0],
                created_at=_at(at_s),
            )
            (prs if kind == "pr" else issues).append(event)
        return prs, issues, reviews


@functools.lru_cache(maxsize=64)
def generate_member(*, login: str, profile: str, seed: int, anchor: dt.datetime) -> Member:
    """The member ``login`` (cached: generation is deterministic in its arguments)."""
    return _Builder(login=login, profile=PROFILES[profile], seed=seed, anchor=anchor).build()


class Directory:
    """The synthetic GitHub users of one sandbox: built-in ones plus those added by admin."""

    def __init__(self, *, seed: int, anchor: dt.datetime) -> None:
        self.seed = seed
        self.anchor = anchor
        self._specs: dict[str, tuple[str, int]] = {
            login: (profile, seed) for login, profile in BUILTIN_MEMBERS.items()
        }

    def add(self, *, login: str, profile: str, seed: int | None = None) -> Member:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; one of {sorted(PROFILES)}")
        self._specs[login.lower()] = (profile, self.seed if seed is None else seed)
        return self.get(login)  # type: ignore[return-value]

    def logins(self) -> list[str]:
        return sorted(self._specs)

    def get(self, login: str) -> Member | None:
        spec = self._specs.get(login.lower())
        if spec is None:
            return None
        profile, seed = spec
        return generate_member(login=login.lower(), profile=profile, seed=seed, anchor=self.anchor)

    def by_id(self, user_id: int) -> Member | None:
        for login in self._specs:
            member = self.get(login)
            if member is not None and member.id == user_id:
                return member
        return None
