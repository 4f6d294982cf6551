"""The HTTP client a worker process shares for GitHub and Open Humans.

Building an ``httpx.Client`` builds its connection pool and TLS context; a new client for every
sync and upload spent about a sixth of a fetcher's CPU and half an uploader's on that and on new
connections. One client per process keeps connections to GitHub and Open Humans open across
members. It carries nothing of any member: requests bring their own authorization, and it
accepts no cookies, so no member's session can ride along on another member's request.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

# Connections kept open per host between requests: more than a worker's threads.
KEEPALIVE_CONNECTIONS = 32


def process_client(*, timeout_s: float) -> httpx.Client:
    """A client for every thread of a process (httpx clients may be shared between threads)."""
    return httpx.Client(
        timeout=timeout_s,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        limits=httpx.Limits(max_keepalive_connections=KEEPALIVE_CONNECTIONS),
    )
