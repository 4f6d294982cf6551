"""A small GitHub client: REST and GraphQL, GitHub's rate-limit rules, ETags, bounded retries.

A request goes through layers, as httpx's ``send`` does: ``_send`` follows GitHub's redirects,
``_send_with_retries`` backs off and tries again, ``verdict_of`` (pure) says what a response
means, and ``_exchange`` sends one request through the shared limiter. Every response's
``x-ratelimit-*`` headers go to the shared limiter; limited responses become
``RateLimited(resets_at)`` following GitHub's order of rules (retry-after, then remaining 0 until
reset, then the secondary limit's back-off). 5xx, timeouts and malformed bodies are retried with
exponential back-off a bounded number of times, then raise.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis

from shared import keys
from shared.activity import parse_timestamp
from shared.errors import (
    MalformedResponse,
    RateLimited,
    TokenRevoked,
    UpstreamError,
    UpstreamUnavailable,
)
from shared.github.ratelimit import RateLimiter

USER_AGENT = "oh-github-source/0.1 (+https://www.openhumans.org)"
# Attempts for one request on 5xx, timeouts and malformed bodies (then UpstreamUnavailable).
MAX_ATTEMPTS = 4
# First back-off after a transient failure; doubles on each further attempt.
FIRST_BACKOFF_S = 0.5
# A secondary limit without retry-after: GitHub asks to wait at least a minute.
SECONDARY_LIMIT_WAIT_S = 60
# ETags are kept this long: a refresh comes every few days (STALE_AFTER), with a wide margin.
ETAG_TTL_S = 14 * 86400
# Redirects followed for one request: a renamed repository takes one, a transferred one too.
MAX_REDIRECTS = 3
# GitHub's answer for a repository's former name (301), and the temporary ones it may send.
REDIRECT_STATUSES = (301, 302, 307, 308)
# A response body larger than this is never kept for a 304 (``/user`` is about 2 KB).
ETAG_MAX_BODY_BYTES = 32 * 1024


@dataclass(frozen=True)
class GitHubUser:
    id: int
    login: str
    created_at: dt.datetime
    scopes: list[str] = field(default_factory=list)

    @property
    def can_read_private(self) -> bool:
        return "repo" in self.scopes


class NotFound(UpstreamError):
    """404: the repository is gone or not visible with this token."""


class Unavailable(NotFound):
    """GitHub refuses this resource for good: 410, 451 (taken down), a 403 that is no rate
    limit (blocked, an organisation's SSO), or a redirect to another host or in a loop."""


@dataclass
class RequestCounter:
    """Requests sent and 304s received, for logs and benchmarks."""

    sent: int = 0
    not_modified: int = 0


class EtagCache:
    """ETag and body of earlier GET responses, per GitHub user, in Redis.

    Only requests that are asked again with the same URL are worth their body: ``/user``, read by
    every sync (a 304 is free). Commit listings never are: each sync lists other time ranges,
    and a resumed sync continues from the next page; keeping their bodies for 14 days cost
    megabytes of Redis per member and never saved a request. The client therefore asks for
    ETags only where the caller says so (``conditional``), and bodies over
    ``ETAG_MAX_BODY_BYTES`` are never kept: a member's entries stay a few kilobytes.
    """

    def __init__(
        self, client: redis.Redis, user_id: int, *, namespace: str = keys.NAMESPACE
    ) -> None:
        self._redis = client
        self._prefix = keys.etag_prefix(user_id, namespace=namespace)

    def _key(self, url: str, params: dict[str, Any] | None) -> str:
        raw = url + "?" + json.dumps(params or {}, sort_keys=True)
        return self._prefix + hashlib.sha256(raw.encode()).hexdigest()

    def get(self, url: str, params: dict[str, Any] | None) -> tuple[str, bytes, str] | None:
        raw = self._redis.get(self._key(url, params))
        if raw is None:
            return None
        entry = json.loads(raw)
        return entry["etag"], entry["body"].encode(), entry.get("link", "")

    def put(
        self, url: str, params: dict[str, Any] | None, etag: str, body: bytes, link: str
    ) -> None:
        key = self._key(url, params)
        if len(body) > ETAG_MAX_BODY_BYTES:
            self._redis.delete(key)  # an older, smaller version would answer for a newer one
            return
        entry = json.dumps({"etag": etag, "body": body.decode(), "link": link})
        self._redis.set(key, entry, ex=ETAG_TTL_S)


def scopes_of(headers: httpx.Headers) -> list[str]:
    return [s.strip() for s in headers.get("x-oauth-scopes", "").split(",") if s.strip()]


def server_time(headers: httpx.Headers) -> dt.datetime | None:
    """GitHub's clock when it sent a response (its ``Date`` header), if it sent one."""
    date = headers.get("date")
    if not date:
        return None
    try:
        return email.utils.parsedate_to_datetime(date).astimezone(dt.UTC)
    except (TypeError, ValueError):
        return None


def on_our_clock(github_epoch_s: int, headers: httpx.Headers) -> dt.datetime:
    """An instant GitHub told on its clock, moved to ours with the same response's ``Date``.

    A reset compared with a skewed local clock would make us wait too little (and send
    requests GitHub refuses) or too long; the difference from ``Date`` cancels the skew.
    """
    ours = dt.datetime.now(dt.UTC)
    theirs = server_time(headers) or ours
    return ours + (dt.datetime.fromtimestamp(github_epoch_s, dt.UTC) - theirs)


def _resets_at(headers: httpx.Headers) -> dt.datetime:
    reset = headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return on_our_clock(int(reset), headers)
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=SECONDARY_LIMIT_WAIT_S)


