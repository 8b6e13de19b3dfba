"""The playground's one shared channel: its messages and the browser tabs watching it.

It plays the part a chat platform plays for Slack and Discord: messages live here, and
every change is pushed to every connected tab as a JSON event, so several tabs really are
several people in one channel. A tab that connects late first gets the recent messages
and the conversation's title. Nothing here knows about answers or models; the surface and
the service build on it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from core.models import ChatMessage

EventType = Literal["message.create", "message.edit"]

KEEP_MESSAGES = 500
SEND_TIMEOUT = 5.0


class Socket(Protocol):
    """What the channel needs from a connected tab (aiohttp's WebSocketResponse fits)."""

    @property
    def closed(self) -> bool: ...

    async def send_str(self, data: str) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> Any: ...


@dataclass(slots=True)
class Message:
    """One message in the channel, from a person or from the bot.

    `answer_id`, `asker` (a name, shown) and `asker_id` (the asking tab's public id) are
    set on the bot's answer pages: the page offers Stop only to the tab whose id it is;
    the assistant, not the page, decides who may stop. `files` names the files a person
    attached (labels only: the bytes went to the assistant and are not kept).
    """

    id: str
    author: str
    text: str
    bot: bool
    final: bool
    at: float
    answer_id: str | None = None
    asker: str | None = None
    asker_id: str | None = None
    stats: dict[str, Any] | None = None
    files: tuple[str, ...] = ()

    def event(self, kind: EventType) -> dict[str, Any]:
        """The JSON event announcing this message's current state."""
        return {
            "type": kind,
            "id": self.id,
            "author": self.author,
            "bot": self.bot,
            "text": self.text,
            "final": self.final,
            "at": self.at,
            "answer_id": self.answer_id,
            "asker": self.asker,
            "asker_id": self.asker_id,
            "stats": self.stats,
            "files": list(self.files),
        }


class Channel:
    """Messages in order plus connected sockets; see the module docstring.

    Only final messages are forgotten when the channel grows past `keep`, so an answer
    still streaming can always be edited.
    """

    __slots__ = ("_messages", "_sockets", "_ids", "_keep", "_wall_clock", "_title")

    def __init__(self, *, keep: int = KEEP_MESSAGES, wall_clock: Callable[[], float] = time.time) -> None:
        self._messages: dict[str, Message] = {}
        self._sockets: set[Socket] = set()
        self._ids = itertools.count(1)
        self._keep = keep
        # Wall-clock time only labels messages for people ("14:02"); pacing never reads it.
        self._wall_clock = wall_clock
        self._title: str | None = None

    def __repr__(self) -> str:
        return f"<Channel messages={len(self._messages)} sockets={len(self._sockets)} title={self._title!r}>"

    # -- tabs ------------------------------------------------------------------------------
    def join(self, socket: Socket) -> dict[str, Any]:
        """Start sending events to `socket`; returns the history event to send it first."""
        self._sockets.add(socket)
        messages = [m.event("message.create") for m in self._messages.values()]
        return {"type": "history", "messages": messages, "title": self._title}

    def leave(self, socket: Socket) -> None:
        self._sockets.discard(socket)

    @property
    def sockets(self) -> frozenset[Socket]:
        return frozenset(self._sockets)

    # -- messages --------------------------------------------------------------------------
    def get(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    def answer(self, answer_id: str) -> list[Message]:
        """The pages of one answer still in the channel, in order (none if unknown)."""
        return [m for m in self._messages.values() if m.answer_id == answer_id]

    async def post(
        self,
        *,
        author: str,
        text: str,
        bot: bool,
        final: bool,
        answer_id: str | None = None,
        asker: str | None = None,
        asker_id: str | None = None,
        stats: dict[str, Any] | None = None,
        files: tuple[str, ...] = (),
    ) -> Message:
        """Add a message and tell every tab."""
        message = Message(
            id=f"m{next(self._ids)}",
            author=author,
            text=text,
            bot=bot,
            final=final,
            at=self._wall_clock(),
            answer_id=answer_id,
            asker=asker,
            asker_id=asker_id,
            stats=stats,
            files=files,
        )
        self._messages[message.id] = message
        self._forget_old()
        await self.broadcast(message.event("message.create"))
        return message

    async def edit(self, message_id: str, *, text: str, final: bool, stats: dict[str, Any] | None = None) -> Message:
        """Replace a message's text and tell every tab; KeyError if it is unknown."""
        message = self._messages[message_id]
        message.text = text
        message.final = final
        if stats is not None:
            message.stats = stats
        await self.broadcast(message.event("message.edit"))
        return message

    def conversation(self, *, before: str | None = None, limit: int = 20) -> list[ChatMessage]:
        """The recent channel as the model should see it, oldest first.

        People's messages become `user` turns prefixed with their name (the model must
        know who said what), with the names of any files they attached (a file is read
        only for the question it came with; later the model is told it was there); the
        bot's finished answers become `assistant` turns. Answers still streaming are left
        out: their text is not settled yet.
        """
        turns: list[ChatMessage] = []
        for message in _until(self._messages.values(), before):
            if message.bot and not message.final:
                continue
            if message.bot:
                turns.append(ChatMessage("assistant", message.text))
            else:
                turns.append(ChatMessage("user", f"{message.author}: {_said(message)}"))
        return turns[-limit:] if limit > 0 else []

    # -- the conversation's title ------------------------------------------------------------
    @property
    def title(self) -> str | None:
        return self._title

    async def entitle(self, title: str) -> bool:
        """Name the conversation and tell every tab; only the first name sticks.

        Why once: the first question says what a conversation is about (Slack's pane
        titles it the same way), and a title that changed with every question would be
        no way to recognise it. True if this call named it.
        """
        if self._title is not None:
            return False
        self._title = title
        await self.broadcast({"type": "title", "title": title})
        return True

    def _forget_old(self) -> None:
        excess = len(self._messages) - self._keep
        if excess <= 0:
            return
        for message_id in [m.id for m in self._messages.values() if m.final][:excess]:
            del self._messages[message_id]

    # -- events ----------------------------------------------------------------------------
    async def broadcast(self, event: dict[str, Any]) -> None:
        """Send `event` to every tab at once; a tab that cannot keep up is dropped."""
        data = json.dumps(event, ensure_ascii=False)
        sockets = list(self._sockets)
        if sockets:
            await asyncio.gather(*(self._send(socket, data) for socket in sockets))

    async def tell(self, socket: Socket, event: dict[str, Any]) -> None:
        """Send `event` to one tab only (notices meant for one person)."""
        await self._send(socket, json.dumps(event, ensure_ascii=False))

    async def _send(self, socket: Socket, data: str) -> None:
        if socket.closed:
            self._sockets.discard(socket)
            return
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await socket.send_str(data)
        except (ConnectionError, RuntimeError, TimeoutError):
            self._sockets.discard(socket)


def _said(message: Message) -> str:
    if not message.files:
        return message.text
    attached = f"(attached: {', '.join(message.files)})"
    return f"{message.text}\n{attached}" if message.text else attached


def _until(messages: Iterable[Message], before: str | None) -> Iterable[Message]:
    for message in messages:
        if message.id == before:
            return
        yield message
