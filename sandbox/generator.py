"""Generates a synthetic member from (seed, login, profile): deterministic, and cached.

The base history (repositories, commits, pull requests, issues, reviews) comes from one seeded
``random.Random``; the profile's edge cases (rebased and skewed commits, a history older than
the account, organisations' repositories, deleted, renamed and transferred repositories, late
contributions, a day over GitHub's 100-repository cap) come from a second one, so that adding
them never changes the base history of another profile.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import random

from sandbox.data import (
    DAY_S,
    FUTURE_DAYS,
    PROFILES,
    CommitEvent,
    IssueEvent,
    Member,
    Profile,
    Rename,
    Repo,
    ReviewEvent,
    stable_int,
)

# Ids are unique within a member: its block of ids, then a serial number. A block holds this
# many ids; GraphQL's databaseId is a 32-bit Int, so blocks stay small.
ID_BLOCK = 100_000
# GitHub counts a late contribution at most this long after it happened.
MAX_LAG_S = DAY_S - 60

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
        # The member's block of ids: a serial within it never collides, whatever the history.
        self._id_block = stable_int(f"{seed}:{login}:ids", digits=3)

    def _next_id(self, base: int) -> int:
        self._serial += 1
        assert self._serial < ID_BLOCK, "more ids than a member's block holds"
        return base + self._id_block * ID_BLOCK + self._serial

    def _repo(
        self,
        *,
        owner: str,
        private: bool,
        fork: bool,
        created_s: float,
        owned: bool,
        rng: random.Random | None = None,
    ) -> Repo:
        rng = rng or self.rng
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
        edges = _Edges(self)
        edges.add(repos, external, commits, prs, issues)
        repos.sort(key=lambda r: r.created_at)
        commits.sort(key=lambda c: (c.committed_at, c.sha))
        prs.sort(key=lambda i: i.created_at)
        issues.sort(key=lambda i: i.created_at)
        reviews.sort(key=lambda r: r.submitted_at)
        if p.lag_share:
            commits, prs, issues, reviews = edges.late(commits, prs, issues, reviews)
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
            shows_private_counts=p.shows_private_counts,
        )

    def _commit(self, repo: Repo, at_s: float, index: int) -> CommitEvent:
        rng = self.rng
        committed = _at(at_s)
        delay = 0 if rng.random() < 0.7 else int(rng.uniform(0, 3 * 3600))
        sha = hashlib.sha1(f"{self.seed}:{repo.full_name}:{index}".encode()).hexdigest()
        message = f"{rng.choice(_VERBS)} {rng.choice(_THINGS)}"
        if rng.random() < 0.2:
            message += f"\n\nSee #{rng.randint(1, 400)} for the details."
        return CommitEvent(
            sha=sha,
            repo=repo,
            authored_at=committed - dt.timedelta(seconds=delay),
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


class _Edges:
    """The profile's edge cases, drawn from a random sequence of their own."""

    def __init__(self, builder: _Builder) -> None:
        self.b = builder
        self.rng = random.Random(f"{builder.seed}:{builder.login}:edges")
        self.created_s = builder.created_s
        self.anchor_s = builder.anchor_s
        self._index = 0

    def _repo(self, *, owner: str | None = None, private: bool = False, created_s: float) -> Repo:
        b = self.b
        return b._repo(
            owner=owner or b.login,
            private=private,
            fork=False,
            created_s=created_s,
            owned=owner is None,
            rng=self.rng,
        )

    def _commit(self, repo: Repo, *, authored_s: float, committed_s: float) -> CommitEvent:
        self._index += 1
        sha = hashlib.sha1(f"{self.b.seed}:{repo.full_name}:edge:{self._index}".encode())
        return CommitEvent(
            sha=sha.hexdigest(),
            repo=repo,
            authored_at=_at(authored_s),
            committed_at=_at(committed_s),
            message=f"{self.rng.choice(_VERBS)} {self.rng.choice(_THINGS)}",
        )

    def _issue(self, repo: Repo, *, at_s: float, number: int, pull: bool) -> IssueEvent:
        return IssueEvent(
            id=self.b._next_id(2_000_000_000),
            is_pull_request=pull,
            repo=repo,
            number=number,
            title=f"{self.rng.choice(_VERBS)} {self.rng.choice(_THINGS)}",
            state="MERGED" if pull else "CLOSED",
            created_at=_at(at_s),
        )

    def _org(self) -> str:
        return f"{self.rng.choice(_WORDS)}-{self.rng.choice(_KINDS)}-org"

    def add(
        self,
        repos: list[Repo],
        external: list[Repo],
        commits: list[CommitEvent],
        prs: list[IssueEvent],
        issues: list[IssueEvent],
    ) -> None:
        p, rng, day = self.b.profile, self.rng, DAY_S
        past_s = self.anchor_s - 14 * day  # edge activity lies in the past, stable under time
        for _ in range(p.rebased_repos):
            # Authored in one year, committed (rebased) more than 364 days later: the two dates
            # always lie in different 52-week periods, and nothing else happens here.
            repo = self._repo(created_s=self.created_s + rng.uniform(20, 30) * day)
            repos.append(repo)
            for _ in range(rng.randint(3, 6)):
                authored = self.created_s + rng.uniform(35, 120) * day
                committed = min(authored + rng.uniform(370, 420) * day, past_s)
                commits.append(self._commit(repo, authored_s=authored, committed_s=committed))
        for _ in range(p.skewed_repos):
            # One commit whose committer date is days before its author date (a wrong clock).
            committed = rng.uniform(self.created_s + 30 * day, past_s - 30 * day)
            repo = self._repo(created_s=committed - rng.uniform(1, 5) * day)
            repos.append(repo)
            authored = committed + rng.uniform(1, 6) * day
            commits.append(self._commit(repo, authored_s=authored, committed_s=committed))
        if p.pre_account_commits:
            # An older project pushed after the account was created; a third of its commits
            # were rebased onto it after that.
            repo = self._repo(created_s=self.created_s + rng.uniform(5, 15) * day)
            repos.append(repo)
            for i in range(p.pre_account_commits):
                authored = self.created_s - rng.uniform(200, 900) * day
                committed = authored if i % 3 else self.created_s + rng.uniform(20, 60) * day
                commits.append(self._commit(repo, authored_s=authored, committed_s=committed))
        for i in range(p.org_commit_repos):
            repo = self._repo(
                owner=self._org(), private=i == 0, created_s=self.created_s - 300 * day
            )
            external.append(repo)
            for _ in range(rng.randint(8, 20)):
                at = rng.uniform(self.created_s, past_s)
                commits.append(self._commit(repo, authored_s=at, committed_s=at))
        for _ in range(p.no_standing_repos):
            owner = f"{rng.choice(_WORDS)}-dev"
            repo = dataclasses.replace(
                self._repo(owner=owner, created_s=self.created_s - 100 * day), standing=False
            )
            external.append(repo)
            for _ in range(rng.randint(3, 6)):
                at = rng.uniform(self.created_s, past_s)
                commits.append(self._commit(repo, authored_s=at, committed_s=at))
        changed: list[tuple[Repo, float, float]] = []  # repo, first activity, last activity
        for kind in (
            ["deleted"] * p.deleted_repos
            + ["renamed"] * p.renamed_repos
            + ["transferred"] * p.transferred_repos
        ):
            created = self.created_s + rng.uniform(40, 200) * day
            repo = self._repo(created_s=created)
            if kind == "deleted":
                repo = dataclasses.replace(
                    repo, deleted_at=_at(self.anchor_s - rng.uniform(60, 120) * day)
                )
            else:
                renamed_at = _at(self.anchor_s - rng.uniform(50, 200) * day)
                owner = self._org() if kind == "transferred" else repo.owner
                name = f"{repo.name}-renamed" if kind == "renamed" else repo.name
                repo = dataclasses.replace(repo, renames=(Rename(renamed_at, owner, name),))
            repos.append(repo)
            changed.append((repo, created, self.anchor_s - 130 * day))
        for repo, start, end in changed:
            for _ in range(rng.randint(8, 15)):
                at = rng.uniform(start, end)
                commits.append(self._commit(repo, authored_s=at, committed_s=at))
            for number in (1, 2, 3):
                at = rng.uniform(start, end)
                (prs if number < 3 else issues).append(
                    self._issue(repo, at_s=at, number=number, pull=number < 3)
                )
        if p.wide_day_repos:
            # More than GitHub's contribution query returns, all on one day over a year ago.
            wide_day = self.anchor_s - 400 * day
            wide_day -= wide_day % day
            for _ in range(p.wide_day_repos):
                repo = self._repo(created_s=wide_day - rng.uniform(1, 30) * day)
                repos.append(repo)
                for _ in range(rng.randint(1, 2)):
                    at = wide_day + rng.uniform(0, day - 1)
                    commits.append(self._commit(repo, authored_s=at, committed_s=at))
                if rng.random() < 0.4:
                    at = rng.uniform(wide_day + day, past_s)
                    commits.append(self._commit(repo, authored_s=at, committed_s=at))

    def late(
        self,
        commits: list[CommitEvent],
        prs: list[IssueEvent],
        issues: list[IssueEvent],
        reviews: list[ReviewEvent],
    ) -> tuple[list[CommitEvent], list[IssueEvent], list[IssueEvent], list[ReviewEvent]]:
        """The events with GitHub's contribution lag drawn for the profile's share of them."""
        share, rng = self.b.profile.lag_share, self.rng

        def lag() -> int:
            return int(rng.uniform(60, MAX_LAG_S)) if rng.random() < share else 0

        return (
            [dataclasses.replace(c, lag_s=lag()) for c in commits],
            [dataclasses.replace(i, lag_s=lag()) for i in prs],
            [dataclasses.replace(i, lag_s=lag()) for i in issues],
            [dataclasses.replace(r, lag_s=lag()) for r in reviews],
        )


@functools.lru_cache(maxsize=64)
def generate_member(*, login: str, profile: str, seed: int, anchor: dt.datetime) -> Member:
    """The member ``login`` (cached: generation is deterministic in its arguments)."""
    return _Builder(login=login, profile=PROFILES[profile], seed=seed, anchor=anchor).build()
