"""Property-based fuzzing of every route over real HTTP: whatever a client sends (method, query
bytes, headers, cookies, bodies: JSON, forms, garbage), the gateway answers without a 5xx and
without a traceback.

``FUZZ_EXAMPLES`` sets how many requests (default 300, derandomized so CI is reproducible);
``FUZZ_RANDOM=1`` explores new ones on each run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route

from gateway.routes import routes
from tests.security.conftest import Live

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
CONTENT_TYPES = [
    None,
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=fuzz",
    "multipart/form-data",
    "text/plain; charset=utf-16",
    "application/json; charset=latin-1",
]


def every_route() -> list[tuple[str, list[str]]]:
    """(path, methods) of every route the gateway serves (none takes path parameters)."""
    found: list[tuple[str, list[str]]] = []
    for route in routes():
        if isinstance(route, Route):
            found.append((route.path, sorted(route.methods or ["GET"])))
        elif isinstance(route, Mount):
            found.append((route.path + "/style.css", ["GET"]))
            found.append((route.path + "/../../etc/passwd", ["GET"]))
    return found


ROUTES = every_route()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["project_member_id", "timestamp", "erasure_requested", "csrf_token"])
            | st.text(max_size=10),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


# What HTTP lets a header value hold: visible bytes, spaces and tabs inside (latin-1 included).
header_values = st.binary(max_size=60).map(
    lambda raw: bytes(b for b in raw if b >= 0x20 and b != 0x7F).strip()
)


@st.composite
def requests(draw: st.DrawFn, csrf_token: str) -> dict[str, Any]:
    path, methods = draw(st.sampled_from(ROUTES))
    method = draw(st.sampled_from(methods) | st.sampled_from(METHODS))
    query = quote_from_bytes(draw(st.binary(max_size=40)), safe="=&")
    headers: dict[str, bytes] = {}
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type:
        headers["content-type"] = content_type.encode()
    if draw(st.booleans()):
        headers["x-openhumans-webhooks-signature"] = b"sha1=" + draw(header_values)
    if draw(st.booleans()):
        headers["x-request-id"] = draw(header_values)
    kind = draw(st.sampled_from(["empty", "bytes", "json", "form"]))
    if kind == "bytes":
        body = draw(st.binary(max_size=300))
    elif kind == "json":
        body = json.dumps(draw(json_values)).encode()
    elif kind == "form":
        fields = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3))
        if draw(st.booleans()):
            fields["csrf_token"] = csrf_token
        body = httpx.QueryParams(fields).__str__().encode()
    else:
        body = b""
    logged_in = draw(st.booleans())
    return {
        "method": method,
        "url": path + ("?" + query if query else ""),
        "headers": headers,
        "content": body,
        "logged_in": logged_in,
    }


def test_no_request_gets_a_5xx(serve: Callable[..., Live]) -> None:
    live = serve(rate_limit_login="off", rate_limit_member="off", rate_limit_ip="off")
    member = live.browser()
    live.log_in(member, "alice")
    live.connect_github(member, "octo-small")
    page = member.get("/dashboard").text
    csrf_token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    cookies = dict(member.cookies)
    stranger = live.browser()
    seen: list[tuple[str, str, int]] = []

    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=not os.environ.get("FUZZ_RANDOM"),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=requests(csrf_token))
    def check(request: dict[str, Any]) -> None:
        client = member if request.pop("logged_in") else stranger
        if client is member:
            member.cookies.update(cookies)  # a fuzzed logout may have cleared them
        response = client.request(**request)
        seen.append((request["method"], request["url"].split("?")[0], response.status_code))
        assert response.status_code < 500, (request, response.text[:300])
        assert "Traceback" not in response.text

    check()
    paths = {path for _, path, _ in seen}
    assert {path for path, _ in ROUTES} <= paths, "every route was tried"
