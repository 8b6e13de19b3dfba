"""Finishing Slack messages that a crashed trickle process left streaming.

`core.state.inflight` notices answers whose process died mid-stream and hands each one's last
shown text (plus an "interrupted" notice) to the platform's finalizer, once. Here that
becomes one `chat.update` drawn from the workspace's edit budget, like any final edit,
so a restart after a crash does not burst past Slack's limit.

Whoever finishes an answer also undoes what it set up, as its own process would have:
the final version carries no Stop button, a native stream is stopped first (Slack refuses
`chat.update` on a live one), and the thread's "is thinking…" status is cleared (Slack
clears it on a reply, not on an edit, so an answer that died before its first words
would keep it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bots.slack import messages
from bots.slack.budgets import SlackBudgets
from bots.slack.errors import call_slack
from bots.slack.status import StatusSupport, set_status
from core.pacing.budget import Budget
from core.relay.calls import paced
from core.surface import RateLimited, SurfaceError

log = logging.getLogger("trickle.slack")


class OrphanFinisher:
    """The Slack finalizer registered in `ServiceContext.finalizers["slack"]`."""

    __slots__ = ("_client", "_budgets", "_team", "_status")

    def __init__(
        self, client: AsyncWebClient, budgets: SlackBudgets, *, team: str, status: StatusSupport | None = None
    ) -> None:
        self._client = client
        self._budgets = budgets
        self._team = team
        self._status = status or StatusSupport()

    def __repr__(self) -> str:
        return f"<OrphanFinisher team={self._team}>"

    async def __call__(self, location: Mapping[str, Any], text: str) -> None:
        """Write `text` as the final content (no button) of the message at `location`,
        then clear the thread status the answer had set (see the module docstring).

        A location without `ts` is a question whose placeholder was never posted: the
        answer is then posted where it would have gone, so the asker still hears back.
        """
        try:
            if location.get("stream") and location.get("ts") is not None:
                await self._stop_stream(location)
            await self._finish(location, text)
        finally:
            thread = location.get("status_thread_ts")
            if thread is not None and self._status.enabled:
                await set_status(self._client, self._status, str(location["channel"]), str(thread), "")

    async def _stop_stream(self, location: Mapping[str, Any]) -> None:
        """End the dead owner's native stream so that `chat.update` may finish it."""
        channel, ts = str(location["channel"]), str(location["ts"])
        budget = self._budgets.stream_stops(str(location.get("team") or self._team))
        try:
            await self._spend(
                budget, lambda: self._client.chat_stopStream(channel=channel, ts=ts), "chat.stopStream", channel
            )
        except (RateLimited, SurfaceError, OSError, TimeoutError) as exc:  # expired or stopped already
            log.info("could not stop the orphaned stream %s (%s); updating it anyway", ts, exc)

    async def _finish(self, location: Mapping[str, Any], text: str) -> None:
        channel, ts = str(location["channel"]), location.get("ts")
        final = messages.final(text).kwargs()  # no indicator, no Stop button
        if ts is None:
            thread = location.get("thread_ts")
            await self._spend(
                self._budgets.posts(channel),
                lambda: self._client.chat_postMessage(channel=channel, thread_ts=thread, **final),
                "chat.postMessage",
                channel,
            )
        else:
            await self._spend(
                self._budgets.updates(str(location.get("team") or self._team)),
                lambda: self._client.chat_update(channel=channel, ts=str(ts), **final),
                "chat.update",
                channel,
            )

    @staticmethod
    async def _spend(budget: Budget, call: Callable[[], Awaitable[Any]], method: str, channel: str) -> None:
        """One Slack call as a final edit of the shared budget, through the one write path."""
        await paced(lambda: call_slack(call(), method=method, where=f"channel {channel}"), budget, log=log)
