"""Prometheus text exposition, kept in-process (one set of series per worker)."""

from __future__ import annotations

import threading
from collections import defaultdict

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Request counts, verification results and a latency histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.results: dict[str, int] = defaultdict(int)
        self.bucket_counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(LATENCY_BUCKETS_S))
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        # Clients choose the method token: fold the unknown ones so they cannot mint series.
        method = method if method in KNOWN_METHODS else "OTHER"
        with self._lock:
            self.requests[(method, route, status)] += 1
            counts = self.bucket_counts[route]
            for i, bound in enumerate(LATENCY_BUCKETS_S):
                if seconds <= bound:
                    counts[i] += 1
            self.latency_sum[route] += seconds
            self.latency_count[route] += 1

    def observe_result(self, result: str) -> None:
        """Count one verification outcome (valid, invalid, malformed)."""
        with self._lock:
            self.results[result] += 1

    def render(self) -> str:
        """The Prometheus text format."""
        lines = [
            "# HELP zkmargin_http_requests_total HTTP requests by method, route and status.",
            "# TYPE zkmargin_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), count in sorted(self.requests.items()):
                lines.append(f'zkmargin_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {count}')
            lines += ["# HELP zkmargin_verifications_total Proof verifications by result.",
                      "# TYPE zkmargin_verifications_total counter"]
            for result, count in sorted(self.results.items()):
                lines.append(f'zkmargin_verifications_total{{result="{result}"}} {count}')
            lines += ["# HELP zkmargin_http_request_duration_seconds Request latency.",
                      "# TYPE zkmargin_http_request_duration_seconds histogram"]
            for route in sorted(self.bucket_counts):
                for bound, count in zip(LATENCY_BUCKETS_S, self.bucket_counts[route]):
                    lines.append(f'zkmargin_http_request_duration_seconds_bucket{{route="{route}",le="{bound}"}} {count}')
                lines.append(f'zkmargin_http_request_duration_seconds_bucket{{route="{route}",le="+Inf"}} {self.latency_count[route]}')
                lines.append(f'zkmargin_http_request_duration_seconds_sum{{route="{route}"}} {self.latency_sum[route]:.6f}')
                lines.append(f'zkmargin_http_request_duration_seconds_count{{route="{route}"}} {self.latency_count[route]}')
        return "\n".join(lines) + "\n"
