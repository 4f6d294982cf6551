"""What one GitHub response means, by GitHub's rules in their order (no HTTP, no Redis)."""

from __future__ import annotations

import time

import httpx
import pytest

from shared.errors import RateLimited, TokenRevoked
from shared.github.client import NotFound, Unavailable, verdict_of

URL = "https://api.github.test/repos/o/r/commits"


def answer(status: int, *, headers: dict[str, str] | None = None, text: str = "") -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, text=text)


def verdict(response: httpx.Response, **options: object) -> tuple[str, type | None]:
    result = verdict_of(response, url=URL, resource="core", has_cached=False, **options)  # type: ignore[arg-type]
    return result.kind, None if result.error is None else type(result.error)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, ("ok", None)),
        (409, ("ok", None)),  # an empty repository: the listing reads it as no commits
        (301, ("redirect", None)),
        (307, ("redirect", None)),
        (401, ("fail", TokenRevoked)),
        (404, ("fail", NotFound)),
        (410, ("fail", Unavailable)),
        (451, ("fail", Unavailable)),
        (403, ("fail", Unavailable)),  # refused, and not a rate limit
        (500, ("retry", None)),
        (502, ("retry", None)),
    ],
)
def test_each_status_means_what_github_says(status: int, expected: tuple[str, object]) -> None:
    kind, error = verdict(answer(status))
    assert kind == expected[0]
    if expected[1] is not None:
        assert error is expected[1]


def test_a_304_is_free_only_with_a_cached_body() -> None:
    cached = verdict_of(answer(304), url=URL, resource="core", has_cached=True)
    assert cached.kind == "not_modified"
    assert verdict_of(answer(304), url=URL, resource="core", has_cached=False).kind == "ok"


def test_rate_limits_follow_github_s_order_of_rules() -> None:
    reset = int(time.time()) + 600
    spent = answer(403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    assert verdict(spent) == ("fail", RateLimited)
    told = verdict_of(
        answer(429, headers={"retry-after": "30", "x-ratelimit-remaining": "0"}),
        url=URL,
        resource="core",
        has_cached=False,
    )
    assert isinstance(told.error, RateLimited)
    waited_s = told.error.resets_at.timestamp() - time.time()
    assert 25 < waited_s <= 31  # retry-after wins over the reset
    secondary = answer(403, text="You have exceeded a secondary rate limit")
    first = verdict_of(secondary, url=URL, resource="core", has_cached=False)
    third = verdict_of(secondary, url=URL, resource="core", has_cached=False, secondary_strikes=2)
    assert isinstance(first.error, RateLimited) and isinstance(third.error, RateLimited)
    assert third.error.resets_at > first.error.resets_at  # each strike waits longer
