"""One person's forty questions against another's one, on the same budgets.

The issue's fairness scenario: one person has 40 answers streaming over ten channels of
one workspace (or server) when another person, a second later, asks once in the first of
them. What that other person sees is what fairness is for: how soon their answer's first
words appear after they asked, and how long after the model's last token their final
text is shown. Everyone's answers must still end exact.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from benchmarks.floor.run import Seen
from benchmarks.floor.surfaces import world
from benchmarks.floor.workload import Workload, model
from benchmarks.virtual_time import run_virtual
from core.relay.answer import Answer
from core.relay.config import RelayConfig

BUSY = 40  # the first person's answers, all streaming at once
CHANNELS = 10
LATER = 1.0  # seconds after them that the other person asks


@dataclass(frozen=True, slots=True)
class Fairness:
    """What the other person saw, and whether every answer ended exact."""

    platform: str
    first_visible: float  # asking -> their first token on screen
    final_after_last: float  # the model's last token -> their final text on screen
    exact: int
    answers: int
    refused: int


async def _fairness(platform: str, workload: Workload) -> Fairness:
    loop = asyncio.get_running_loop()
    site, surface_in = world(platform)
    start = loop.time()
    busy = []
    for k in range(BUSY):
        surface = surface_in(k % CHANNELS)
        answer: Answer = Answer(
            surface, model(workload, start), config=RelayConfig(), answer_id=f"busy{k}", observer=Seen(), person="busy"
        )
        busy.append((surface, asyncio.create_task(answer.run())))
    await asyncio.sleep(LATER)
    asked = loop.time()
    surface = surface_in(0)
    seen = Seen()
    other: Answer = Answer(
        surface, model(workload, asked), config=RelayConfig(), answer_id="other", observer=seen, person="other"
    )
    await other.run()
    await asyncio.gather(*(task for _, task in busy))
    expected = workload.text()
    surfaces = [s for s, _ in busy] + [surface]
    exact = sum(all(page.final for page in s.pages) and "".join(p.text for p in s.pages) == expected for s in surfaces)
    return Fairness(
        platform=platform,
        first_visible=workload.first + seen.stale[0],
        final_after_last=seen.stale[-1],
        exact=exact,
        answers=len(surfaces),
        refused=sum(site.refused.values()),
    )


def run_fairness(platform: str, workload: Workload | None = None) -> Fairness:
    """The scenario on `platform`, on a virtual clock."""
    return run_virtual(_fairness(platform, workload or Workload()))
