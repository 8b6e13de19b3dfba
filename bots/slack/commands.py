"""`/ask QUESTION` in Slack: the question posted in the channel, the answer in its thread.

A slash command is not a message: nobody in the channel would see what was asked. So
the bot posts the question, attributed to the person by name (a name, not a mention:
nobody is pinged), and answers in a thread under it, as for an @mention; in a DM with
the bot it does the same there. Where the bot is not a member, the post is refused, and
only the person who typed the command is told, privately, how to invite it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bots.slack import messages
from bots.slack.budgets import SlackBudgets
from bots.slack.errors import call_slack
from bots.slack.people import People
from bots.slack.triggers import Kind, Trigger
from core.question import USAGE_HINT, is_blank
from core.relay.calls import paced
from core.surface import SurfaceError
from core.team.access import Verdict

log = logging.getLogger("trickle.slack")

COMMAND = "/ask"
NOT_A_MEMBER = (
    "I'm not in this channel, so I can't answer here. Invite me with `/invite @trickle`, or ask me in a direct message."
)
NOT_A_MEMBER_CODES = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


class AskCommand:
    """The `/ask` listener: acknowledges at once, then posts the question and answers."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        budgets: SlackBudgets,
        people: People,
        answer: Callable[[Trigger], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, object]], object],
        allowed: Callable[[str, str], Verdict],
    ) -> None:
        self._client = client
        self._allowed = allowed  # TRICKLE_ALLOW_* / DENY_* (the bot's, which counts refusals)
        self._budgets = budgets
        self._people = people
        self._answer = answer  # the bot's answer path (placeholder, relay, history)
        self._spawn = spawn  # the assistant's: shutdown waits for the answer

    def __repr__(self) -> str:
        return f"<AskCommand {COMMAND}>"

    async def on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        """bolt's listener (parameter names are how bolt injects arguments)."""
        text = str(command.get("text") or "").strip()
        if is_blank(text):
            await ack(text=f"Usage: `{COMMAND} your question`. {USAGE_HINT}")
            return
        channel = str(command.get("channel_id") or "")
        verdict = self._allowed(str(command.get("user_id") or ""), channel)
        if not verdict.allowed:  # the one private reply, or silence (TRICKLE_DENIED_REPLY)
            await ack(**({"text": verdict.reason} if verdict.reason else {}))
            return
        await ack()
        self._spawn(self._ask(command, text, respond))

    async def _ask(self, command: dict[str, Any], text: str, respond: Any) -> None:
        team = str(command.get("team_id") or "")
        user = str(command.get("user_id") or "")
        channel = str(command.get("channel_id") or "")
        name = await self._people.name(team, user)
        try:
            posted = await post_question(self._client, self._budgets, channel, f"**{name}** asked: {text}")
        except SurfaceError as exc:
            why = NOT_A_MEMBER if exc.code in NOT_A_MEMBER_CODES else f"Slack refused the question ({exc.code})."
            await respond(text=why, response_type="ephemeral")
            return
        except (OSError, TimeoutError) as exc:
            log.warning("could not post an /ask question in %s: %r", channel, exc)
            await respond(text="I could not reach Slack to post your question; try again.", response_type="ephemeral")
            return
        ts = str(posted["ts"])
        channel = str(posted.get("channel") or channel)
        await self._answer(Trigger(Kind.MENTION, team, channel, ts, ts, user, text))


async def post_question(
    client: AsyncWebClient, budgets: SlackBudgets, channel: str, markdown: str, *, thread_ts: str | None = None
) -> Any:
    """Post a question asked without a message of its own (a command, a form), paced by the
    channel's post budget; Slack's answer (`ts`, `channel`). Raises `SurfaceError`."""
    return await paced(
        lambda: call_slack(
            client.chat_postMessage(channel=channel, thread_ts=thread_ts or None, **messages.plain(markdown).kwargs()),
            method="chat.postMessage",
            where=f"channel {channel}",
        ),
        budgets.posts(channel),
        log=log,
    )
