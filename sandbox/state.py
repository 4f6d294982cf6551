"""Everything one running sandbox holds; ``reset`` builds a fresh one."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field

from starlette.requests import Request

from sandbox.clock import SandboxClock
from sandbox.config import SandboxConfig
from sandbox.data import Directory, anchor_for
from sandbox.faults import FaultBook
from sandbox.openhumans_store import OpenHumansStore
from sandbox.ratelimit import RateLimiter
from sandbox.requestlog import RequestLog

GITHUB_CODE_TTL_S = 600  # GitHub OAuth codes expire after 10 minutes
MAX_TOKENS_PER_SCOPE = 10  # GitHub silently revokes the oldest beyond 10 per user, app and scope


@dataclass
class GitHubToken:
    login: str
    scopes: list[str]
    created_s: float
    revoked: bool = False

    @property
    def scope_header(self) -> str:
        return ", ".join(self.scopes)

    @property
    def can_read_private(self) -> bool:
        return "repo" in self.scopes


@dataclass
class GitHubCode:
    login: str
    scopes: list[str]
    client_id: str
    redirect_uri: str
    expires_at_s: float
    code_challenge: str = ""  # PKCE, S256 (the only method GitHub accepts)


def parse_scopes(scope: str) -> list[str]:
    """GitHub accepts scopes separated by commas or spaces."""
    return [s for s in scope.replace(",", " ").split() if s]


@dataclass
class SandboxState:
    config: SandboxConfig
    clock: SandboxClock
    directory: Directory
    limiter: RateLimiter
    faults: FaultBook = field(default_factory=FaultBook)
    log: RequestLog = field(default_factory=RequestLog)
    oh: OpenHumansStore = field(default_factory=OpenHumansStore)
    github_codes: dict[str, GitHubCode] = field(default_factory=dict)
    github_tokens: dict[str, GitHubToken] = field(default_factory=dict)
    in_flight: Counter[str] = field(default_factory=Counter)  # GitHub login -> requests served

    @classmethod
    def fresh(cls, config: SandboxConfig) -> SandboxState:
        clock = SandboxClock(time_scale=config.time_scale)
        return cls(
            config=config,
            clock=clock,
            directory=Directory(seed=config.seed, anchor=anchor_for(clock.now())),
            limiter=RateLimiter(
                {
                    "core": config.core_limit,
                    "graphql": config.graphql_limit,
                    "search": config.search_limit,
                },
                time_scale=config.rate_limit_time_scale,
            ),
        )

    def apply_config(self) -> None:
        """Push run-time config changes into the parts that copied them."""
        self.clock.time_scale = self.config.time_scale
        self.limiter.time_scale = self.config.rate_limit_time_scale
        self.limiter.limits.update(
            core=self.config.core_limit,
            graphql=self.config.graphql_limit,
            search=self.config.search_limit,
        )

    def issue_github_token(self, login: str, scopes: list[str]) -> str:
        token = "gho_" + secrets.token_hex(18)
        self.github_tokens[token] = GitHubToken(login, scopes, self.clock.now_s())
        same = [
            t
            for t in self.github_tokens.values()
            if t.login == login and t.scopes == scopes and not t.revoked
        ]
        for old in sorted(same, key=lambda t: t.created_s)[:-MAX_TOKENS_PER_SCOPE]:
            old.revoked = True
        return token

    def revoke_github_tokens(self, login: str) -> int:
        revoked = 0
        for token in self.github_tokens.values():
            if token.login.lower() == login.lower() and not token.revoked:
                token.revoked = True
                revoked += 1
        return revoked


def state_of(request: Request) -> SandboxState:
    """The running sandbox's state (``create_app`` keeps it on the app)."""
    state: SandboxState = request.app.state.sandbox
    return state
