"""Turning what the fakes recorded into the figures people care about.

Staleness: for every token, the time from the model emitting it to the platform first
showing it. Everything here is plain arithmetic over recorded (time, text) pairs, shared
by the Slack, Discord and replica benchmarks.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

INDICATOR = "▌"


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def clean(text: str) -> str:
    """Visible text without the streaming indicator."""
    text = text.rstrip()
    if text.endswith(INDICATOR):
        text = text[: -len(INDICATOR)].rstrip()
    return text


def solid(text: str, *, placeholders: Sequence[str] = ()) -> str:
    """The answer text a message shows, without the mark and without whitespace.

    Whitespace is left out on both sides of the comparison (see `emissions_by_tag`):
    pages break at it and platforms trim it. A placeholder or a status line (italic,
    `_..._`) shows no answer text at all.
    """
    shown = clean(text)
    if shown in placeholders or shown.startswith("_"):
        return ""
    return "".join(shown.split())


def staleness(emitted: Sequence[tuple[float, int]], shown: Sequence[tuple[float, str]]) -> list[float]:
    """Per token: first time the shown text reached its cumulative length, minus emission.

    `emitted` is (time, non-whitespace characters of the answer after this token);
    `shown` is (time, `solid` visible text) in order. A token never shown counts as
    infinitely stale.
    """
    out: list[float] = []
    j = 0
    lengths = [(t, len(text)) for t, text in shown]
    for emitted_at, length in emitted:
        while j < len(lengths) and lengths[j][1] < length:
            j += 1
        out.append(lengths[j][0] - emitted_at if j < len(lengths) else float("inf"))
    return out


@dataclass
class Scenario:
    """One row of a benchmark table."""

    name: str
    streams: int
    to_placeholder: list[float] = field(default_factory=list)
    to_first_token: list[float] = field(default_factory=list)
    stale: list[float] = field(default_factory=list)
    edits: int = 0
    rate_limited: int = 0
    exact: int = 0
    unfinished: int = 0
    wall: float = 0.0
    notes: str = ""  # figures of this scenario only, printed under the table

    def row(self) -> str:
        finite = [s for s in self.stale if s != float("inf")]
        return (
            f"{self.name:<26}{self.streams:>5}"
            f"{_ms(statistics.median(self.to_placeholder) if self.to_placeholder else float('nan')):>11}"
            f"{_ms(statistics.median(self.to_first_token) if self.to_first_token else float('nan')):>11}"
            f"{_ms(percentile(finite, 0.5)):>10}{_ms(percentile(finite, 0.95)):>10}"
            f"{_ms(max(finite) if finite else float('nan')):>10}"
            f"{self.edits:>7}{self.rate_limited:>6}{f'{self.exact}/{self.streams}':>8}{self.unfinished:>6}"
            f"{self.wall:>8.1f}"
        )


HEADER = (
    f"{'scenario':<26}{'n':>5}{'placeh.':>11}{'1st tok':>11}{'st p50':>10}{'st p95':>10}"
    f"{'st max':>10}{'edits':>7}{'429':>6}{'exact':>8}{'left':>6}{'wall s':>8}"
)
LEGEND = (
    "placeh. = event -> placeholder visible (median); 1st tok = first token emitted -> visible "
    "(median);\nst = staleness per token (emitted -> visible); left = placeholders not finished."
)


def _ms(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "-"
    return f"{seconds * 1000:.0f}ms" if seconds < 10 else f"{seconds:.1f}s"


def print_table(title: str, rows: Iterable[Scenario]) -> None:
    print(f"\n{title}")
    print(HEADER)
    rows = list(rows)
    for row in rows:
        print(row.row())
    print(LEGEND)
    for row in rows:
        if row.notes:
            print(f"{row.name}: {row.notes}")


WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "rivers",
    "run",
    "to",
    "the",
    "sea",
]


def answer_tokens(tag: str, count: int) -> list[str]:
    """A scripted answer whose first token is `tag`, so its emissions can be traced."""
    return [f"{tag} "] + [f"{WORDS[i % len(WORDS)]} " for i in range(count - 2)] + ["end."]


def emissions_by_tag(emitted: Iterable[tuple[str, int, float, Any]]) -> dict[str, list[tuple[float, int]]]:
    """FakeOpenAI.emitted, grouped per answer tag: (emission time, non-whitespace
    characters so far), counted the way `solid` counts what is shown."""
    by_completion: dict[str, list[tuple[float, str]]] = {}
    for completion, _index, at, token in emitted:
        by_completion.setdefault(completion, []).append((at, token))
    out: dict[str, list[tuple[float, int]]] = {}
    for marks in by_completion.values():
        length = 0
        series = []
        for at, token in marks:
            length += len("".join(token.split()))
            series.append((at, length))
        out[marks[0][1].strip()] = series
    return out
