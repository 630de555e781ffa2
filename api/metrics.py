"""Prometheus metrics of one app: requests by route and status, their latency, the view's lag.

Each app has its own `CollectorRegistry` (tests build many apps in one process; the global
registry would refuse the second). Routes are labelled by their template (`/v1/atp/{sku}`), never
by the raw path, so a scan of random URLs cannot blow up the label set.

`answered` keeps each label set's children: `labels()` checks and looks up its values under a
lock at every call, a cost paid thousands of times a second on the ATP route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class ApiMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "skuflow_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "skuflow_http_request_duration_seconds",
            "Time to answer an HTTP request (to the end of the body), by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.published = Counter(
            "skuflow_api_events_published",
            "Events the API handed to the dataflow, by event type.",
            ["type"],
            registry=self.registry,
        )
        self.view_lag = Gauge(
            "skuflow_view_lag_seconds",
            "now − event time of the newest event in the live view (read at scrape time).",
            registry=self.registry,
        )
        self.view_quiet = Gauge(
            "skuflow_view_seconds_since_write",
            "now − wall-clock time of the dataflow's last write to the live view.",
            registry=self.registry,
        )
        self.view_skus = Gauge(
            "skuflow_view_skus", "SKUs the live view holds.", registry=self.registry
        )
        self.view_up = Gauge(
            "skuflow_view_up", "1 when the live view answered the scrape.", registry=self.registry
        )
        self._answers: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answer and time it (`requests` and `latency`)."""
        children = self._answers.get((method, route, status))
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._answers[method, route, status] = children
        count, latency = children
        count.inc()
        latency.observe(seconds)
