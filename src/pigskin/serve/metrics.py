"""Prometheus counters, gauges and histograms in the text exposition format, by hand.

Four metric kinds in a few lines are cheaper than a dependency. Each worker process keeps its own
numbers (Prometheus' usual model for a pre-fork server: scrape, or sum over, each worker); a scrape
of ``/metrics`` says which worker answered with the ``pid`` label on ``pigskin_up``.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import defaultdict

# seconds: from a tiny CPU model on a thumbnail up to SageMaker's 60 s limit
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = (*labels, *extra)
    if not items:
        return ""

    def escape(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in items) + "}"


class Metrics:
    """Thread-safe; names are declared once with their help text and kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[Labels, float]] = defaultdict(dict)
        # per histogram and labels: the count in each bucket (+Inf last), then sum, then count
        self._hist: dict[str, dict[Labels, list[float]]] = defaultdict(dict)

    def declare(self, name: str, kind: str, help_text: str) -> None:
        self._help[name] = (kind, help_text)

    def inc(self, name: str, labels: Labels = (), amount: float = 1.0) -> None:
        with self._lock:
            self._values[name][labels] = self._values[name].get(labels, 0.0) + amount

    def set(self, name: str, value: float, labels: Labels = ()) -> None:
        with self._lock:
            self._values[name][labels] = float(value)

    def observe(self, name: str, seconds: float, labels: Labels = ()) -> None:
        with self._lock:
            row = self._hist[name].setdefault(labels, [0.0] * (len(BUCKETS) + 3))
            row[bisect.bisect_left(BUCKETS, seconds)] += 1  # the first bucket with le >= seconds
            row[-2] += seconds
            row[-1] += 1

    def value(self, name: str, labels: Labels = ()) -> float:
        with self._lock:
            return self._values[name].get(labels, 0.0)

    def render(self) -> str:
        lines = []
        with self._lock:
            for name, (kind, help_text) in self._help.items():
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
                if kind == "histogram":
                    for labels, row in sorted(self._hist[name].items()):
                        running = 0.0
                        edges = (*map(str, BUCKETS), "+Inf")
                        for le, count in zip(edges, row[: len(BUCKETS) + 1], strict=True):
                            running += count
                            lines.append(f"{name}_bucket{_labels(labels, (('le', le),))} {running:g}")
                        lines.append(f"{name}_sum{_labels(labels)} {row[-2]:.6f}")
                        lines.append(f"{name}_count{_labels(labels)} {row[-1]:g}")
                else:
                    for labels, v in sorted(self._values[name].items()):
                        lines.append(f"{name}{_labels(labels)} {v:g}")
        return "\n".join(lines) + "\n"


def server_metrics() -> Metrics:
    m = Metrics()
    m.declare("pigskin_up", "gauge", "1 when this worker has its model loaded, else 0")
    m.declare("pigskin_requests_total", "counter", "HTTP requests by route and status code")
    m.declare("pigskin_request_duration_seconds", "histogram", "time from request to response, by route")
    m.declare("pigskin_inference_duration_seconds", "histogram", "time in the backend's predict per request")
    m.declare("pigskin_images_total", "counter", "images run through the model")
    m.declare("pigskin_inflight_requests", "gauge", "requests waiting for or in inference")
    m.declare("pigskin_model_load_seconds", "gauge", "seconds the model took to load (and warm up)")
    m.set("pigskin_up", 0, (("pid", str(os.getpid())),))
    return m
