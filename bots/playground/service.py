"""`trickle playground`: serve the chat page, read what tabs say, run the answers.

The playground is a third adapter, not a demo mock: questions become `Question`s for the
same `Assistant`, answers stream through the same relay into a `PlaygroundSurface`. It
runs its own small aiohttp server (the shared one on port 3000 is not started for this
command), on loopback by default, and prints exactly one line with its URL.

Protocol over `/ws` (JSON text frames; every frame a tab sends may carry `name`):

- tab -> server: `{"type": "say", "text"}`, `{"type": "stop", "answer_id"}`, and
  `{"type": "feedback", "answer_id", "verdict": "good" | "bad"}` (a thumbs up or down on a
  finished answer). A message with files is not a frame but a `POST /say` (multipart:
  `name`, `text`, `file`...; the tab's key in `X-Trickle-Key`), see `uploads.py`.
- server -> one tab, once on connect: `{"type": "history", "messages": [message...],
  "you": {id, name, key}, "title": str | null, "suggestions": {"greeting", "prompts":
  [{title, message, text}]} | null, "rated": {answer_id: verdict}, "uploads": {max_bytes,
  max_files}}`: `suggestions` only while the channel is empty (a prompt's button posts
  its `text` as a `say`), `rated` is what this person already rated, `uploads` what one
  message's files may come to.
- server -> every tab: `message.create` / `message.edit` (a message's state, see
  `channel.Message.event`) and `{"type": "title", "title"}` when the first question names
  the conversation (`core.conversation.suggestions.title_for`; later questions do not rename it).
- server -> one tab: `{"type": "notice", "text"}`, and `{"type": "feedback", "answer_id",
  "verdict", "status": "counted" | "already" | "refused", "text"}` answering its vote.

Who a tab is comes from its connection, never from what it sends (see `tabs.py`): two
tabs are always two people, and only the tab that asked (or a reconnect of it, presenting
its key as `/ws?key=...`) may stop an answer. The name a tab sends is only shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from aiohttp import WSMsgType, web

from bots.context import ServiceContext
from bots.metrics import Metrics
from bots.playground import pages
from bots.playground.channel import Channel, Socket
from bots.playground.conversation import offer, question_in
from bots.playground.feedback import Ratings
from bots.playground.hosts import PlaygroundHosts, same_origin
from bots.playground.pages import STATIC
from bots.playground.surface import AnswerStats, PlaygroundSurface, channel_budget
from bots.playground.tabs import Tab
from bots.playground.uploads import (
    KEY_HEADER,
    MAX_FILES,
    MAX_UPLOAD_BYTES,
    UploadedFile,
    UploadRefused,
    read_upload,
)
from core.assistant import Assistant
from core.conversation.suggestions import DEFAULT_PROMPTS, SuggestedPrompt, title_for
from core.pacing.budget import Budget
from core.question import USAGE_HINT, Asker, Question, about_files, is_blank, new_answer_id
from core.stops import StopResult

log = logging.getLogger("trickle.playground")

__all__ = ["STATIC", "Playground", "build_app", "question_in", "setup"]

HISTORY_TURNS = 20
MAX_TEXT = 4000
PLATFORM = "playground"
FILES_UNREAD = "Files are read only for a question to @trickle (or /ask): these were only shared with the channel."
NOT_CONNECTED = "This page is not connected to the playground; reload it and send again."
NOTHING_TO_SEND = "There is nothing to send: write something or attach a file."


def notice(text: str) -> dict[str, Any]:
    return {"type": "notice", "text": text}


def _too_long() -> str:
    return f"That message is too long ({MAX_TEXT} characters at most)."


class Playground:
    """The channel, the assistant and the answers running in it.

    Answers run as the assistant's tasks, so a tab's socket keeps being read (for Stop)
    while its answer streams, and shutdown waits for their final edits.
    """

    __slots__ = (
        "assistant",
        "channel",
        "budget",
        "metrics",
        "prompts",
        "ratings",
        "max_upload",
        "_tabs",
    )

    def __init__(
        self,
        assistant: Assistant,
        *,
        channel: Channel | None = None,
        budget: Budget | None = None,
        metrics: Metrics | None = None,
        prompts: tuple[SuggestedPrompt, ...] | None = None,
        max_upload: int = MAX_UPLOAD_BYTES,
    ) -> None:
        self.assistant = assistant
        self.channel = channel or Channel()
        self.budget = budget or channel_budget()
        self.metrics = metrics or Metrics()
        self.prompts = DEFAULT_PROMPTS if prompts is None else prompts
        self.ratings = Ratings()
        self.max_upload = max_upload  # bytes per request: the app's `client_max_size`
        # Each tab's newest socket, so that a message posted over HTTP is told its notices
        # where the tab listens (a reconnect replaces its old socket).
        self._tabs: dict[str, Socket] = {}

    @classmethod
    def serving(cls, ctx: ServiceContext) -> Playground:
        """The playground of a running service: its assistant, settings and metrics."""
        return cls(ctx.assistant, metrics=ctx.metrics, prompts=ctx.settings.suggested_prompts)

    def __repr__(self) -> str:
        return f"<Playground {self.channel!r} answers={len(self.assistant.tasks)} {self.budget!r}>"

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """One tab: send it the history, then read what it says until it leaves."""
        # The host names were checked for every route (`hosts.guard`); a page of another
        # port or scheme on one of them is still another site.
        if not same_origin(request.headers.get("Host"), request.headers.get("Origin")):
            log.warning("refused a WebSocket from another origin: %.100r", request.headers.get("Origin"))
            raise web.HTTPForbidden(text="cross-origin WebSocket refused")
        tab = Tab.issue(request.query.get("key"))
        socket = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
        await socket.prepare(request)
        history = self._history(socket, tab)
        self._tabs[tab.id] = socket
        try:
            await socket.send_str(json.dumps(history, ensure_ascii=False))
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    await self.receive(socket, tab, frame.data)
        finally:
            self.channel.leave(socket)
            if self._tabs.get(tab.id) is socket:
                del self._tabs[tab.id]
        return socket

    async def post(self, request: web.Request) -> web.Response:
        """`POST /say`: a message with files, from a tab that is connected.

        The tab names itself by its key, in a header: a page of another site cannot send
        one without asking first (CORS), and the key finds the socket the tab listens on,
        so what the message earns (a usage hint, say) is told there, as for a frame.
        Refusals are the response: `{"error"}` with a 4xx status, the page shows it.
        """
        if not same_origin(request.headers.get("Host"), request.headers.get("Origin")):
            log.warning("refused a message from another origin: %.100r", request.headers.get("Origin"))
            return UploadRefused(403, "A page of another site cannot post here.").response()
        key = request.headers.get(KEY_HEADER) or ""
        tab = Tab.issue(key)
        socket = self._tabs.get(tab.id) if tab.key == key else None
        if socket is None:
            return UploadRefused(403, NOT_CONNECTED).response()
        try:
            upload = await read_upload(request)
            if is_blank(upload.text) and not upload.files:
                raise UploadRefused(400, NOTHING_TO_SEND)
            if len(upload.text) > MAX_TEXT:
                raise UploadRefused(400, _too_long())
        except UploadRefused as refused:
            log.info("refused a message from %s: %s", tab.id, refused.text)
            return refused.response()
        await self.say(socket, tab.asker(upload.name), upload.text, upload.files)
        return web.json_response({"ok": True})

    def _history(self, socket: Socket, tab: Tab) -> dict[str, Any]:
        """What a tab gets first, joining it in the same step: no event can fall between."""
        history = self.channel.join(socket)
        suggestions = None if history["messages"] else offer(self.prompts)
        you = {"you": tab.introduction(), "rated": self.ratings.by(tab.id)}
        uploads = {"max_bytes": self.max_upload, "max_files": MAX_FILES}
        return {**history, **you, "suggestions": suggestions, "uploads": uploads}

    async def receive(self, socket: Socket, tab: Tab, data: str) -> None:
        """Act on one frame from a tab."""
        try:
            event = json.loads(data)
            kind, asker = event["type"], tab.asker(event.get("name"))
        except (ValueError, TypeError, KeyError):
            await self.channel.tell(socket, notice("The page sent something unreadable; reload it."))
            return
        if kind == "say":
            await self.say(socket, asker, str(event.get("text", "")))
        elif kind == "stop":
            await self.stop(socket, asker, str(event.get("answer_id", "")))
        elif kind == "feedback":
            await self.rate(socket, asker, event.get("answer_id"), event.get("verdict"))

    async def say(self, socket: Socket, asker: Asker, text: str, files: Sequence[UploadedFile] = ()) -> None:
        """Post what a person wrote; if it asks the bot something, start the answer.

        Files go with a question to the assistant, which reads them once the placeholder
        is up; a mention with files and no words asks what is in them.
        """
        if is_blank(text) and not files:
            return
        if len(text) > MAX_TEXT:
            await self.channel.tell(socket, notice(_too_long()))
            return
        names = tuple(f.name for f in files)
        message = await self.channel.post(author=asker.name, text=text, bot=False, final=True, files=names)
        asked = question_in(text)
        if asked is None:
            if files:
                await self.channel.tell(socket, notice(FILES_UNREAD))
            return
        if is_blank(asked) and not files:
            await self.channel.tell(socket, notice(USAGE_HINT))
            return
        asked = asked if not is_blank(asked) else about_files(len(files))
        await self.channel.entitle(title_for(asked))
        history = self.channel.conversation(before=message.id, limit=HISTORY_TURNS)
        question = Question(
            text=asked,
            asker=asker,
            history=history,
            place=PLATFORM,
            files=[f.remote() for f in files],
        )
        self.assistant.spawn(self._answer(question), name=f"trickle-playground-{message.id}")

    async def stop(self, socket: Socket, by: Asker, answer_id: str) -> None:
        """The Stop button: only the tab that asked may stop an answer.

        `by.id` is the tab's, so TRICKLE_ADMINS (platform user ids) never matches here: the
        playground has no login, and a typed name proves nothing.
        """
        result = self.assistant.stop(answer_id, by=by)
        if result is StopResult.NOT_ALLOWED:
            asker = self.assistant.asker_of(answer_id)
            owner = asker.name if asker else "the asker"
            await self.channel.tell(socket, notice(f"Only {owner} can stop this answer."))
        elif result is StopResult.NOT_FOUND:
            await self.channel.tell(socket, notice("That answer has already ended."))

    async def rate(self, socket: Socket, by: Asker, answer_id: object, verdict: object) -> None:
        """A thumbs up or down, counted once per person and answer and told to that tab only.
        It never edits the answer: a thumbs-down is a figure for the operator."""
        ruling = self.ratings.judge(self.channel, by.id, answer_id, verdict)
        if ruling.counted and ruling.verdict is not None:
            self.metrics.rated(PLATFORM, ruling.verdict)
            log.info("feedback: %s from %s", ruling.verdict, by.id, extra={"answer_id": ruling.answer_id})
        await self.channel.tell(socket, ruling.event())

    async def _answer(self, question: Question) -> None:
        # Quotas and queueing (one answer per person at a time) are the assistant's: a
        # refused or queued answer says so in its own message, as on the other platforms.
        answer_id = new_answer_id()
        stats = AnswerStats()
        surface = PlaygroundSurface(
            self.channel,
            budget=self.budget,
            answer_id=answer_id,
            asker=question.asker.name,
            asker_id=question.asker.id,
            stats=stats,
        )
        try:
            outcome = await self.assistant.answer(surface, question, answer_id=answer_id, observer=stats)
            log.info(
                "answer ended: %s after %d edits",
                outcome.end.value,
                outcome.edits,
                extra={"answer_id": answer_id},
            )
            await surface.publish_stats()
        except Exception:  # the relay never raises on faults; anything else is a bug to log
            log.exception("playground answer failed", extra={"answer_id": answer_id})

    async def close(self) -> None:
        """Say goodbye to every tab; their pages reconnect when the playground is back."""
        for socket in self.channel.sockets:
            with contextlib.suppress(Exception):
                await socket.close(code=1001, message=b"the playground is shutting down")


def build_app(playground: Playground, *, hosts: PlaygroundHosts | None = None) -> web.Application:
    """The page, its static files, the playground's WebSocket and its `POST /say` (see
    `pages.py`), taking request bodies up to `playground.max_upload` bytes."""
    return pages.build_app(playground.websocket, say=playground.post, hosts=hosts, max_upload=playground.max_upload)


async def setup(ctx: ServiceContext) -> Coroutine[Any, Any, None]:
    """Start listening (a busy port fails the start) and return the serving coroutine."""
    host: str = getattr(ctx.args, "host", None) or "127.0.0.1"
    given = getattr(ctx.args, "port", None)
    port = 8080 if given is None else int(given)
    playground = Playground.serving(ctx)
    hosts = PlaygroundHosts.serving(host, ctx.settings.playground_hosts)
    names = ", ".join(sorted(hosts.names))
    log.info("answering to the host names %s (more: TRICKLE_PLAYGROUND_HOSTS)", names)
    runner, url = await pages.listen(build_app(playground, hosts=hosts), host, port)
    print(f"Playground: {url}", flush=True, file=sys.stdout)
    return _serve(runner, playground, ctx.drained)


async def _serve(runner: web.AppRunner, playground: Playground, drained: asyncio.Event) -> None:
    """Serve until the service has drained the answers (their ends reach the open tabs)."""
    try:
        await drained.wait()
    finally:
        await playground.close()
        await runner.cleanup()
