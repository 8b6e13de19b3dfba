"""Finishing Slack messages that a crashed trickle process left streaming.

`core.inflight` notices answers whose process died mid-stream and hands each one's last
shown text (plus an "interrupted" notice) to the platform's finalizer, once. Here that
becomes one `chat.update` drawn from the workspace's edit budget, like any final edit,
so a restart after a crash does not burst past Slack's limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bots.slack import messages
from bots.slack.budgets import SlackBudgets
from bots.slack.errors import call_slack
from core.surface import RateLimited

ATTEMPTS = 5


class OrphanFinisher:
    """The Slack finalizer registered in `ServiceContext.finalizers["slack"]`."""

    __slots__ = ("_client", "_budgets", "_team")

    def __init__(self, client: AsyncWebClient, budgets: SlackBudgets, *, team: str) -> None:
        self._client = client
        self._budgets = budgets
        self._team = team

    def __repr__(self) -> str:
        return f"<OrphanFinisher team={self._team}>"

    async def __call__(self, location: Mapping[str, Any], text: str) -> None:
        """Write `text` as the final content (no button) of the message at `location`.

        A location without `ts` is a question whose placeholder was never posted: the
        answer is then posted where it would have gone, so the asker still hears back.
        """
        channel, ts = str(location["channel"]), location.get("ts")
        if ts is None:
            budget = self._budgets.posts(channel)
            thread = location.get("thread_ts")
            call = lambda: self._client.chat_postMessage(  # noqa: E731
                channel=channel, thread_ts=thread, **messages.final(text).kwargs()
            )
            method = "chat.postMessage"
        else:
            budget = self._budgets.updates(str(location.get("team") or self._team))
            call = lambda: self._client.chat_update(  # noqa: E731
                channel=channel, ts=str(ts), **messages.final(text).kwargs()
            )
            method = "chat.update"
        loop = asyncio.get_running_loop()
        for _ in range(ATTEMPTS):
            await budget.acquire(stale_since=loop.time(), final=True)
            try:
                await call_slack(call(), method=method, where=f"channel {channel}")
            except RateLimited as limited:
                budget.rate_limited(limited.retry_after)
                continue
            budget.succeeded()
            return
        raise RateLimited(0.0, "gave up finishing an orphaned answer")