def _with_local_reset(headers: httpx.Headers) -> httpx.Headers:
    """The headers with ``x-ratelimit-reset`` on our clock, as the shared limiter keeps it."""
    reset = headers.get("x-ratelimit-reset")
    if not (reset and reset.isdigit()):
        return headers
    local = headers.copy()
    local["x-ratelimit-reset"] = str(math.ceil(on_our_clock(int(reset), headers).timestamp()))
    return local


def is_secondary_limit(response: httpx.Response) -> bool:
    """A secondary limit that tells no wait: GitHub asks for at least a minute, then more."""
    retry_after = response.headers.get("retry-after", "").strip()
    return (
        response.status_code in (403, 429)
        and not retry_after.isdigit()
        and response.headers.get("x-ratelimit-remaining") != "0"
        and ("secondary rate limit" in response.text.lower() or response.status_code == 429)
    )


def limited_until(response: httpx.Response, *, secondary_strikes: int = 0) -> dt.datetime | None:
    """When a limited response allows the next request, by GitHub's rules; None if not limited."""
    now = dt.datetime.now(dt.UTC)
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("retry-after")
    if retry_after and retry_after.strip().isdigit():
        return now + dt.timedelta(seconds=int(retry_after))
    if response.headers.get("x-ratelimit-remaining") == "0":
        return _resets_at(response.headers)
    if "secondary rate limit" in response.text.lower() or response.status_code == 429:
        backoff = SECONDARY_LIMIT_WAIT_S * (2 ** min(secondary_strikes, 5))
        return now + dt.timedelta(seconds=backoff)
    return None


@dataclass(frozen=True)
class Verdict:
    """What one GitHub response means for the request that got it.

    ``ok``: use its body; ``not_modified``: use the cached body (a free 304); ``redirect``:
    follow it; ``retry``: try again after a back-off (``error`` if attempts run out);
    ``fail``: raise ``error`` now (retrying cannot help, or GitHub asks us to stop).
    """

    kind: str
    error: Exception | None = None


def verdict_of(
    response: httpx.Response,
    *,
    url: str,
    resource: str,
    has_cached: bool,
    secondary_strikes: int = 0,
) -> Verdict:
    """GitHub's rules applied to one response, in their order (pure: no I/O, no clock but the
    one a rate-limit wait is computed from)."""
    status = response.status_code
    if status == 304 and has_cached:
        return Verdict("not_modified")
    if status == 401:
        return Verdict("fail", TokenRevoked("GitHub answered 401 Bad credentials"))
    until = limited_until(response, secondary_strikes=secondary_strikes)
    if until is not None:
        return Verdict("fail", RateLimited(until, resource=resource, reason=response.text[:200]))
    if status >= 500:
        return Verdict("retry", UpstreamUnavailable(f"GitHub {status} on {url}"))
    if status == 404:
        return Verdict("fail", NotFound(url))
    if status in (403, 410, 451):
        return Verdict("fail", Unavailable(f"GitHub answered {status} on {url}"))
    if status in REDIRECT_STATUSES:
        return Verdict("redirect")
    return Verdict("ok")


