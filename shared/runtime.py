"""Everything a service builds once from the settings: database, Redis, cipher, broker, logging."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import httpx
import redis

from shared.crypto import TokenCipher
from shared.db import init_database
from shared.http import process_client
from shared.logging import configure_logging
from shared.settings import Settings


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url)

    @cached_property
    def http(self) -> httpx.Client:
        """The process's HTTP client for GitHub and Open Humans (``shared.http``)."""
        return process_client(timeout_s=self.settings.http_timeout_s)

    @cached_property
    def cipher(self) -> TokenCipher:
        return TokenCipher(self.settings.token_encryption_keys)

    def close(self) -> None:
        """Close the connections built so far (Redis, HTTP)."""
        if "redis" in self.__dict__:
            self.redis.close()
        if "http" in self.__dict__:
            self.http.close()


_runtime: Runtime | None = None


def start(
    service: str, settings: Settings | None = None, *, database_pool: int | None = None
) -> Runtime:
    """Read settings, configure logging and the database; once per process at start-up.

    ``database_pool``: how many of the service's threads use the database at once (the size
    of a pooled database's pool; see ``shared.db.init_database``).
    """
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
    init_database(settings.database_url, pool_size=database_pool)
    _runtime = Runtime(settings)
    return _runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("shared.runtime.start() was not called")
    return _runtime
