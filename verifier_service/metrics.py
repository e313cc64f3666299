"""Prometheus metrics through prometheus_client: one registry per app, or, when the entry point runs
several worker processes, prometheus_client's multiprocess mode (one set of series for all workers)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own switch: set before the workers start, it makes every worker write its
values to files in that directory, and /metrics in any worker sums them."""

# The *_created series (a timestamp per label set) only double the output of these counters.
disable_created_metrics()


class Metrics:
    """Request counts by method, route and status, verification results and a latency histogram."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("zkmargin_http_requests", "HTTP requests by method, route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.results = Counter("zkmargin_verifications", "Proof verifications by result.", ["result"],
                               registry=self.registry)
        self.latency = Histogram("zkmargin_http_request_duration_seconds", "Request latency.", ["route"],
                                 buckets=LATENCY_BUCKETS_S, registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one response (any status) and its latency."""
        # Clients choose the method token: fold the unknown ones so they cannot mint series.
        method = method if method in KNOWN_METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_result(self, result: str) -> None:
        """Count one verification outcome (valid, invalid, malformed)."""
        self.results.labels(result).inc()

    def render(self) -> bytes:
        """The Prometheus text format: every worker's series summed in multiprocess mode, else this app's."""
        directory = os.environ.get(MULTIPROC_ENV)
        if directory:
            return render_multiprocess(directory)
        return generate_latest(self.registry)


def render_multiprocess(directory: str) -> bytes:
    """The series all worker processes wrote to directory, summed."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)
