"""Everything a service builds once from the settings: database, Redis, cipher, broker, logging."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import redis

from shared.crypto import TokenCipher
from shared.db import init_database
from shared.logging import configure_logging
from shared.settings import Settings


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url)

    @cached_property
    def cipher(self) -> TokenCipher:
        return TokenCipher(self.settings.token_encryption_keys)


_runtime: Runtime | None = None


def start(service: str, settings: Settings | None = None) -> Runtime:
    """Read settings, configure logging and the database; once per process at start-up."""
    global _runtime
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, service=service)
    problems = settings.production_problems()
    if settings.uses_real_services and problems:
        # Real members' tokens would be encrypted with a key published in this repository, an
        # unsigned webhook could erase them, or their session cookie would travel in clear.
        raise SystemExit(
            f"{service}: refusing to serve real members with unsafe settings: "
            + "; ".join(problems)
            + ". See the README, sections Configuration and Security."
        )
    init_database(settings.database_url)
    _runtime = Runtime(settings)
    return _runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("shared.runtime.start() was not called")
    return _runtime
