"""Prometheus text-format metrics named like TGI's (tgi_request_count, tgi_queue_size, ...).

Written by hand to keep the image free of extra dependencies.
"""

from __future__ import annotations

import threading
from collections import defaultdict

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TOKEN_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]):
        self.name, self.help, self.buckets = name, help_text, buckets
        self.counts = [0] * len(buckets)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for bound, count in zip(self.buckets, self.counts, strict=True):
            lines.append(f'{self.name}_bucket{{le="{bound}"}} {count}')
        lines.append(f'{self.name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{self.name}_sum {self.total}")
        lines.append(f"{self.name}_count {self.count}")
        return lines


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.request_count = 0
        self.request_success = 0
        self.request_failure: dict[str, int] = defaultdict(int)
        self.queue_size = 0
        self.batch_current_size = 0
        self.histograms = {
            h.name: h
            for h in (
                Histogram("tgi_request_duration", "End-to-end request time (s)", DURATION_BUCKETS),
                Histogram("tgi_request_queue_duration", "Time spent queued (s)", DURATION_BUCKETS),
                Histogram(
                    "tgi_request_inference_duration", "Time spent generating (s)", DURATION_BUCKETS
                ),
                Histogram(
                    "tgi_request_mean_time_per_token_duration",
                    "Mean time per generated token (s)",
                    DURATION_BUCKETS,
                ),
                Histogram("tgi_request_input_length", "Prompt length (tokens)", TOKEN_BUCKETS),
                Histogram(
                    "tgi_request_generated_tokens", "Generated tokens per request", TOKEN_BUCKETS
                ),
            )
        }

    def observe(self, name: str, value: float) -> None:
        with self._lock:
            self.histograms[name].observe(value)

    def failure(self, err: str) -> None:
        with self._lock:
            self.request_failure[err] += 1

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP tgi_request_count Requests received",
                "# TYPE tgi_request_count counter",
                f"tgi_request_count {self.request_count}",
                "# HELP tgi_request_success Requests answered successfully",
                "# TYPE tgi_request_success counter",
                f"tgi_request_success {self.request_success}",
                "# HELP tgi_request_failure Failed requests by error type",
                "# TYPE tgi_request_failure counter",
            ]
            for err in sorted(self.request_failure):
                lines.append(f'tgi_request_failure{{err="{err}"}} {self.request_failure[err]}')
            lines += [
                "# HELP tgi_queue_size Requests waiting for a generation slot",
                "# TYPE tgi_queue_size gauge",
                f"tgi_queue_size {self.queue_size}",
                "# HELP tgi_batch_current_size Requests being generated now",
                "# TYPE tgi_batch_current_size gauge",
                f"tgi_batch_current_size {self.batch_current_size}",
            ]
            for hist in self.histograms.values():
                lines += hist.render()
        return "\n".join(lines) + "\n"
