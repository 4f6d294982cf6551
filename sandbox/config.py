"""The sandbox's settings: one object, read once at start-up, some fields changeable at run time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# GitHub's documented primary limits: 5000 requests/hour (core), 5000 points/hour (GraphQL),
# 30 requests/minute (search).
DEFAULT_CORE_LIMIT = 5000
DEFAULT_GRAPHQL_LIMIT = 5000
DEFAULT_SEARCH_LIMIT = 30

# Where `make setup` installs GitHub's published schema (the npm package @octokit/graphql-schema).
DEFAULT_SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent
    / "build/graphql-schema/node_modules/@octokit/graphql-schema/schema.graphql"
)

# Fields that ``POST /_sandbox/config`` may change on a running sandbox.
RUNTIME_FIELDS = (
    "core_limit",
    "graphql_limit",
    "search_limit",
    "time_scale",
    "rate_limit_time_scale",
    "latency_ms",
    "secondary_limits",
    "limited_status",
    "timeout_fault_s",
)


@dataclass
class SandboxConfig:
    """Everything the sandbox can be told; defaults imitate the real services."""

    host: str = "127.0.0.1"
    port: int = 8900
    seed: int = 1  # every synthetic member is derived from this seed and its login
    # Primary rate limits per GitHub user and resource, per window.
    core_limit: int = DEFAULT_CORE_LIMIT
    graphql_limit: int = DEFAULT_GRAPHQL_LIMIT
    search_limit: int = DEFAULT_SEARCH_LIMIT
    # Sandbox seconds per real second, for rate-limit windows, token and URL expiry and activity.
    time_scale: float = 1.0
    # How much faster than real time GitHub's rate-limit windows pass (3600: an hour-long window
    # lasts one real second). Separate from time_scale, so that limits can reset quickly while
    # the activity that is visible stays that of the real present.
    rate_limit_time_scale: float = 1.0
    latency_ms: int = 0  # added to every GitHub API request, inside the concurrency window
    secondary_limits: bool = True  # answer 403 to a user's request while another one is served
    limited_status: int = 403  # status of an exhausted REST limit: 403 (GitHub's usual) or 429
    timeout_fault_s: float = 30.0  # how long a "timeout" fault holds the response before a 502
    github_client_id: str = "sandbox-github-client"
    github_client_secret: str = "sandbox-github-secret"
    oh_client_id: str = "sandbox-oh-client"
    oh_client_secret: str = "sandbox-oh-secret"
    oh_webhook_secret: str = "sandbox-webhook-secret"
    oh_project_id: int = 1234  # the Open Humans project the files belong to
    graphql_schema_path: str = field(
        default_factory=lambda: os.environ.get(
            "GITHUB_GRAPHQL_SCHEMA",
            str(DEFAULT_SCHEMA_PATH),
        )
    )

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply run-time changes (only ``RUNTIME_FIELDS``), coercing to each field's type."""
        types = {f.name: f.type for f in fields(self)}
        applied: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in RUNTIME_FIELDS:
                raise ValueError(f"unknown or read-only config field: {name}")
            kind = types[name]
            coerced: Any
            if kind in ("int", int):
                coerced = int(value)
            elif kind in ("float", float):
                coerced = float(value)
            elif kind in ("bool", bool):
                coerced = bool(value)
            else:
                coerced = value
            if name == "limited_status" and coerced not in (403, 429):
                raise ValueError("limited_status must be 403 or 429")
            if name in ("time_scale", "rate_limit_time_scale") and coerced <= 0:
                raise ValueError(f"{name} must be positive")
            setattr(self, name, coerced)
            applied[name] = coerced
        return applied

    def public(self) -> dict[str, Any]:
        """The run-time settings, for ``GET /_sandbox/config``."""
        return {name: getattr(self, name) for name in ("seed", *RUNTIME_FIELDS)}
