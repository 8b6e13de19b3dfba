"""Prometheus metrics for `/metrics`, and the relay observer that feeds them.

A registry per process object (not prometheus-client's global one), so tests can build
as many as they like and nothing is registered at import. Budgets are not pushed on every
grant: `watch_budgets` hands over a way to list them, read only when Prometheus scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.observer import WriteKind
from core.pacing.budget import Budget

_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
# From "shown at the next edit" (a few hundred ms) to "a final queued behind fifty others".
_STALENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60)

BudgetSource = Callable[[], Iterable[tuple[str, Budget]]]
"""Lists a platform's live budgets with their kind (`chat.update`, `channel`, ...)."""


class Metrics:
    """The figures an operator watches: latency, throughput, pacing, failures."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.time_to_placeholder = Histogram(
            "trickle_time_to_placeholder_seconds",
            "Answer start to placeholder visible.",
            ["platform"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.time_to_first_token = Histogram(
            "trickle_time_to_first_token_seconds",
            "Answer start to the model's first text.",
            ["platform"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("trickle_tokens_total", "Text deltas streamed.", ["platform"], registry=r)
        self.edits = Counter(
            "trickle_edits_total",
            "Posts and edits of answer text sent (interim, final, page writes).",
            ["platform"],
            registry=r,
        )
        self.writes = Counter(
            "trickle_writes_total",
            "Writes that went through, by what they were for.",
            ["platform", "kind"],
            registry=r,
        )
        self.staleness = Histogram(
            "trickle_token_staleness_seconds",
            "Model emitting a text delta to the platform showing it, per delta.",
            ["platform"],
            buckets=_STALENESS_BUCKETS,
            registry=r,
        )
        self.rate_limited = Counter(
            "trickle_rate_limited_total", "429 answers received from a platform.", ["platform"], registry=r
        )
        self.errors = Counter("trickle_errors_total", "Failures by kind.", ["platform", "kind"], registry=r)
        self.answers = Counter(
            "trickle_answers_total", "Answers finished, by how they ended.", ["platform", "end"], registry=r
        )
        self.feedback = Counter(
            "trickle_feedback_total", "Thumbs up or down on final answers.", ["platform", "verdict"], registry=r
        )
        # The model's tokens as billed (`core/team/usage.py`). No person or channel label: those
        # would grow a series per channel ever answered; the usage report has them.
        self.model_tokens_counted = Counter(
            "trickle_model_tokens_total",
            "Model tokens counted per answer, as reported by the endpoint or estimated.",
            ["platform", "kind", "source"],
            registry=r,
        )
        self.denials = Counter(
            "trickle_denied_total",
            "Questions refused by the access lists, by the kind of rule.",
            ["platform", "why"],
            registry=r,
        )
        self.active = Gauge("trickle_active_streams", "Answers streaming now.", ["platform"], registry=r)
        self._budgets = BudgetCollector()
        r.register(self._budgets)

    def observer(self, platform: str) -> AnswerMetrics:
        """A relay observer for one answer on `platform`."""
        return AnswerMetrics(self, platform)

    def wrote(self, platform: str, kind: WriteKind) -> None:
        """Count a write made outside an answer (an adapter's hint or refusal)."""
        self.writes.labels(platform, kind.value).inc()

    def rated(self, platform: str, verdict: str) -> None:
        """Count one click on an answer's feedback buttons (`good` or `bad`)."""
        self.feedback.labels(platform, "good" if verdict == "good" else "bad").inc()

    def model_tokens(self, platform: str, kind: str, source: str, count: int) -> None:
        """Count `count` model tokens (`core.team.usage.UsageMeter`); labels kept to their sets."""
        kind = kind if kind in ("prompt", "completion") else "other"
        source = source if source in ("reported", "estimated") else "other"
        self.model_tokens_counted.labels(platform, kind, source).inc(max(0, count))

    def denied(self, platform: str, why: object) -> None:
        """Count one question refused by `core.team.access` (`why`: a `Denial` or its value)."""
        label = str(getattr(why, "value", why))
        self.denials.labels(platform, label if label in ("user", "channel", "role", "dm") else "other").inc()

    def watch_budgets(self, platform: str, source: BudgetSource) -> None:
        """Report `platform`'s budgets at every scrape (replacing an earlier source)."""
        self._budgets.sources[platform] = source

    def render(self) -> bytes:
        return generate_latest(self.registry)


class AnswerMetrics:
    """Feeds one answer's events into `Metrics`; counts it active until it ends."""

    __slots__ = ("_m", "_platform", "_ended", "_staleness")

    def __init__(self, metrics: Metrics, platform: str) -> None:
        self._m = metrics
        self._platform = platform
        self._ended = False
        # Looked up once: `text_shown` runs for every delta of every answer.
        self._staleness = metrics.staleness.labels(platform)
        metrics.active.labels(platform).inc()

    def placeholder(self, seconds: float) -> None:
        self._m.time_to_placeholder.labels(self._platform).observe(seconds)

    def first_token(self, seconds: float) -> None:
        self._m.time_to_first_token.labels(self._platform).observe(seconds)

    def tokens(self, count: int) -> None:
        self._m.tokens.labels(self._platform).inc(count)

    def edit(self) -> None:
        self._m.edits.labels(self._platform).inc()

    def wrote(self, kind: WriteKind) -> None:
        self._m.writes.labels(self._platform, kind.value).inc()

    def text_shown(self, seconds: float) -> None:
        self._staleness.observe(max(0.0, seconds))

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


class BudgetCollector(Collector):
    """The platforms' live budgets, one series per platform and kind of budget.

    Why aggregated: budgets exist per workspace, channel and interaction token, so a
    series each would grow with every channel the bot ever wrote in. Per kind, the queue
    is the sum over scopes (every write waiting), and the tokens are the minimum (the
    scarcest scope: 0 means some channel or workspace is out of budget right now, which
    a sum over thousands of idle, full channels would hide). `trickle_budget_scopes`
    says over how many scopes that was taken.
    """

    def __init__(self) -> None:
        self.sources: dict[str, BudgetSource] = {}

    def __repr__(self) -> str:
        return f"<BudgetCollector platforms={sorted(self.sources)}>"

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        tokens, queue, scopes = self._families()
        for platform, source in list(self.sources.items()):
            least: dict[str, float] = {}
            waiting: dict[str, int] = {}
            count: dict[str, int] = {}
            for kind, budget in source():
                level = budget.level()
                least[kind] = min(least.get(kind, level.tokens), level.tokens)
                waiting[kind] = waiting.get(kind, 0) + level.waiting
                count[kind] = count.get(kind, 0) + 1
            for kind in sorted(count):
                tokens.add_metric([platform, kind], least[kind])
                queue.add_metric([platform, kind], waiting[kind])
                scopes.add_metric([platform, kind], count[kind])
        return iter((tokens, queue, scopes))

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        labels = ["platform", "budget"]
        return (
            GaugeMetricFamily(
                "trickle_budget_tokens", "Tokens left in the scarcest scope of each budget kind.", labels=labels
            ),
            GaugeMetricFamily(
                "trickle_budget_queue", "Platform calls waiting for a budget, summed over scopes.", labels=labels
            ),
            GaugeMetricFamily(
                "trickle_budget_scopes", "Scopes (workspaces, channels...) with a budget.", labels=labels
            ),
        )
