"""Prometheus metrics of one scorer app, kept in the app's own registry."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Sub-millisecond buckets: a single-row prediction takes well under 1 ms.
_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class ServingMetrics:
    """Every counter the scorer keeps; one instance per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "scorer_requests",
            "HTTP requests by route and status code.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "scorer_request_duration_seconds",
            "Time from request start to the last response byte.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rows_scored = Counter(
            "scorer_rows_scored",
            "Rows scored, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.errors = Counter(
            "scorer_errors",
            "Error answers by error code.",
            ["code"],
            registry=self.registry,
        )
        self.unknown_levels = Counter(
            "scorer_unknown_levels",
            "Categorical values not seen in training (scored as missing), by feature.",
            ["feature"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "scorer_model_info",
            "The model being served (value 1).",
            ["name", "version", "alias", "source"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "scorer_reloads",
            "Model reload attempts by outcome (ok, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.registry_failures = Counter(
            "scorer_registry_poll_failures",
            "Registry polls that got no answer.",
            registry=self.registry,
        )
        self.jvm_restarts = Counter(
            "scorer_jvm_restarts",
            "JVMs restarted after they died.",
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
        self._rows_children: dict[str, Counter] = {}

    def count_request(self, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        children = self._request_children.get((endpoint, status))
        if children is None:
            children = (
                self.requests.labels(endpoint, str(status)),
                self.latency.labels(endpoint),
            )
            # A handful of routes and statuses: keeping their children skips
            # the label lookups on every request.
            self._request_children[endpoint, status] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_rows(self, endpoint: str, rows: int) -> None:
        """Count rows scored by one request."""
        child = self._rows_children.get(endpoint)
        if child is None:
            child = self._rows_children[endpoint] = self.rows_scored.labels(endpoint)
        child.inc(rows)

    def set_model(
        self, name: str, version: str | None, alias: str | None, source: str
    ) -> None:
        """Show exactly one served model in ``scorer_model_info``."""
        self.model_info.clear()
        self.model_info.labels(name, version or "", alias or "", source).set(1)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
