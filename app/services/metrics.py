"""Prometheus metrics, served at GET /metrics.

Every label has a small, fixed set of values: route templates (not raw paths), methods, status
codes, stage and task names. Model names never become labels: clients choose them, and a label per
name would let any client grow the server's memory and the scraper's storage without bound.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from app.domain.models import TranscriptionResult
from app.domain.ports.stages import StageListing
from app.services.admission import Admission

UNMATCHED_ROUTE = "unmatched"  # 404s for unknown paths: one label value, whatever was asked
OTHER_METHOD = "OTHER"  # made-up methods (`XYZZY`): one label value, whatever was sent
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_RATIOS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5)


class _LoadedModels(Collector):
    """How many models each stage holds in memory, read when scraped."""

    def __init__(self, stages: Mapping[str, StageListing]) -> None:
        self.stages = stages

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "whisperx_loaded_models", "Models loaded in memory, per pipeline stage.", labels=["stage"]
        )
        for name, stage in self.stages.items():
            family.add_metric([name], len(stage.store.loaded()))
        yield family


class _CancelledRequests(Collector):
    """Requests whose client hung up, counted by admission: dropped while queued, or stopped while running."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "whisperx_requests_cancelled",
            "Requests whose client hung up before the "
            "answer: dropped while queued, or their work stopped while running.",
            labels=["while"],
        )
        for state, count in self.admission.cancelled.items():
            family.add_metric([state], count)
        yield family


class Metrics:
    """One registry per app, so apps built side by side (tests) do not share counters."""

    def __init__(self, admission: Admission, stages: Mapping[str, StageListing]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "whisperx_http_requests",
            "HTTP requests answered, by route template and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "whisperx_http_request_duration_seconds",
            "Time to answer a request.",
            ["route"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "whisperx_stage_duration_seconds",
            "Time spent per pipeline stage.",
            ["stage"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.audio_seconds = Counter(
            "whisperx_audio_processed_seconds", "Seconds of audio processed.", ["task"], registry=self.registry
        )
        self.real_time_factor = Histogram(
            "whisperx_real_time_factor",
            "Processing time divided by audio duration (below 1 is faster than real time).",
            ["task"],
            buckets=_RATIOS,
            registry=self.registry,
        )
        running = Gauge(
            "whisperx_transcriptions_running", "Transcriptions holding an inference slot.", registry=self.registry
        )
        running.set_function(lambda: admission.running)
        queued = Gauge(
            "whisperx_queue_depth", "Admitted requests waiting for an inference slot.", registry=self.registry
        )
        queued.set_function(lambda: admission.waiting)
        self.registry.register(_LoadedModels(stages))
        self.registry.register(_CancelledRequests(admission))

    def observe_request(self, route: str | None, method: str, status: int, seconds: float) -> None:
        route = route or UNMATCHED_ROUTE
        method = method if method in _METHODS else OTHER_METHOD
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)

    def observe_result(self, result: TranscriptionResult) -> None:
        timings, transcript = result.timings, result.transcript
        stages = {
            "decode": timings.decode,
            "transcribe": timings.transcribe,
            "align": timings.align,
            "diarize": timings.diarize,
        }
        for stage, seconds in stages.items():
            if seconds > 0:
                self.stage_seconds.labels(stage).observe(seconds)
        task = transcript.task.value
        self.audio_seconds.labels(task).inc(transcript.duration)
        if transcript.duration > 0:
            self.real_time_factor.labels(task).observe(sum(stages.values()) / transcript.duration)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
