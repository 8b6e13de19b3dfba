"""Short messages that are not answers: the usage hint, Stop refusals.

They are best-effort: a lost hint is a shrug, not an incident, so failures are logged
and swallowed. A hint in the thread still spends the channel's `chat.postMessage`
budget, shared with the placeholders of real answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient

from bots.slack import messages
from bots.slack.budgets import SlackBudgets
from bots.slack.errors import call_slack
from core.relay.calls import paced
from core.surface import RateLimited, SurfaceError

log = logging.getLogger("trickle.slack")

NOT_ALLOWED = "Only the person who asked (or an admin) can stop this answer."
ALREADY_FINISHED = "This answer has already finished."


class Replies:
    """Posts short text replies in threads and ephemeral notes to one person."""

    __slots__ = ("_client", "_budgets", "_wrote")

    def __init__(
        self, client: AsyncWebClient, budgets: SlackBudgets, *, wrote: Callable[[], None] | None = None
    ) -> None:
        self._client = client
        self._budgets = budgets
        self._wrote = wrote or (lambda: None)  # counts each reply that went out (metrics)

    def __repr__(self) -> str:
        return f"<Replies budgets={self._budgets!r}>"

    async def post(self, channel: str, thread_ts: str | None, markdown: str) -> None:
        """Post `markdown` (escaped) in the thread, within the channel's post budget."""
        where = f"channel {channel}"
        try:
            await paced(
                lambda: call_slack(
                    self._client.chat_postMessage(
                        channel=channel, thread_ts=thread_ts or None, **messages.plain(markdown).kwargs()
                    ),
                    method="chat.postMessage",
                    where=where,
                ),
                self._budgets.posts(channel),
                log=log,
            )
        except (SurfaceError, OSError, TimeoutError):
            return  # call_slack logged why
        self._wrote()

    async def ephemeral(self, channel: str, user: str, thread_ts: str | None, markdown: str) -> None:
        """Show `markdown` to `user` only (nobody else sees it, and it does not last)."""
        try:
            await call_slack(
                self._client.chat_postEphemeral(
                    channel=channel, user=user, thread_ts=thread_ts or None, **messages.plain(markdown).kwargs()
                ),
                method="chat.postEphemeral",
                where=f"channel {channel}",
            )
        except (RateLimited, SurfaceError, OSError) as exc:
            log.warning("could not tell %s privately: %s", user, exc)
            return
        self._wrote()
