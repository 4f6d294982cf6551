"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams.

Each of ``connections`` keep-alive connections sends its next GET as soon as the previous answer
arrived (no think time), for ``duration_s``. Raw streams rather than an HTTP client library, so
that the generator costs a few tens of microseconds per request and is never what limits the
server: its own CPU use is reported beside each run to show that.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


@dataclass
class LoadResult:
    requests: int  # answered or dropped (status 0)
    duration_s: float
    latencies_s: list[float] = field(repr=False)
    statuses: Counter[int]
    client_cpu_s: float

    @property
    def throughput(self) -> float:
        """Answered requests per second."""
        return self.requests / self.duration_s

    def percentile_ms(self, share: float) -> float:
        ordered = sorted(self.latencies_s)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    @property
    def client_cpu_share(self) -> float:
        """Share of one core the generator itself used: near 1.0 means it limited the run."""
        return self.client_cpu_s / self.duration_s


async def _exchange(streams: list[Any], host: str, port: int, request: bytes) -> int:
    """Send one request on the connection in ``streams`` (opened again if the server closed it);
    returns the status, 0 for a connection the server dropped."""
    if not streams:
        streams.extend(await asyncio.open_connection(host, port))
    reader, writer = streams
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        match = _LENGTH.search(head)
        if match is None:
            raise RuntimeError(f"answer without content-length: {head[:200]!r}")
        await reader.readexactly(int(match.group(1)))
        return int(head[9:12])
    except (ConnectionError, asyncio.IncompleteReadError):
        writer.close()
        streams.clear()
        return 0


async def _connection(
    host: str,
    port: int,
    request: bytes,
    stop_at: float,
    latencies: list[float],
    statuses: Counter[int],
) -> None:
    streams: list[Any] = []
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        status = await _exchange(streams, host, port, request)
        latencies.append(time.perf_counter() - started)
        statuses[status] += 1
    if streams:
        streams[1].close()


async def _run(
    host: str, port: int, path: str, headers: dict[str, str], connections: int, duration_s: float
) -> LoadResult:
    request = request_bytes(host, port, path, headers)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    cpu_before, started = time.process_time(), time.perf_counter()
    stop_at = started + duration_s
    await asyncio.gather(
        *(
            _connection(host, port, request, stop_at, latencies, statuses)
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    return LoadResult(
        requests=len(latencies),
        duration_s=elapsed,
        latencies_s=latencies,
        statuses=statuses,
        client_cpu_s=time.process_time() - cpu_before,
    )


def run_load(
    *,
    host: str,
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    connections: int = 50,
    duration_s: float = 10.0,
) -> LoadResult:
    """``connections`` closed-loop clients GETting ``path`` for ``duration_s`` seconds."""
    return asyncio.run(_run(host, port, path, headers or {}, connections, duration_s))


async def _open_loop(
    host: str,
    port: int,
    requests: list[bytes],
    rate_per_s: float,
    duration_s: float,
    connections: int,
) -> LoadResult:
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def produce() -> None:
        started = time.perf_counter()
        for index in range(int(rate_per_s * duration_s)):
            due = started + index / rate_per_s
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            queue.put_nowait((due, requests[index % len(requests)]))
        for _ in range(connections):
            queue.put_nowait(None)

    async def consume() -> None:
        streams: list[Any] = []
        while (item := await queue.get()) is not None:
            due, request = item
            status = await _exchange(streams, host, port, request)
            # From when the request was due, not when a connection was free: a server that
            # falls behind is charged for the wait (no "coordinated omission").
            latencies.append(time.perf_counter() - due)
            statuses[status] += 1
        if streams:
            streams[1].close()

    cpu_before, started = time.process_time(), time.perf_counter()
    await asyncio.gather(produce(), *(consume() for _ in range(connections)))
    return LoadResult(
        requests=len(latencies),
        duration_s=time.perf_counter() - started,
        latencies_s=latencies,
        statuses=statuses,
        client_cpu_s=time.process_time() - cpu_before,
    )


def request_bytes(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def run_rate(
    *,
    host: str,
    port: int,
    paths: list[str],
    headers: dict[str, str] | None = None,
    rate_per_s: float,
    duration_s: float = 10.0,
    connections: int = 32,
) -> LoadResult:
    """Requests sent at a fixed rate (open loop), cycling through ``paths``; latency is measured
    from each request's due time."""
    requests = [request_bytes(host, port, path, headers) for path in paths]
    return asyncio.run(_open_loop(host, port, requests, rate_per_s, duration_s, connections))


def merged(results: list[LoadResult]) -> LoadResult:
    """Several runs as one: their requests over their summed durations."""
    statuses: Counter[int] = Counter()
    for result in results:
        statuses.update(result.statuses)
    return LoadResult(
        requests=sum(r.requests for r in results),
        duration_s=sum(r.duration_s for r in results),
        latencies_s=[latency for r in results for latency in r.latencies_s],
        statuses=statuses,
        client_cpu_s=sum(r.client_cpu_s for r in results),
    )
