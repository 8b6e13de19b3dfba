"""Who spends the operator's tokens: prompt and completion tokens per person and channel.

Each answer that reached the model is counted once, after its final text is written:
with the endpoint's own `Usage` when it sent one (`stream_options.include_usage`), else
estimated the way the context is measured (`core.conversation.history.estimate_tokens`: cautious, so
estimates run high). Answers that never reached the model, or got nothing back from it,
count nothing.

Counts go to the state store in daily (UTC) counters, one per day, place, person and
kind, kept `RETENTION_DAYS`: `StateStore.incr` is atomic, so replicas on Redis add up
together. A report reads them back with one scan. The store holds no text, only ids and
numbers; the Prometheus counter (`UsageMeter`) carries only bounded labels (platform,
kind, source), never a person or a channel.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote

from core.conversation.history import MESSAGE_OVERHEAD, estimate_tokens
from core.models import ChatMessage, Usage
from core.state.store import StateStore

log = logging.getLogger("trickle.usage")

RETENTION_DAYS = 35  # a 30-day report, and a few days' grace for a late reader
KINDS = ("prompt", "completion")
_DAY = 86_400.0


class UsageMeter(Protocol):
    """Where counted tokens are also reported as a metric (`bots.metrics.Metrics`)."""

    def model_tokens(self, platform: str, kind: str, source: str, count: int) -> None:
        """`count` more tokens of `kind` (`prompt`/`completion`), `source` `reported` or `estimated`."""


@dataclass(frozen=True, slots=True)
class Counted:
    """One answer's tokens, and whether the endpoint said so (`reported`) or trickle
    guessed (`estimated`)."""

    prompt: int
    completion: int
    source: str


def count_answer(usage: Usage | None, sent: Sequence[ChatMessage] | None, text: str) -> Counted | None:
    """What one answer cost: the endpoint's report, else an estimate from the messages
    sent and the text received; None when nothing reached the model (`sent` None) or the
    model wrote nothing and reported nothing (a refused or failed call).

    Images are not estimated (their cost depends on the model's own tiling); an endpoint
    that reports usage counts them.
    """
    if usage is not None:
        return Counted(max(0, usage.prompt_tokens), max(0, usage.completion_tokens), "reported")
    if sent is None or not text:
        return None
    prompt = sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD for m in sent)
    return Counted(prompt, estimate_tokens(text), "estimated")


def platform_of(place: str) -> str:
    """`slack:C123` -> `slack`; a place without a channel part (`playground`) is its platform."""
    return place.partition(":")[0] or "other"


@dataclass(frozen=True, slots=True)
class Total:
    """Tokens of one channel (`name` = its place) or one person (`name` = their id on
    `platform`) over the report's days."""

    name: str
    platform: str
    prompt: int = 0
    completion: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt + self.completion


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Totals over `days` days up to `until` (UTC dates, both included), heaviest first."""

    since: dt.date
    until: dt.date
    platform: str | None
    channels: list[Total]
    people: list[Total]
    prompt: int
    completion: int

    @property
    def tokens(self) -> int:
        return self.prompt + self.completion


class UsageLedger:
    """Writes each answer's tokens into daily counters, and reads them back as a report.

    Holds only the store, the meter and the clock: the counters themselves live in the
    store, so every replica's ledger adds to and reports the same numbers.
    """

    __slots__ = ("_state", "meter", "_clock", "_retention")

    def __init__(
        self,
        state: StateStore,
        *,
        meter: UsageMeter | None = None,
        clock: Callable[[], float] = time.time,
        retention_days: int = RETENTION_DAYS,
    ) -> None:
        self._state = state
        self.meter = meter
        self._clock = clock  # wall time: days are calendar days, not uptime
        self._retention = retention_days

    def __repr__(self) -> str:
        return f"<UsageLedger keep={self._retention}d state={self._state!r}>"

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()

    async def record(self, *, place: str, person: str, counted: Counted) -> None:
        """Add one answer's tokens to today's counters of `place` and `person`."""
        platform = platform_of(place)
        if self.meter is not None:
            for kind, count in zip(KINDS, (counted.prompt, counted.completion), strict=False):
                if count:
                    self.meter.model_tokens(platform, kind, counted.source, count)
        day = self.today().isoformat()
        ttl = self._retention * _DAY
        for kind, count in zip(KINDS, (counted.prompt, counted.completion), strict=False):
            if count:
                await self._state.incr(_key(day, place or platform, person, kind), count, ttl)

    async def report(self, *, days: int = 30, platform: str | None = None) -> UsageReport:
        """Per-channel and per-person totals of the last `days` days (today included),
        on one platform or all; heaviest first. `days` is capped at the retention."""
        days = max(1, min(days, self._retention))
        until = self.today()
        since = until - dt.timedelta(days=days - 1)
        first = since.isoformat()
        channels: dict[str, list[int]] = {}
        people: dict[tuple[str, str], list[int]] = {}
        for key, value in (await self._state.scan("usage:*")).items():
            parsed = _parse(key)
            if parsed is None or parsed[0] < first or parsed[0] > until.isoformat():
                continue
            _, place, person, kind = parsed
            where = platform_of(place)
            if platform is not None and where != platform:
                continue
            try:
                count = int(value)
            except ValueError:
                continue
            slot = KINDS.index(kind)
            channels.setdefault(place, [0, 0])[slot] += count
            people.setdefault((where, person), [0, 0])[slot] += count
        return UsageReport(
            since=since,
            until=until,
            platform=platform,
            channels=_ranked(Total(p, platform_of(p), *c) for p, c in channels.items()),
            people=_ranked(Total(who, where, *c) for (where, who), c in people.items()),
            prompt=sum(c[0] for c in channels.values()),
            completion=sum(c[1] for c in channels.values()),
        )


def format_report(
    report: UsageReport,
    *,
    top: int = 10,
    channel_name: Callable[[Total], str] = lambda t: t.name,
    person_name: Callable[[Total], str] = lambda t: t.name,
) -> str:
    """A compact monospace table for an admin command: totals, then the `top` channels
    and people. Adapters pass `channel_name`/`person_name` to show names instead of ids
    (and wrap the text in a code block, where their markup would otherwise reflow it)."""
    where = f" on {report.platform}" if report.platform else ""
    lines = [
        f"Tokens {report.since.isoformat()} to {report.until.isoformat()}{where}: "
        f"{report.tokens:,} ({report.prompt:,} prompt, {report.completion:,} completion)",
    ]
    if not report.tokens:
        return lines[0] + "\nNothing counted yet."
    for title, totals, name in (
        ("channel", report.channels, channel_name),
        ("person", report.people, person_name),
    ):
        rows = [(title, "total", "prompt", "completion")]
        rows += [(_cut(name(t)), f"{t.tokens:,}", f"{t.prompt:,}", f"{t.completion:,}") for t in totals[:top]]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines.append("")
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=False)]
            lines.append("  ".join(cells))
        if len(totals) > top:
            lines.append(f"… and {len(totals) - top} more")
    return "\n".join(lines)


def _key(day: str, place: str, person: str, kind: str) -> str:
    """`usage:{day}:{place}:{person}:{kind}`, each part quoted so that a `:` or a glob
    character in an id can neither split the key nor widen a scan."""
    return f"usage:{day}:{quote(place, safe='')}:{quote(person, safe='')}:{kind}"


def _parse(key: str) -> tuple[str, str, str, str] | None:
    parts = key.split(":")
    if len(parts) != 5 or parts[0] != "usage" or parts[4] not in KINDS:
        return None
    return parts[1], unquote(parts[2]), unquote(parts[3]), parts[4]


def _ranked(totals: Iterable[Total]) -> list[Total]:
    return sorted(totals, key=lambda t: (-t.tokens, t.platform, t.name))


def _cut(name: str, limit: int = 32) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
