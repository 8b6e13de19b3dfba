"""The real relay run against the simulated platforms, and the floors beside it.

The relay is `core.relay.answer.Answer` with `RelayConfig()` defaults, unchanged: only the
platforms and the clock are simulated. It runs on a virtual clock
(`benchmarks.virtual_time`), so a whole run takes well under a second, and it is
deterministic, so one run per scenario is enough. Its staleness is read twice, from what
it reports (`text_shown`) and off the messages' own history, so a wrong report shows.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from benchmarks.floor.bound import OwnRules
from benchmarks.floor.limits import allowances, platform_limits, trickle_limits
from benchmarks.floor.platforms import Message
from benchmarks.floor.proof import floor_p95
from benchmarks.floor.surfaces import Surface, world
from benchmarks.floor.workload import QUANTILE, Workload, model, quantile
from benchmarks.virtual_time import run_virtual
from core.observer import NullObserver
from core.relay.answer import Answer
from core.relay.config import RelayConfig

PLATFORMS = ("slack-edit", "slack-native", "discord-mentions")
HOLD = 1.5
"""Seconds: trickle's placeholder promise as the floor takes it. Every message opens no
later than HOLD after its opening limit allows it (the k-th of a channel by
`earliest(k) + HOLD`), as `benchmarks.floor.search --hold` has it; the relay's own
lateness is measured (`RelayRun.opening_lateness`) and must stay within it."""


class Seen(NullObserver):
    """One answer's staleness per delta, as the relay reports it (`text_shown`), and the
    platform calls it saw fail (a timeout while a write waits for its budget counts)."""

    def __init__(self) -> None:
        self.stale: list[float] = []
        self.failures: Counter[str] = Counter()

    def text_shown(self, seconds: float) -> None:
        self.stale.append(seconds)

    def surface_error(self, code: str) -> None:
        self.failures[code] += 1


@dataclass(frozen=True, slots=True)
class Scenario:
    """K answers asked at the same instant, round robin over `channels` channels of one
    Slack workspace (one chat.update budget) or one Discord server (a window each)."""

    platform: str
    answers: int
    channels: int

    @property
    def name(self) -> str:
        return f"{self.platform}-k{self.answers}-{self.channels}ch"

    def layout(self) -> list[int]:
        """Each answer's channel: round robin."""
        return [k % self.channels for k in range(self.answers)]


@dataclass(slots=True)
class RelayRun:
    """What the relay achieved in one scenario."""

    stale: list[float]
    first: list[float]
    exact: int
    answers: int
    refused: int
    errors: list[str]
    failures: Counter[str]
    visible: list[float]  # the same staleness, read off the platform's messages instead
    opening_lateness: float  # the most any message opened after its limit allowed it
    simulated: float
    wall: float

    @property
    def p95(self) -> float:
        return quantile(self.stale, QUANTILE)


def visible_staleness(pages: Sequence[Message], workload: Workload, asked: float) -> list[float]:
    """Per token, when the platform first showed all of it, minus its emission.

    Computed from the messages alone, as a check on what the relay reports through
    `text_shown`; a page starts where the pages before it ended (their final texts).
    """
    out: list[float] = []
    start = 0
    page = 0
    end = 0
    for index in range(workload.tokens):
        end += len(workload.token(index))
        while page < len(pages) and start + len(pages[page].text) < end:
            start += len(pages[page].text)
            page += 1
        if page == len(pages):
            out.append(math.inf)
            continue
        at = next((t for t, chars in pages[page].history if start + chars >= end), math.inf)
        out.append(at - (asked + workload.emitted_at(index)))
    return out


def _person_keyword() -> bool:
    return "person" in inspect.signature(Answer.__init__).parameters


