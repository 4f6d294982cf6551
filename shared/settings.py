"""The one settings object, read once from environment variables at start-up.

Every field is documented here and in the README's configuration table, with its default.
Durations accept a number of seconds or a suffixed value: ``90s``, ``30m``, ``1h``, ``4d``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

# Development-only secrets, used when nothing is configured (sandbox mode). Refused in production.
DEV_SECRET_KEY = "dev-only-secret-key-change-me"
DEV_TOKEN_KEY = "ZGV2LW9ubHktdG9rZW4ta2V5LTMyLWJ5dGVzLWxvbmc="
# Hosts of the real services: with any of them configured, real members' data is at stake.
REAL_HOSTS = frozenset({"www.openhumans.org", "openhumans.org", "github.com", "api.github.com"})
# A request rate: "<count>/<second|minute|hour|day>", or "off".
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")


def check_rate(text: str) -> str:
    """``text`` if it is a request rate such as ``"30/minute"`` or ``"off"``; else ValueError."""
    if text.strip().lower() == "off" or _RATE.match(text):
        return text.strip().lower()
    raise ValueError(f"not a rate: {text!r} (use e.g. 30/minute, 1000/hour, or off)")


def parse_duration_s(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"30m"``, ``"1h"`` or ``"4d"``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 30m, 1h, 4d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Configuration of every service. Field ``x_y`` is read from environment variable ``X_Y``."""

    # Public URL of the gateway, used to build OAuth redirect URLs.
    app_base_url: str = "http://127.0.0.1:8000"
    # Where the gateway listens.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # Signs the session cookie. Must be set to a long random value in production.
    secret_key: str = DEV_SECRET_KEY
    # Fernet key(s) encrypting tokens at rest; comma-separated, first one encrypts (key rotation).
    token_encryption_keys: str = DEV_TOKEN_KEY
    # peewee database URL: sqlite:///path or postgresql://user@host/db (postgres+pool:// pools).
    database_url: str = "sqlite:///var/data.sqlite3"
    # Dramatiq broker, rate-limit state, ETags and locks.
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Open Humans project credentials and where Open Humans is.
    openhumans_url: str = "https://www.openhumans.org"
    openhumans_client_id: str = ""
    openhumans_client_secret: str = ""
    # Secret of the deauthorization webhook's HMAC signature. Empty: every webhook is ignored
    # (an unsigned one could erase any member); required with real credentials.
    openhumans_webhook_secret: str = ""
    # A signed webhook older (or further in the future) than this is a replay and is ignored.
    webhook_max_age_s: float = 600
    # GitHub OAuth app credentials and where GitHub is.
    github_web_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    github_client_id: str = ""
    github_client_secret: str = ""
    # Name of the member's file on Open Humans.
    openhumans_filename: str = "github-activity.json"
    # Members whose last successful sync is older than this are refreshed by the scheduler.
    stale_after_s: float = 4 * 86400
    # How often the scheduler looks for stale members.
    scheduler_interval_s: float = 300
    # Minimum time between two "Sync now" presses of one member.
    sync_cooldown_s: float = 3600
    # GitHub requests per user and resource left unused for the member's own tools.
    github_reserve: int = 200
    # Seconds a GitHub or Open Humans request may take before it counts as a timeout.
    http_timeout_s: float = 30
    # A member's sync lock lapses this long after its fetcher died (a live fetcher renews it
    # every third of it, from a thread of its own); a crashed sync resumes after it.
    sync_lock_ttl_s: float = 15
    # Port on which each fetcher and uploader worker exports Prometheus metrics; 0 turns it off.
    worker_metrics_port: int = 0
    # Port on which the gateway exports its Prometheus metrics, apart from the public site (so
    # that /metrics is never public); 0 turns it off.
    gateway_metrics_port: int = 0
    # Largest request body the gateway reads (forms, webhooks), in bytes; larger ones get 413.
    max_request_bytes: int = 64 * 1024
    # Request rates the gateway allows before answering 429 ("off" disables one):
    # logging in and the OAuth callbacks, per client IP;
    rate_limit_login: str = "30/minute"
    # the status API and the dashboard's buttons, per member;
    rate_limit_member: str = "300/minute"
    # every other page, per client IP.
    rate_limit_ip: str = "1200/minute"
    # Log level of every service (DEBUG, INFO, WARNING, ERROR).
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            name = field.name.upper()
            if name.endswith("_S"):
                name = name[:-2]  # STALE_AFTER, not STALE_AFTER_S: the value carries its unit
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            if field.name.endswith("_s"):
                values[field.name] = parse_duration_s(raw)
            elif field.name.startswith("rate_limit_"):
                values[field.name] = check_rate(raw)
            elif field.type in ("int", int):
                values[field.name] = int(raw)
            else:
                values[field.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_configured(self) -> bool:
        """True when real OAuth credentials are present (otherwise `make run` uses the sandbox)."""
        return bool(self.openhumans_client_id and self.github_client_id)

    @property
    def uses_real_services(self) -> bool:
        """True when any service URL points at github.com or openhumans.org (any spelling)."""
        urls = (self.openhumans_url, self.github_api_url, self.github_web_url)
        return any((urlsplit(url.strip()).hostname or "") in REAL_HOSTS for url in urls)

    @property
    def uses_https(self) -> bool:
        return urlsplit(self.app_base_url.strip()).scheme.lower() == "https"

    def production_problems(self) -> list[str]:
        """What must be fixed before serving real members with these settings."""
        problems = []
        if not self.openhumans_webhook_secret:
            problems.append("OPENHUMANS_WEBHOOK_SECRET is empty")
        if not self.uses_https:
            problems.append("APP_BASE_URL is not https")
        if self.secret_key == DEV_SECRET_KEY:
            problems.append("SECRET_KEY is the development default")
        if self.token_encryption_keys == DEV_TOKEN_KEY:
            problems.append("TOKEN_ENCRYPTION_KEYS is the development default")
        return problems


def env_name(field_name: str) -> str:
    """The environment variable of a settings field."""
    name = field_name.upper()
    return name[:-2] if name.endswith("_S") else name
