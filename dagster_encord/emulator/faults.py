"""Fault injection and request counters.

Faults are set per run through the Python API or the control API:
- an HTTP status (optionally with `Retry-After`) for the next N requests matching a method and a
  path pattern (fnmatch glob, matched against the raw path and the endpoint name);
- dropped connections (the response is cut off mid-body) for the next N matching requests;
- added latency for matching requests;
- failures for chosen object URLs inside upload jobs, transient for N attempts or permanent;
- stalled upload jobs (they stay PENDING until released).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import Any


def matches(method_pattern: str, path_pattern: str, method: str, path: str, endpoint: str) -> bool:
    if method_pattern != "*" and method_pattern.upper() != method.upper():
        return False
    return fnmatchcase(path, path_pattern) or fnmatchcase(endpoint, path_pattern)


@dataclass
class HttpFault:
    method: str  # "*" or an HTTP method
    path: str  # fnmatch pattern over the path or the endpoint name
    status: int = 500  # ignored when drop is set
    remaining: int = 1
    retry_after: int | None = None
    message: str = "injected fault"
    drop: bool = False

    def matches(self, method: str, path: str, endpoint: str) -> bool:
        return matches(self.method, self.path, method, path, endpoint)


@dataclass
class Latency:
    seconds: float
    method: str = "*"
    path: str = "*"

    def matches(self, method: str, path: str, endpoint: str) -> bool:
        return matches(self.method, self.path, method, path, endpoint)


@dataclass
class UrlFault:
    error: str
    remaining: int | None  # None = permanent


@dataclass
class FaultPlan:
    http: list[HttpFault] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    urls: dict[str, UrlFault] = field(default_factory=dict)
    stall_jobs: int = 0  # the next N new upload jobs start stalled
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_http(self, fault: HttpFault) -> None:
        with self.lock:
            self.http.append(fault)

    def add_latency(self, latency: Latency) -> None:
        with self.lock:
            self.latency.append(latency)

    def add_stalls(self, count: int) -> None:
        with self.lock:
            self.stall_jobs += count

    def take_http(self, method: str, path: str, endpoint: str) -> HttpFault | None:
        """The first matching fault, consuming one of its uses."""
        with self.lock:
            for fault in self.http:
                if fault.remaining > 0 and fault.matches(method, path, endpoint):
                    fault.remaining -= 1
                    self.http = [f for f in self.http if f.remaining > 0]
                    return fault
        return None

    def delay_for(self, method: str, path: str, endpoint: str) -> float:
        with self.lock:
            return sum(x.seconds for x in self.latency if x.matches(method, path, endpoint))

    def fail_url(self, url: str, error: str, attempts: int | None) -> None:
        with self.lock:
            self.urls[url] = UrlFault(error=error, remaining=attempts)

    def url_error(self, url: str) -> str | None:
        """The injected error for this attempt at `url`, or None when it should succeed."""
        with self.lock:
            fault = self.urls.get(url)
            if fault is None:
                return None
            if fault.remaining is None:
                return fault.error
            if fault.remaining <= 0:
                del self.urls[url]
                return None
            fault.remaining -= 1
            return fault.error

    def take_stall(self) -> bool:
        with self.lock:
            if self.stall_jobs > 0:
                self.stall_jobs -= 1
                return True
            return False

    def clear(self) -> None:
        with self.lock:
            self.http.clear()
            self.latency.clear()
            self.urls.clear()
            self.stall_jobs = 0

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                "http": [asdict(f) for f in self.http],
                "latency": [asdict(x) for x in self.latency],
                "urls": {u: asdict(f) for u, f in self.urls.items()},
                "stallJobs": self.stall_jobs,
            }


@dataclass
class Counters:
    """Requests per endpoint ("METHOD /route/{template}" or "legacy <query_type>.<method>")."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, endpoint: str) -> None:
        with self.lock:
            self.counts[endpoint] += 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
