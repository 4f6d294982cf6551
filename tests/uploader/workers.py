"""Code run in separate processes by the uploader's concurrency tests (spawned: importable)."""

from __future__ import annotations

from typing import Any

from shared.db import connection, init_database
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import fresh_access_token
from shared.runtime import Runtime
from shared.settings import Settings


def refresh_after_a_401(
    settings: Settings, member_id: int, start: Any, results: Any, name: str
) -> None:
    """Take the member's token, wait for the other process, then act as if Open Humans had
    refused that token with 401 "Expired token.": refresh, and use the result for a real call."""
    init_database(settings.database_url)
    runtime = Runtime(settings)
    try:
        with (
            connection(),
            OpenHumansApi(
                base_url=settings.openhumans_url,
                client_id=settings.openhumans_client_id,
                client_secret=settings.openhumans_client_secret,
                timeout_s=10,
            ) as api,
        ):
            held = fresh_access_token(
                member_id, api=api, cipher=runtime.cipher, redis_client=runtime.redis
            )
            start.wait(timeout=30)
            token = fresh_access_token(
                member_id,
                api=api,
                cipher=runtime.cipher,
                redis_client=runtime.redis,
                rejected_token=held,
            )
            member = api.exchange_member(token)  # the token works
            results.put((name, token, member["project_member_id"], None))
    except Exception as error:  # reported to the test, which fails with it
        results.put((name, None, None, repr(error)))
    finally:
        runtime.redis.close()