async def _relay(scenario: Scenario, workload: Workload) -> RelayRun:
    loop = asyncio.get_running_loop()
    asked = loop.time()
    site, surface_in = world(scenario.platform)
    person = _person_keyword()
    runs: list[tuple[Answer[Message], Surface, Seen]] = []
    for k, channel in enumerate(scenario.layout()):
        surface = surface_in(channel)
        seen = Seen()
        extra = {"person": f"person-{k}"} if person else {}
        answer: Answer[Message] = Answer(
            surface, model(workload, asked), config=RelayConfig(), answer_id=f"a{k}", observer=seen, **extra
        )
        runs.append((answer, surface, seen))
    await asyncio.gather(*(answer.run() for answer, _, _ in runs))
    expected = workload.text()
    exact = sum(
        all(page.final for page in surface.pages) and "".join(p.text for p in surface.pages) == expected
        for _, surface, _ in runs
    )
    stale = [s for _, _, seen in runs for s in seen.stale]
    missing = sum(workload.tokens - len(seen.stale) for _, _, seen in runs)
    stale += [math.inf] * max(0, missing)  # a token never shown is infinitely stale
    return RelayRun(
        stale=stale,
        first=[seen.stale[0] if seen.stale else math.inf for _, _, seen in runs],
        exact=exact,
        answers=len(runs),
        refused=sum(site.refused.values()),
        errors=list(site.errors),
        failures=sum((seen.failures for _, _, seen in runs), Counter()),
        visible=[s for _, surface, _ in runs for s in visible_staleness(surface.pages, workload, asked)],
        opening_lateness=_opening_lateness(
            scenario, [surface.pages[0].history[0][0] - asked for _, surface, _ in runs]
        ),
        simulated=loop.time() - asked,
        wall=0.0,
    )


def run_relay(scenario: Scenario, workload: Workload | None = None) -> RelayRun:
    """Run the real relay for `scenario` on a virtual clock."""
    started = time.perf_counter()
    result = run_virtual(_relay(scenario, workload or Workload()))
    result.wall = time.perf_counter() - started
    return result


def _opening_lateness(scenario: Scenario, opened: Sequence[float]) -> float:
    """How long after its opening limit (trickle's) allowed it the latest message opened:
    the k-th to open on a limit against that limit's `earliest(k)`."""
    late = 0.0
    for allowance in allowances(scenario.platform, scenario.layout(), trickle_limits()):
        if allowance.opens:
            times = sorted(opened[i] for i in allowance.members)
            shape = allowance.opening_shape
            late = max(late, *(at - shape.earliest(k) for k, at in enumerate(times, start=1)))
    return late


@dataclass(frozen=True, slots=True)
class Floors:
    """One scenario's floors: under trickle's limits and its edit interval, the same
    keeping the placeholder promise (`HOLD`), and under the platform's limits alone."""

    trickle: float
    promise: float
    platform: float


def floors(scenario: Scenario, workload: Workload | None = None) -> Floors:
    """The scenario's floors (see `Floors`)."""
    answers = [workload or Workload()] * scenario.answers
    layout = scenario.layout()
    trickle = allowances(scenario.platform, layout, trickle_limits())
    interval = RelayConfig().interval
    return Floors(
        trickle=floor_p95(answers, trickle, rules=OwnRules(interval=interval)),
        promise=floor_p95(answers, trickle, rules=OwnRules(hold=HOLD, interval=interval)),
        platform=floor_p95(answers, allowances(scenario.platform, layout, platform_limits())),
    )


def scenarios(*, quick: bool = False, only: Iterable[str] = ()) -> list[Scenario]:
    """Every platform at K = 1, 10 and (unless `quick`) 50, in one channel and, past one
    answer, spread over ten; `only` keeps the names that contain any of its substrings."""
    wanted = list(only)
    out = []
    for platform in PLATFORMS:
        for k in (1, 10) if quick else (1, 10, 50):
            for channels in (1,) if k == 1 else (1, 10):
                scenario = Scenario(platform, k, channels)
                if not wanted or any(w in scenario.name for w in wanted):
                    out.append(scenario)
    return out
