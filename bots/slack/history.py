"""A Slack thread as the conversation the model sees, cached between questions.

Some apps may call `conversations.replies` only once a minute, and a long thread costs
a page of messages per call, so the thread is fetched once (on the first question the bot
gets in a thread it has no copy of) and then kept up to date locally: each question and
answer, and each message people add in a thread the bot follows, is appended to the copy
in the state store. The copy expires after a short while, so edits and deletions in
Slack are picked up eventually.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack import messages
from bots.slack.people import MAX_NAMED, People
from bots.slack.triggers import SlackFile, Trigger, files_of, mentioned_users, strip_mention, to_plain, unescape
from core.models import ChatMessage
from core.state.store import StateStore

log = logging.getLogger("trickle.slack")

HISTORY_TTL = 15 * 60.0
MAX_TURNS = 200
MAX_NAMED_IN_HISTORY = 50  # distinct people named in a fetched thread; the rest stay ids
_MAX_PAGES = 5
_FETCH_TIMEOUT = 8.0
_DM_TOP_LEVEL = "top"
_PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of the conversation: who said what, and when (Slack's ts), and the
    files shared with it (read again when a later question in the thread is answered)."""

    ts: str
    role: Literal["user", "assistant"]
    user: str
    name: str
    text: str
    files: tuple[SlackFile, ...] = ()

    def row(self) -> list[Any]:
        """The turn as the cache stores it (JSON)."""
        row: list[Any] = [self.ts, self.role, self.user, self.name, self.text]
        if self.files:
            row.append([[f.name, f.mimetype, f.size, f.url] for f in self.files])
        return row

    @classmethod
    def from_row(cls, row: list[Any]) -> Turn:
        ts, role, user, name, text, *rest = row
        files = tuple(SlackFile(*f) for f in rest[0]) if rest else ()
        return cls(str(ts), "assistant" if role == "assistant" else "user", str(user), str(name), str(text), files)


def ts_key(ts: str) -> tuple[int, int]:
    """Slack ts strings sort numerically on both halves, not as text."""
    head, _, tail = ts.partition(".")
    try:
        return int(head), int(tail.ljust(6, "0")[:6])
    except ValueError:
        return 0, 0


def conversation(turns: Sequence[Turn], *, asker: str, asker_name: str, question: str) -> tuple[list[ChatMessage], str]:
    """The history as chat messages, and the question as the model should read it.

    Names only help when several people talk: then every person's turn (the question too)
    starts with "Name: ". Consecutive bot messages (pages of one answer) become one turn.
    """
    people = {t.user for t in turns if t.role == "user"} | {asker}
    named = len(people) > 1
    history: list[ChatMessage] = []
    for turn in turns:
        text = f"{turn.name}: {turn.text}" if named and turn.role == "user" else turn.text
        if turn.role == "assistant" and history and history[-1].role == "assistant":
            history[-1] = ChatMessage("assistant", f"{history[-1].content}\n{text}")
        else:
            history.append(ChatMessage(turn.role, text))
    return history, (f"{asker_name}: {question}" if named else question)


def conversation_files(trigger: Trigger, earlier: Sequence[Turn]) -> list[SlackFile]:
    """The question's own files, then those shared earlier in the thread, newest first:
    the nearer a file is to the question, the likelier it is what is asked about (the
    assistant reads only so many). Each file once."""
    seen: set[str] = set()
    found: list[SlackFile] = []
    for file in (*trigger.files, *(f for turn in reversed(earlier) for f in turn.files)):
        if file.url not in seen:
            seen.add(file.url)
            found.append(file)
    return found