class GitHubClient:
    """One member's view of GitHub. Not thread-safe; one client per sync.

    ``http``: the process's shared HTTP client (``shared.http``); without one the client makes
    its own, closed with it. The member's token goes with each request, never into ``http``.
    """

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        user_id: int | None = None,
        limiter: RateLimiter | None = None,
        etags: EtagCache | None = None,
        timeout_s: float = 30,
        sleep: Any = time.sleep,
        before_request: Callable[[], Any] | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._user_id = user_id
        self._limiter = limiter
        self._etags = etags
        self._sleep = sleep
        # Called before every request (the sync renews its member lock there).
        self._before_request = before_request
        self.counter = RequestCounter()
        self.last_headers: httpx.Headers = httpx.Headers()
        self._timeout_s = timeout_s
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": USER_AGENT,
        }
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        resource: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        conditional: bool = False,
    ) -> tuple[Any, httpx.Response]:
        """One logical request with GitHub's rules; returns (parsed JSON, response).

        A redirect on GitHub's own host (a renamed or transferred repository answers 301) is
        followed: the new URL carries every parameter. ``conditional``: a GET asked again with
        the same URL by later syncs; its ETag and body are kept (see ``EtagCache``), and the
        next one is sent with ``If-None-Match``.
        """
        if not url.startswith("http"):
            url = self._api_url + url
        for _ in range(MAX_REDIRECTS):
            body, response = self._send_with_retries(
                method,
                url,
                resource=resource,
                params=params,
                json_body=json_body,
                conditional=conditional,
            )
            if response.status_code not in REDIRECT_STATUSES:
                return body, response
            url = self._redirect_target(url, response)
            params = None
        raise Unavailable(f"GitHub redirected {url} more than {MAX_REDIRECTS} times")

    def _redirect_target(self, url: str, response: httpx.Response) -> str:
        location = response.headers.get("location", "")
        target = str(response.request.url.join(location)) if location else ""
        if not target or urlsplit(target).netloc != urlsplit(self._api_url).netloc:
            raise Unavailable(f"GitHub redirected {url} to another host: {target!r}")
        return target

    def _send_with_retries(
        self,
        method: str,
        url: str,
        *,
        resource: str,
        params: dict[str, Any] | None,
        json_body: Any,
        conditional: bool,
    ) -> tuple[Any, httpx.Response]:
        conditional = conditional and self._etags is not None and method == "GET"
        cached = self._etags.get(url, params) if (self._etags and conditional) else None
        last_error: Exception | None = None
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                self._sleep(FIRST_BACKOFF_S * 2 ** (attempt - 1))
            headers = {"If-None-Match": cached[0]} if cached else {}
            try:
                response = self._exchange(method, url, resource, params, json_body, headers)
            except httpx.TransportError as error:  # timeouts, refused connections
                last_error = error
                continue
            strikes = 0
            if self._limiter and self._user_id and is_secondary_limit(response):
                strikes = self._limiter.secondary_strike(self._user_id)
            verdict = verdict_of(
                response,
                url=url,
                resource=resource,
                has_cached=cached is not None,
                secondary_strikes=strikes,
            )
            if verdict.kind == "not_modified" and cached is not None:
                self.counter.not_modified += 1
                response.headers["link"] = cached[2]
                return json.loads(cached[1]), response
            if verdict.kind == "fail" and verdict.error is not None:
                raise verdict.error
            if verdict.kind == "retry":
                last_error = verdict.error
                continue
            if verdict.kind == "redirect":
                return None, response
            try:
                body = response.json() if response.content else None
            except ValueError:
                last_error = MalformedResponse(f"GitHub sent a body that is not JSON for {url}")
                continue
            if self._etags and conditional and response.status_code == 200:
                etag = response.headers.get("etag")
                if etag:
                    self._etags.put(
                        url, params, etag, response.content, response.headers.get("link", "")
                    )
            return body, response
        if isinstance(last_error, MalformedResponse):
            raise last_error
        raise UpstreamUnavailable(f"GitHub unavailable after {MAX_ATTEMPTS} attempts: {last_error}")

    def _exchange(
        self,
        method: str,
        url: str,
        resource: str,
        params: dict[str, Any] | None,
        json_body: Any,
        headers: dict[str, str],
    ) -> httpx.Response:
        if self._before_request is not None:
            self._before_request()
        headers = {**self._headers, **headers}
        if self._limiter is None or self._user_id is None:
            response = self._http.request(
                method, url, params=params, json=json_body, headers=headers, timeout=self._timeout_s
            )
        else:
            with self._limiter.serial(self._user_id):
                self._limiter.reserve(self._user_id, resource)
                response = self._http.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self._timeout_s,
                )
                self._limiter.record(self._user_id, _with_local_reset(response.headers))
        self.counter.sent += 1
        self.last_headers = response.headers
        return response

    def server_now(self) -> dt.datetime:
        """GitHub's clock, from the last response's ``Date`` (our own clock if there was none).

        Whether a week has ended is judged by the clock of the server that holds the data, so a
        skewed local clock can never mark a week complete before GitHub saw its end.
        """
        return server_time(self.last_headers) or dt.datetime.now(dt.UTC)

    # ---- API -------------------------------------------------------------------------------

    def get_user(self) -> GitHubUser:
        body, response = self._send("GET", "/user", resource="core", conditional=True)
        try:
            return GitHubUser(
                id=int(body["id"]),
                login=str(body["login"]),
                created_at=parse_timestamp(body["created_at"]),
                scopes=scopes_of(response.headers),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise MalformedResponse(f"unexpected /user body: {error}") from error

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The ``data`` of a GraphQL query; GraphQL's 200-with-error limit becomes RateLimited."""
        body, response = self._send(
            "POST",
            "/graphql",
            resource="graphql",
            json_body={"query": query, "variables": variables},
        )
        if not isinstance(body, dict):
            raise MalformedResponse("GraphQL answered something that is not an object")
        errors = body.get("errors") or []
        if any(e.get("type") == "RATE_LIMITED" for e in errors if isinstance(e, dict)):
            raise RateLimited(_resets_at(response.headers), resource="graphql", reason="GraphQL")
        if errors:
            raise MalformedResponse(f"GraphQL errors: {json.dumps(errors)[:500]}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise MalformedResponse("GraphQL answered without data")
        return data

    def iter_commit_pages(
        self,
        repository: str,
        *,
        author: str,
        since: dt.datetime,
        until: dt.datetime,
        start_url: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """The author's commits on the default branch between two instants, a page at a time,
        each with the URL of the next page (None after the last), so a reader can stop after
        any page and resume from that URL later.

        Follows ``Link: rel="next"`` and never builds page URLs; an empty repository (409)
        has none.
        """
        url: str | None = start_url or f"{self._api_url}/repos/{repository}/commits"
        params: dict[str, Any] | None = None
        if start_url is None:
            params = {
                "author": author,
                "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "per_page": 100,
            }
        while url:
            body, response = self._send("GET", url, resource="core", params=params)
            if response.status_code == 409:
                return
            if not isinstance(body, list):
                raise MalformedResponse(f"commit listing of {repository} is not a list")
            url = response.links.get("next", {}).get("url")
            params = None  # the next URL carries every parameter
            yield body, url

    def iter_search_commit_pages(
        self, query: str, *, start_url: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], int, str | None]]:
        """Commit search results (oldest author date first), a page at a time, each with the
        total count and the next page's URL. GitHub answers the first 1000 results only."""
        url: str | None = start_url or f"{self._api_url}/search/commits"
        params: dict[str, Any] | None = None
        if start_url is None:
            params = {"q": query, "sort": "author-date", "order": "asc", "per_page": 100}
        while url:
            body, response = self._send("GET", url, resource="search", params=params)
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise MalformedResponse(f"commit search for {query!r} is not a result page")
            url = response.links.get("next", {}).get("url")
            params = None
            yield body["items"], int(body.get("total_count", 0)), url

    def iter_commits(
        self, repository: str, *, author: str, since: dt.datetime, until: dt.datetime
    ) -> Iterator[dict[str, Any]]:
        """Every commit of ``iter_commit_pages``, one by one."""
        for page, _next_url in self.iter_commit_pages(
            repository, author=author, since=since, until=until
        ):
            yield from page


def fetch_user(*, api_url: str, token: str, timeout_s: float = 30) -> GitHubUser:
    """The GitHub account behind ``token`` (used by the gateway when a member connects)."""
    with GitHubClient(api_url=api_url, token=token, timeout_s=timeout_s) as client:
        return client.get_user()
