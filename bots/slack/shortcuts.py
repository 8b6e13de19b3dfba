"""Message shortcuts: "Summarize thread" and "Ask trickle about this".

Both run on a message someone points at from its "More actions" menu, and both answer
in that message's thread, on the same relay and budgets as any answer:

- `summarize_thread` reads the thread (a few `conversations.replies` pages at most,
  then the cached copy) and streams its summary as a reply. Nobody typed a question, so
  nothing is posted before the answer; the thread is not followed afterwards.
- `ask_about_message` opens a small modal for the question (Slack's `trigger_id` lives
  three seconds, so the modal goes up before anything slow). On submit the question is
  posted in the thread, attributed by name as `/ask` does, and answered under it with
  the message quoted for the model.

Where the bot may not read the channel, only the person who clicked is told, privately,
through the shortcut's `response_url`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bots.slack.budgets import SlackBudgets
from bots.slack.commands import NOT_A_MEMBER, NOT_A_MEMBER_CODES, post_question
from bots.slack.errors import call_slack
from bots.slack.formatting import escape
from bots.slack.history import ThreadHistory, Turn
from bots.slack.people import People
from bots.slack.triggers import Kind, Trigger, to_plain
from core.question import USAGE_HINT, is_blank
from core.surface import SurfaceError
from core.team.access import Verdict

log = logging.getLogger("trickle.slack")

SUMMARIZE = "summarize_thread"
ASK_ABOUT = "ask_about_message"
ASK_VIEW = "ask_about_message_question"  # the modal's callback id
QUESTION_BLOCK = "question"
QUESTION_INPUT = "text"
SUMMARY_REQUEST = (
    "Summarize this thread for someone who has not read it: the main points, what was "
    "decided, and what is still open. Be brief."
)
NOTHING_TO_SUMMARIZE = "There is nothing in this thread to summarize yet."
UNREADABLE = "I could not read this thread just now; try again in a moment."
_EXCERPT = 140  # characters of the message shown in the modal
METADATA_LIMIT = 3000  # Slack's cap on a view's private_metadata


class Shortcuts:
    """The two message-shortcut listeners and the modal's submit listener."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        budgets: SlackBudgets,
        people: People,
        history: ThreadHistory,
        summarize: Callable[[Trigger, list[Turn]], Awaitable[None]],
        answer: Callable[[Trigger], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, object]], object],
        allowed: Callable[[str, str], Verdict],
    ) -> None:
        self._client = client
        self._allowed = allowed  # TRICKLE_ALLOW_* / DENY_* (the bot's, which counts refusals)
        self._budgets = budgets
        self._people = people
        self._history = history
        self._summarize = summarize  # the bot's summary answer (no question posted)
        self._answer = answer  # the bot's answer to a posted question (as for @mentions)
        self._spawn = spawn

    def __repr__(self) -> str:
        return f"<Shortcuts {SUMMARIZE} {ASK_ABOUT}>"

    # -- bolt listeners (parameter names are how bolt injects arguments) -----------------------

    async def on_summarize(self, ack: Any, shortcut: dict[str, Any]) -> None:
        await ack()
        pointed = Pointed.of(shortcut)
        if await self._let_in(pointed):
            self._spawn(self._summarize_thread(pointed))

    async def on_ask_about(self, ack: Any, shortcut: dict[str, Any]) -> None:
        await ack()
        pointed = Pointed.of(shortcut)
        if not await self._let_in(pointed):
            return
        try:
            await call_slack(
                self._client.views_open(trigger_id=str(shortcut.get("trigger_id") or ""), view=question_modal(pointed)),
                method="views.open",
                where=f"channel {pointed.channel}",
            )
        except (SurfaceError, OSError, TimeoutError) as exc:
            log.warning("could not open the question modal: %s", exc)

    async def on_submit(self, ack: Any, view: dict[str, Any], body: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        text = str(((values.get(QUESTION_BLOCK) or {}).get(QUESTION_INPUT) or {}).get("value") or "").strip()
        if is_blank(text):
            await ack(response_action="errors", errors={QUESTION_BLOCK: USAGE_HINT})
            return
        await ack()
        try:
            pointed = Pointed.from_metadata(str(view.get("private_metadata") or ""))
        except (ValueError, KeyError, TypeError):
            log.warning("a question modal came back without its message; ignored")
            return
        user = str((body.get("user") or {}).get("id") or "")
        self._spawn(self._ask_about(pointed, user, text))

    async def _let_in(self, pointed: Pointed) -> bool:
        """Whether the person may ask here; if not, the one private note (if any) says so."""
        verdict = self._allowed(pointed.user, pointed.channel)
        if not verdict.allowed and verdict.reason is not None:
            await pointed.tell(verdict.reason)
        return verdict.allowed

    # -- the work ------------------------------------------------------------------------------

    async def _summarize_thread(self, pointed: Pointed) -> None:
        try:
            turns = await self._history.thread(pointed.team, pointed.channel, pointed.thread_ts)
        except SlackApiError as exc:
            code = exc.response.get("error") if exc.response is not None else "error"
            log.info("could not read thread %s in %s to summarize (%s)", pointed.thread_ts, pointed.channel, code)
            await pointed.tell(NOT_A_MEMBER if code in NOT_A_MEMBER_CODES else UNREADABLE)
            return
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("could not read thread %s in %s to summarize: %r", pointed.thread_ts, pointed.channel, exc)
            await pointed.tell(UNREADABLE)
            return
        if not any(t.role == "user" and t.text for t in turns):
            await pointed.tell(NOTHING_TO_SUMMARIZE)
            return
        trigger = Trigger(
            Kind.SHORTCUT, pointed.team, pointed.channel, pointed.ts, pointed.thread_ts, pointed.user, SUMMARY_REQUEST
        )
        await self._summarize(trigger, turns)

    async def _ask_about(self, pointed: Pointed, user: str, question: str) -> None:
        name = await self._people.name(pointed.team, user)
        try:
            posted = await post_question(
                self._client,
                self._budgets,
                pointed.channel,
                f"**{name}** asked about this: {question}",
                thread_ts=pointed.thread_ts,
            )
        except SurfaceError as exc:
            await pointed.tell(NOT_A_MEMBER if exc.code in NOT_A_MEMBER_CODES else UNREADABLE)
            return
        except (OSError, TimeoutError):
            await pointed.tell(UNREADABLE)
            return
        author = await self._people.name(pointed.team, pointed.author) if pointed.author else "someone"
        # The trigger's text is in Slack's escaped form, as a message's would be.
        quoted = "\n".join(f"> {line}" for line in pointed.text.splitlines() or [""])
        about = f"About this message from {author}:\n{quoted}\n\n{escape(question)}"
        await self._answer(
            Trigger(Kind.MENTION, pointed.team, pointed.channel, str(posted["ts"]), pointed.thread_ts, user, about)
        )


@dataclass(frozen=True, slots=True)
class Pointed:
    """The message a shortcut was run on, and how to tell the person who ran it."""

    team: str
    channel: str
    ts: str
    thread_ts: str  # the thread it belongs to (its own ts if it starts one)
    user: str  # who ran the shortcut
    author: str  # who wrote the message
    text: str  # Slack's escaped text
    response_url: str

    @classmethod
    def of(cls, shortcut: dict[str, Any]) -> Pointed:
        message = shortcut.get("message") or {}
        ts = str(message.get("ts") or shortcut.get("message_ts") or "")
        return cls(
            team=str((shortcut.get("team") or {}).get("id") or ""),
            channel=str((shortcut.get("channel") or {}).get("id") or ""),
            ts=ts,
            thread_ts=str(message.get("thread_ts") or ts),
            user=str((shortcut.get("user") or {}).get("id") or ""),
            author=str(message.get("user") or ""),
            text=str(message.get("text") or ""),
            response_url=str(shortcut.get("response_url") or ""),
        )

    def metadata(self) -> str:
        """What the modal carries back: Slack keeps at most 3,000 characters of it, counted
        once encoded (quotes, backslashes and line breaks grow), so the text is cut to fit."""
        for limit in (1500, 700, 300, 0):
            text = _cut(self.text, limit) if limit else ""
            encoded = json.dumps(asdict(replace(self, text=text)), ensure_ascii=False)
            if len(encoded) <= METADATA_LIMIT:
                break
        return encoded

    @classmethod
    def from_metadata(cls, raw: str) -> Pointed:
        saved = json.loads(raw)
        return cls(**{f.name: str(saved[f.name]) for f in fields(cls)})

    async def tell(self, text: str) -> None:
        """A private note to the person who ran the shortcut (best effort)."""
        if not self.response_url:
            return
        try:
            await AsyncWebhookClient(self.response_url).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("could not tell %s privately: %r", self.user, exc)


def question_modal(pointed: Pointed) -> dict[str, Any]:
    """The small form "Ask trickle about this" opens."""
    excerpt = _cut(to_plain(pointed.text, {}), _EXCERPT) or "(a message without text)"
    return {
        "type": "modal",
        "callback_id": ASK_VIEW,
        "title": {"type": "plain_text", "text": "Ask trickle"},
        "submit": {"type": "plain_text", "text": "Ask"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": pointed.metadata(),
        "blocks": [
            {"type": "context", "elements": [{"type": "plain_text", "text": f"About: {excerpt}", "emoji": True}]},
            {
                "type": "input",
                "block_id": QUESTION_BLOCK,
                "label": {"type": "plain_text", "text": "Your question"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": QUESTION_INPUT,
                    "multiline": True,
                    "placeholder": {"type": "plain_text", "text": "What would you like to know about it?"},
                },
            },
        ],
    }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
