"""What the adapters share, built once per process by `bots/services.py`.

Its own module so that the adapters can name it without importing the service that
imports them (that loop was held together by lazy imports).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from bots.metrics import Metrics
from bots.settings import Settings
from core.assistant import Assistant
from core.sources.base import CompletionSource
from core.state.inflight import Finalizer, Inflight
from core.state.store import StateStore
from core.team.channel_prefs import ChannelPrefs
from core.team.usage import UsageLedger


@dataclass(slots=True)
class ServiceContext:
    """What every adapter gets: settings, the assistant, shared state, the HTTP app.

    Shutdown has two moments: `stopping` (take no new events) and `drained` (every
    answer's task has ended, see `Assistant.drain`): only then may an adapter close the
    connections those answers were writing through.
    """

    settings: Settings
    assistant: Assistant
    state: StateStore
    metrics: Metrics
    stopping: asyncio.Event
    web_app: web.Application
    args: argparse.Namespace | None = None
    platforms: list[str] = field(default_factory=list)
    finalizers: dict[str, Finalizer] = field(default_factory=dict)
    """Adapters register how to finish an orphaned message of their platform."""
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    async def shut_down(self, deadline: float | None = None) -> None:
        """Take no new events, finish or interrupt every answer within `deadline` s
        (TRICKLE_SHUTDOWN_TIMEOUT), then let the adapters close their connections."""
        self.stopping.set()
        await self.assistant.drain(self.settings.shutdown_timeout if deadline is None else deadline)
        self.drained.set()


def build_assistant(
    settings: Settings,
    source: CompletionSource,
    state: StateStore,
    metrics: Metrics,
    *,
    inflight: Inflight | None = None,
) -> Assistant:
    """The assistant with what it shares through the state store: each channel's own
    model and prompt (set with `/trickle` or `/model`), and the usage ledger."""
    return Assistant(
        source=source,
        settings=settings,
        inflight=inflight,
        prefs=ChannelPrefs(state, settings),
        usage=UsageLedger(state, meter=metrics),
    )
