"""Prometheus metrics for `/metrics`, and the relay observer that feeds them.

A registry per process object (not prometheus-client's global one), so tests can build
as many as they like and nothing is registered at import.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


class Metrics:
    """The figures an operator watches: latency, throughput, pacing, failures."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.time_to_placeholder = Histogram(
            "trickle_time_to_placeholder_seconds", "Answer start to placeholder visible.",
            ["platform"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.time_to_first_token = Histogram(
            "trickle_time_to_first_token_seconds", "Answer start to the model's first text.",
            ["platform"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.tokens = Counter("trickle_tokens_total", "Text deltas streamed.", ["platform"], registry=r)
        self.edits = Counter("trickle_edits_total", "Posts and edits sent.", ["platform"], registry=r)
        self.rate_limited = Counter(
            "trickle_rate_limited_total", "429 answers received from a platform.", ["platform"], registry=r
        )
        self.errors = Counter(
            "trickle_errors_total", "Failures by kind.", ["platform", "kind"], registry=r
        )
        self.answers = Counter(
            "trickle_answers_total", "Answers finished, by how they ended.", ["platform", "end"], registry=r
        )
        self.active = Gauge("trickle_active_streams", "Answers streaming now.", ["platform"], registry=r)

    def observer(self, platform: str) -> AnswerMetrics:
        """A relay observer for one answer on `platform`."""
        return AnswerMetrics(self, platform)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class AnswerMetrics:
    """Feeds one answer's events into `Metrics`; counts it active until it ends."""

    __slots__ = ("_m", "_platform", "_ended")

    def __init__(self, metrics: Metrics, platform: str) -> None:
        self._m = metrics
        self._platform = platform
        self._ended = False
        metrics.active.labels(platform).inc()

    def placeholder(self, seconds: float) -> None:
        self._m.time_to_placeholder.labels(self._platform).observe(seconds)

    def first_token(self, seconds: float) -> None:
        self._m.time_to_first_token.labels(self._platform).observe(seconds)

    def tokens(self, count: int) -> None:
        self._m.tokens.labels(self._platform).inc(count)

    def edit(self) -> None:
        self._m.edits.labels(self._platform).inc()

    def rate_limited(self) -> None:
        self._m.rate_limited.labels(self._platform).inc()

    def surface_error(self, code: str) -> None:
        self._m.errors.labels(self._platform, code).inc()

    def ended(self, end: str) -> None:
        if not self._ended:
            self._ended = True
            self._m.active.labels(self._platform).dec()
            self._m.answers.labels(self._platform, end).inc()
            if end in ("error", "timeout"):
                self._m.errors.labels(self._platform, f"model_{end}").inc()