class ThreadHistory:
    """Fetches, caches and extends the turns of each thread; see the module docstring."""

    __slots__ = ("_client", "_state", "_people", "_bot_user_id", "_bot_id", "ttl")

    def __init__(
        self,
        client: AsyncWebClient,
        state: StateStore,
        people: People,
        *,
        bot_user_id: str,
        bot_id: str | None,
        ttl: float = HISTORY_TTL,
    ) -> None:
        self._client = client
        self._state = state
        self._people = people
        self._bot_user_id = bot_user_id
        self._bot_id = bot_id
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"<ThreadHistory bot={self._bot_user_id} ttl={self.ttl:g}s>"

    @staticmethod
    def key(channel: str, thread_ts: str | None) -> str:
        return f"slack:history:{channel}:{thread_ts or _DM_TOP_LEVEL}"

    async def before(self, trigger: Trigger) -> list[Turn]:
        """The turns before `trigger`'s message in its conversation (fetched if need be)."""
        key = self.key(trigger.channel, trigger.thread_ts)
        turns = await self._load(key)
        if turns is None:
            if trigger.thread_ts == trigger.ts:  # a mention that starts a thread: nothing before
                turns = []
            else:
                fetched = await self._fetch(trigger)
                if fetched is None:
                    return []
                turns = fetched
            await self._save(key, turns)
        question = ts_key(trigger.ts)
        return [t for t in turns if ts_key(t.ts) < question]

    async def thread(self, team: str, channel: str, thread_ts: str) -> list[Turn]:
        """Every turn of a thread, from the cached copy or else from Slack (then cached).

        For a summary: unlike `before`, a thread Slack will not give raises
        (`SlackApiError`, e.g. `not_in_channel`; or a network error), since answering
        without it would summarise nothing.
        """
        key = self.key(channel, thread_ts)
        turns = await self._load(key)
        if turns is None:
            async with asyncio.timeout(_FETCH_TIMEOUT):
                turns = await self._turns(team, await self._fetch_messages(channel, thread_ts))
            await self._save(key, turns)
        return turns

    async def remember(self, channel: str, thread_ts: str | None, new: Iterable[Turn]) -> None:
        """Add turns to the cached copy; without a copy, the next question fetches anew."""
        key = self.key(channel, thread_ts)
        turns = await self._load(key)
        if turns is None:
            return
        by_ts = {t.ts: t for t in turns}
        by_ts.update((t.ts, t) for t in new)
        await self._save(key, sorted(by_ts.values(), key=lambda t: ts_key(t.ts)))

    async def person_turn(self, trigger: Trigger, text: str, name: str) -> Turn:
        """The turn for a person's message, with the people it mentions named."""
        names = await self._people.names(trigger.team, mentioned_users(text))
        return Turn(trigger.ts, "user", trigger.user, name, to_plain(text, names), trigger.files)

    # -- storage ---------------------------------------------------------------------------

    async def _load(self, key: str) -> list[Turn] | None:
        raw = await self._state.get(key)
        if raw is None:
            return None
        try:
            return [Turn.from_row(row) for row in json.loads(raw)]
        except (ValueError, TypeError):  # ValueError: also a row too short to unpack
            log.warning("dropping an unreadable history cache entry %s", key)
            return None

    async def _save(self, key: str, turns: Sequence[Turn]) -> None:
        rows = [t.row() for t in turns[-MAX_TURNS:]]
        await self._state.put(key, json.dumps(rows, ensure_ascii=False), self.ttl)

    async def channel_turns(self, team: str, channel: str, *, limit: int = 50) -> list[Turn]:
        """The latest `limit` messages at the top of `channel`, oldest first, as turns:
        what someone looking at the channel sees (the assistant pane's context). Raises
        `SlackApiError` when the bot may not read it (`not_in_channel`, `missing_scope`)."""
        async with asyncio.timeout(_FETCH_TIMEOUT):
            response = await self._client.conversations_history(channel=channel, limit=limit)
            return await self._turns(team, list(reversed(response.get("messages") or [])))

    # -- fetching --------------------------------------------------------------------------

    async def _fetch(self, trigger: Trigger) -> list[Turn] | None:
        """The conversation from Slack, or None when Slack would not give it."""
        try:
            async with asyncio.timeout(_FETCH_TIMEOUT):
                raw = await self._fetch_messages(trigger.channel, trigger.thread_ts)
                return await self._turns(trigger.team, raw)
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            why = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("could not read the conversation in %s (%s); answering without it", trigger.channel, why)
            return None

    async def _fetch_messages(self, channel: str, thread_ts: str | None) -> list[dict[str, Any]]:
        if thread_ts is None:  # the top level of a DM: the latest messages, newest first
            response = await self._client.conversations_history(channel=channel, limit=40)
            return list(reversed(response.get("messages") or []))
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            response = await self._client.conversations_replies(channel=channel, ts=thread_ts, limit=200, cursor=cursor)
            found.extend(response.get("messages") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return found

    async def _turns(self, team: str, raw: list[dict[str, Any]]) -> list[Turn]:
        """Slack messages as turns: the bot's finished answers and people's messages."""
        people = [m for m in raw if self._is_person(m)]
        # The authors, then the people they mention, newest first (old turns are trimmed
        # first anyway); each message's mentions capped as a question's are.
        newest = people[::-1]
        ids = [str(m["user"]) for m in newest] + [
            u for m in newest for u in mentioned_users(str(m.get("text", "")))[:MAX_NAMED]
        ]
        names = await self._people.names(team, ids, limit=MAX_NAMED_IN_HISTORY)
        turns: list[Turn] = []
        for message in raw:
            ts = str(message.get("ts") or "")
            if not ts:
                continue
            if self._is_mine(message):
                text = _shown_text(message)
                if text and text != messages.PLACEHOLDER and not messages.is_in_progress(message):
                    turns.append(Turn(ts, "assistant", "", "", text))
            elif self._is_person(message):
                user = str(message["user"])
                said = strip_mention(str(message.get("text", "")), self._bot_user_id)
                text = to_plain(said, names).strip()
                turns.append(Turn(ts, "user", user, names.get(user, user), text, files_of(message)))
        return turns

    def _is_mine(self, message: dict[str, Any]) -> bool:
        return message.get("user") == self._bot_user_id or (
            self._bot_id is not None and message.get("bot_id") == self._bot_id
        )

    def _is_person(self, message: dict[str, Any]) -> bool:
        return (
            bool(message.get("user"))
            and not message.get("bot_id")
            and message.get("subtype") in _PERSON_SUBTYPES
            and message.get("user") != self._bot_user_id
        )


def _shown_text(message: dict[str, Any]) -> str:
    """What one of the bot's messages shows: its `markdown` block, else its text."""
    parts = [str(b.get("text", "")) for b in message.get("blocks") or () if b.get("type") == "markdown"]
    return unescape("\n".join(parts) if parts else str(message.get("text", "")))
