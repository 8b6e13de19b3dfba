"""Slack's assistant pane ("Agents & AI apps"): one thread per conversation in the DM.

Slack opens a thread in the person's DM with the bot when they open the pane
(`assistant_thread_started`), tells the bot which channel they are looking at (its
`context`, again on `assistant_thread_context_changed`), and then sends their questions
as ordinary DM messages in that thread. bolt's `AsyncAssistant` middleware recognises
these events; this module only decides what they mean for trickle:

- a new thread gets the greeting and the suggested prompts;
- the channel in view is kept per thread in the state store (every replica sees it),
  not in message metadata as bolt's default store does, which costs a
  `conversations.history` call per question to read back;
- each question is answered like any DM thread message (same relay, same budgets, and
  with TRICKLE_SLACK_STREAM=native the same native streams), plus what the pane adds:
  the first question titles the thread, the channel in view is read for context, and
  the final answer carries feedback buttons (natively, on its last stream's stop).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.assistant.thread_context import AssistantThreadContext
from slack_bolt.context.assistant.thread_context_store.async_store import AsyncAssistantThreadContextStore
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.conversation.suggestions import GREETING, SuggestedPrompt, title_for
from core.state.store import StateStore

log = logging.getLogger("trickle.slack")

CONTEXT_TTL = 30 * 24 * 3600.0  # a pane thread may be picked up again weeks later


@dataclass(frozen=True, slots=True)
class PaneThread:
    """What an answer in a pane thread adds to an ordinary DM answer."""

    viewed_channel: str | None  # the channel the person is looking at, if any
    titled: bool  # False: this question titles the thread


class ThreadContexts(AsyncAssistantThreadContextStore):
    """bolt's thread-context store on trickle's state store."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    @staticmethod
    def key(channel_id: str, thread_ts: str) -> str:
        return f"slack:pane:context:{channel_id}:{thread_ts}"

    async def save(self, *, channel_id: str, thread_ts: str, context: dict[str, str]) -> None:
        await self._state.put(self.key(channel_id, thread_ts), json.dumps(context), CONTEXT_TTL)

    async def find(self, *, channel_id: str, thread_ts: str) -> AssistantThreadContext | None:
        raw = await self._state.get(self.key(channel_id, thread_ts))
        if raw is None:
            return None
        try:
            return AssistantThreadContext(json.loads(raw))
        except (ValueError, TypeError, KeyError):  # KeyError: `{}`, the pane opened outside a channel
            return None


Answer = Callable[[dict[str, Any], str, PaneThread], Awaitable[None]]
Greet = Callable[[str, str, str], Awaitable[None]]


class Pane:
    """The pane's listeners; `middleware()` is what the bolt app installs."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        state: StateStore,
        prompts: Sequence[SuggestedPrompt],
        answer: Answer,
        greet: Greet,
        team: str,
    ) -> None:
        self._client = client
        self._state = state
        self._prompts = tuple(prompts)
        self._answer = answer  # answers a DM thread message (the bot's usual path)
        self._greet = greet  # posts a short reply in a thread, paced like every post
        self._team = team
        self.contexts = ThreadContexts(state)

    def __repr__(self) -> str:
        return f"<Pane prompts={len(self._prompts)}>"

    def middleware(self) -> AsyncAssistant:
        assistant = AsyncAssistant(thread_context_store=self.contexts)
        assistant.thread_started(self._started)
        assistant.user_message(self._message)
        return assistant

    # -- bolt listeners (parameter names are how bolt injects arguments) -------------------

    async def _started(self, payload: dict[str, Any], body: dict[str, Any]) -> None:
        thread = payload.get("assistant_thread") or {}
        channel, thread_ts = str(thread.get("channel_id") or ""), str(thread.get("thread_ts") or "")
        if not channel or not thread_ts:
            return
        context = thread.get("context") or {}
        await self.contexts.save(channel_id=channel, thread_ts=thread_ts, context=dict(context))
        await self._state.put(self._opened_key(channel, thread_ts), "1", CONTEXT_TTL)
        await self._greet(channel, thread_ts, GREETING)
        await self._decorate(
            "assistant.threads.setSuggestedPrompts",
            self._client.assistant_threads_setSuggestedPrompts(
                channel_id=channel,
                thread_ts=thread_ts,
                prompts=[{"title": p.title, "message": p.message} for p in self._prompts],
            ),
        )

    async def _message(self, payload: dict[str, Any], body: dict[str, Any]) -> None:
        channel, thread_ts = str(payload.get("channel") or ""), str(payload.get("thread_ts") or "")
        team = str(body.get("team_id") or self._team)
        await self._answer(payload, team, await self.thread(channel, thread_ts))

    # -- what a question in a pane thread adds ----------------------------------------------

    async def thread(self, channel: str, thread_ts: str) -> PaneThread:
        """The pane's view of a thread: the channel in view, and whether it has a title
        yet (only a thread the pane opened is titled, once: the first question claims it)."""
        found = await self.contexts.find(channel_id=channel, thread_ts=thread_ts)
        viewed = str(found.get("channel_id") or "") if found is not None else ""
        opened = await self._state.get(self._opened_key(channel, thread_ts)) is not None
        titled = not opened or not await self._state.claim(f"slack:pane:titled:{channel}:{thread_ts}", CONTEXT_TTL)
        return PaneThread(viewed_channel=viewed or None, titled=titled)

    async def set_title(self, channel: str, thread_ts: str, question: str) -> None:
        """Title the thread after its first question (short and plain)."""
        await self._decorate(
            "assistant.threads.setTitle",
            self._client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts, title=title_for(question)),
        )

    @staticmethod
    async def _decorate(method: str, call: Awaitable[Any]) -> None:
        """Prompts and titles are decoration: a refusal is logged, never raised."""
        try:
            await call
        except SlackApiError as exc:
            code = exc.response.get("error") if exc.response is not None else "error"
            log.info("%s refused (%s)", method, code)
        except (OSError, TimeoutError) as exc:
            log.info("%s failed: %r", method, exc)

    @staticmethod
    def _opened_key(channel: str, thread_ts: str) -> str:
        return f"slack:pane:opened:{channel}:{thread_ts}"
