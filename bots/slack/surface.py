"""A Slack thread as the relay's `Surface`: a placeholder, `chat.update`, more pages.

The relay decides when to write and what; this class only knows how Slack wants it:
which method, which budget (edits per workspace, posts per channel), what the message
carries (see `messages.py`) and how Slack's refusals map to the relay's exceptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bots.slack import messages
from bots.slack.budgets import SlackBudgets
from bots.slack.errors import call_slack
from bots.slack.formatting import escaped_length
from bots.slack.status import ThreadStatus
from core.pacing.budget import Budget
from core.surface import RateLimited, SurfaceError

log = logging.getLogger("trickle.slack")

PAGE_LIMIT = 3500  # escaped characters; Slack starts answering msg_too_long near 4,000

T = TypeVar("T")


class FeedbackStyle:
    """Which feedback buttons the workspace shows under final answers, learned once per
    process: Slack's `feedback_buttons`, or plain buttons once Slack refused those
    (`invalid_blocks`: a workspace or plan without the AI app blocks)."""

    __slots__ = ("plain",)

    def __init__(self) -> None:
        self.plain = False

    def __repr__(self) -> str:
        return f"<FeedbackStyle {'plain' if self.plain else 'feedback_buttons'}>"


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """A message the bot posted: what `chat.update` needs to find it again."""

    channel: str
    ts: str


class SlackThreadSurface:
    """One answer's messages in one Slack thread (or at the top level of a DM).

    `thread_ts` None posts at the top level (a DM asked outside a thread), continuation
    pages included: in a DM, consecutive messages read as one answer.
    """

    page_limit = PAGE_LIMIT
    platform = "slack"

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        team: str,
        channel: str,
        thread_ts: str | None,
        answer_id: str,
        budgets: SlackBudgets,
        status: ThreadStatus | None = None,
        feedback: FeedbackStyle | None = None,
    ) -> None:
        self._client = client
        self._feedback = answer_id if feedback is not None else None  # buttons on final pages
        self._feedback_style = feedback or FeedbackStyle()
        self.team = team
        self.channel = channel
        self.thread_ts = thread_ts
        self.answer_id = answer_id
        self._budgets = budgets
        self._status = status
        self.first: SlackMessage | None = None
        self.pages: list[SlackMessage] = []
        self._answering = False  # once answer text is on its way, statuses stay away
        self._updating = asyncio.Lock()  # a status edit never lands after answer text

    def __repr__(self) -> str:
        where = f"{self.channel}/{self.thread_ts or 'top'}"
        return f"<SlackThreadSurface {self.answer_id} {where} pages={len(self.pages)}>"

    @property
    def where(self) -> str:
        return f"channel {self.channel}" + (f" thread {self.thread_ts}" if self.thread_ts else "")

    def measure(self, text: str) -> int:
        """Length once escaped: `&` costs five characters on Slack, `<` and `>` four."""
        return escaped_length(text)

    async def post_placeholder(self) -> SlackMessage:
        ref = await self._post(messages.placeholder(self.answer_id))
        self.first = ref
        if self._status is not None:
            self._status.show()
        return ref

    async def post_opening(self, text: Callable[[], str]) -> SlackMessage:
        """The placeholder, or what the model wrote while the channel's post budget kept
        it waiting: the first words sooner, and one `chat.update` fewer from the scarce
        workspace budget (the post budget is the channel's own)."""
        shown = text()
        if not shown:
            return await self.post_placeholder()
        self._answering = True
        ref = await self._post(messages.streaming(shown, self.answer_id))
        self.first = ref
        return ref

    async def post_page(self, text: str, *, final: bool) -> SlackMessage:
        """A continuation page, or the whole of an answer ended before it began (a
        refusal): then the one `chat.postMessage`, with no placeholder and no edit."""
        if final:
            ref = await self._as_final(text, self._post)
        else:
            ref = await self._post(messages.streaming(text, self.answer_id))
        if self.first is None:
            self.first = ref
        return ref

    async def edit(self, ref: SlackMessage, text: str, *, final: bool) -> None:
        self._answering = True
        async with self._updating:
            if final:
                await self._as_final(text, lambda payload: self._update(ref, payload))
            else:
                await self._update(ref, messages.streaming(text, self.answer_id))
        if self._status is not None and (final or text):
            self._status.clear()

    async def show_status(self, ref: SlackMessage, status: str) -> bool:
        """Say in the placeholder why nothing is written yet (queued, model busy...).

        One `chat.update`, which the relay paces on the workspace's budget; it gives way
        to the answer, whose text may start meanwhile. True if it was written. A 429
        goes back to the relay's paced call; other refusals only cost the status.
        """
        async with self._updating:
            if self._answering:
                return False
            try:
                await self._update(ref, messages.status(status, self.answer_id))
                return True
            except RateLimited:
                raise
            except (SurfaceError, OSError) as exc:
                log.info("could not show a status in %s: %s", self.where, exc)
        return False

    def pending_location(self) -> dict[str, Any]:
        """Where the answer will go, before any message exists (finished by a post)."""
        return {"team": self.team, "channel": self.channel, "thread_ts": self.thread_ts}

    def locate(self, ref: SlackMessage) -> dict[str, Any]:
        """Where `ref` is, for finishing it from another process after a crash, and what
        this answer set up there that the finisher must undo (see `orphans.py`)."""
        where: dict[str, Any] = {"team": self.team, "channel": ref.channel, "ts": ref.ts}
        if self._status is not None and self._status.was_shown:
            where["status_thread_ts"] = self._status.thread_ts
        return where

    def release(self) -> None:
        """Undo what the answer set up beside its messages (the thread's status), however
        the answer ended: a final edit that failed must not leave "is thinking…"."""
        if self._status is not None:
            self._status.clear()

    def post_budget(self) -> Budget | None:
        return self._budgets.posts(self.channel)

    def edit_budget(self, ref: SlackMessage) -> Budget | None:
        return self._budgets.updates(self.team)

    def answer_edit_budget(self) -> Budget | None:
        return self._budgets.updates(self.team)

    def must_leave(self, ref: SlackMessage) -> bool:
        return False  # a bot's Slack message stays editable for good

    async def _as_final(self, text: str, write: Callable[[messages.Payload], Awaitable[T]]) -> T:
        """Write a final page; where Slack refuses its feedback block, with plain buttons."""
        style = self._feedback_style
        try:
            return await write(messages.final(text, feedback=self._feedback, plain_feedback=style.plain))
        except SurfaceError as exc:
            if exc.code != "invalid_blocks" or self._feedback is None or style.plain:
                raise
            # Learned only if plain buttons then go through: invalid_blocks has other causes.
            written = await write(messages.final(text, feedback=self._feedback, plain_feedback=True))
            style.plain = True
            log.info("Slack refused the feedback buttons (%s); using plain buttons from now on", exc)
            return written

    async def _update(self, ref: SlackMessage, payload: messages.Payload) -> None:
        await call_slack(
            self._client.chat_update(channel=ref.channel, ts=ref.ts, **payload.kwargs()),
            method="chat.update",
            where=self.where,
        )

    async def _post(self, payload: messages.Payload) -> SlackMessage:
        response = await call_slack(
            self._client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts or None, **payload.kwargs()),
            method="chat.postMessage",
            where=self.where,
        )
        ref = SlackMessage(str(response.get("channel") or self.channel), str(response["ts"]))
        self.pages.append(ref)
        return ref
