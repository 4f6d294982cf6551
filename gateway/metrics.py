"""Prometheus metrics of the gateway: requests by route and status, members by sync state.

Each app gets its own registry, so that tests can build several apps in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.logging import get_logger
from shared.syncstate import SyncState

log = get_logger(__name__)


class MembersByState(Collector):
    """Counts members per sync state at scrape time (one GROUP BY query)."""

    def __init__(self, count_by_state: Callable[[], dict[str, int]]) -> None:
        self._count_by_state = count_by_state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "ohgithub_members", "Members by sync state", labels=["sync_state"]
        )
        try:
            counts = self._count_by_state()
        except Exception:  # a scrape must not fail because the database is briefly away
            log.warning("metrics_members_unavailable", exc_info=True)
            return
        for state in sorted({state.value for state in SyncState} | set(counts)):
            family.add_metric([state], counts.get(state, 0))
        yield family


class Metrics:
    def __init__(self, *, count_by_state: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ohgithub_gateway_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "ohgithub_gateway_request_duration_seconds",
            "HTTP request duration by route template",
            ["route"],
            registry=self.registry,
        )
        self.registry.register(MembersByState(count_by_state))

    def render(self) -> bytes:
        return generate_latest(self.registry)
