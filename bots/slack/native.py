"""TRICKLE_SLACK_STREAM=native: Slack's own streaming (`chat.startStream` and friends).

Instead of rewriting the whole message with `chat.update` (about 50 a minute for the
workspace), each edit appends only what is new with `chat.appendStream` (about 100 a
minute). The relay's pages only ever grow, so the new part of a page is simply what
follows what was sent, escaped like everything else.

Starting and stopping a stream are Tier 2 (about 20 a minute each, per workspace), far
scarcer than the appends between them, so neither may hold up a word:
- an answer starts a stream only when a `chat.startStream` permit is free at once
  (`Budget.take_now`); otherwise it posts its placeholder and streams with
  `chat.update`, as it would in edit mode, rather than queue behind the starts;
- a stream's final text goes by `chat.appendStream`, and the `chat.stopStream` that ends
  it is made afterwards on its own budget (`EndsAfterFinal`), when the text is shown.

Slack's streams have limits the edit mode does not: they live only in threads (a DM asked
at the top level is answered in edit mode), they stop accepting appends after about five
minutes (`message_not_in_streaming_state`), they cannot carry the Stop button while
streaming, and the method may not exist for an app (`unknown_method`). An expired stream
is finished with `chat.update` on the same message; a refused start answers that question
in edit mode, and an unavailable method switches the whole process back to edit mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bots.slack.errors import call_slack
from bots.slack.formatting import escape
from bots.slack.surface import SlackMessage, SlackThreadSurface
from core.pacing.budget import Budget
from core.surface import RateLimited, SurfaceError

log = logging.getLogger("trickle.slack")

EXPIRED = frozenset({"message_not_in_streaming_state"})
UNAVAILABLE = frozenset({"unknown_method", "not_allowed_token_type", "method_deprecated"})


@dataclass(slots=True)
class NativeSupport:
    """Whether native streaming is worth trying in this process."""

    enabled: bool = True


@dataclass(slots=True)
class _Stream:
    sent: int = 0  # escaped characters appended so far
    live: bool = True  # not stopped yet (its final text may be shown already)


class NativeThreadSurface(SlackThreadSurface):
    """A Slack thread answered with `chat.startStream` / `appendStream` / `stopStream`,
    falling back to the edit mode of `SlackThreadSurface` message by message."""

    def __init__(self, *, recipient: str, support: NativeSupport, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._recipient = recipient
        self._support = support
        self._streams: dict[str, _Stream] = {}
        self._by_edits = False  # this answer streams with chat.update (refused, or no start free)

    def _native(self) -> bool:
        return self._support.enabled and self.thread_ts is not None and not self._by_edits

    async def post_placeholder(self) -> SlackMessage:
        ref = await self._open("") if self._native() else None
        return ref or await super().post_placeholder()

    async def post_opening(self, text: Callable[[], str]) -> SlackMessage:
        """A stream opened with what the model wrote while the post budget kept it
        waiting (appends follow), as in edit mode; or edit mode's opening."""
        ref = await self._open(text()) if self._native() else None
        return ref or await super().post_opening(text)

    async def _open(self, text: str) -> SlackMessage | None:
        """The answer's first message as a stream showing `text`, if it may stream."""
        ref = await self._try_start(escape(text))
        if ref is not None:
            self.first = ref
            if text:
                self._answering = True
            elif self._status is not None:
                self._status.show()  # the stream shows nothing until the first append
        return ref

    async def post_page(self, text: str, *, final: bool) -> SlackMessage:
        # A page final when posted (a refusal's notice, a last short page) needs no
        # stream: one chat.postMessage instead of chat.startStream and chat.stopStream.
        if self._native() and not final:
            ref = await self._try_start(escape(text))
            if ref is not None:
                return ref
        return await super().post_page(text, final=final)

    async def edit(self, ref: SlackMessage, text: str, *, final: bool) -> None:
        """Append what is new to a live stream, the final text included (the stop comes
        later, from `end`); anything else is edited as in edit mode."""
        stream = self._streams.get(ref.ts)
        if stream is None or not stream.live:
            return await super().edit(ref, text, final=final)
        self._answering = True
        new = escape(text)[stream.sent :]
        try:
            if new:
                await self._call("chat.appendStream", self._client.chat_appendStream, ref, new)
            stream.sent += len(new)
        except SurfaceError as exc:
            if exc.code not in EXPIRED:
                raise
            log.info("stream %s in %s ended early (%s); finishing it with chat.update", ref.ts, self.where, exc.code)
            stream.live = False
            await super().edit(ref, text, final=final)
        if self._status is not None and (final or text):
            self._status.clear()

    def must_end(self, ref: SlackMessage) -> bool:
        """Whether `ref` is a stream not stopped yet."""
        stream = self._streams.get(ref.ts)
        return stream is not None and stream.live

    def end_budget(self, ref: SlackMessage) -> Budget | None:
        return self._budgets.stream_stops(self.team)

    async def end(self, ref: SlackMessage) -> None:
        """Stop the stream of `ref`, whose final text it shows already; one that expired
        meanwhile is over anyway."""
        stream = self._streams.get(ref.ts)
        if stream is None or not stream.live:
            return
        try:
            await self._call("chat.stopStream", self._client.chat_stopStream, ref, "")
        except SurfaceError as exc:
            if exc.code not in EXPIRED:
                raise
        stream.live = False

    def locate(self, ref: SlackMessage) -> dict[str, Any]:
        """As in edit mode, plus whether `ref` is a live stream: Slack refuses `chat.update`
        on one, so whoever finishes it after a crash must stop the stream first."""
        where = super().locate(ref)
        stream = self._streams.get(ref.ts)
        if stream is not None and stream.live:
            where["stream"] = True
        return where

    def answer_edit_budget(self) -> Budget | None:
        # Streamed or edited is decided only when the first message goes out (a start
        # free or not); the relay joins the budget of that message then.
        return None if self._native() else super().answer_edit_budget()

    def edit_budget(self, ref: SlackMessage) -> Budget | None:
        stream = self._streams.get(ref.ts)
        if stream is not None and stream.live:
            return self._budgets.appends(self.team)
        return super().edit_budget(ref)

    async def show_status(self, ref: SlackMessage, status: str) -> bool:
        if ref.ts not in self._streams:  # a stream's text is append-only: no status in it
            return await super().show_status(ref, status)
        return False

    async def _try_start(self, markdown: str) -> SlackMessage | None:
        """A new stream showing `markdown`, or None when this answer goes on in edit
        mode: no start free at once (see the module docstring), or the start refused."""
        starts = self._budgets.stream_starts(self.team)
        if not await starts.take_now():
            self._by_edits = True
            log.info("no chat.startStream free in %s; this answer uses chat.update", self.where)
            return None
        try:
            return await self._start(markdown)
        except RateLimited as limited:  # Slack counted more starts than we did: not a retry
            starts.rate_limited(limited.retry_after)
            self._by_edits = True
            log.warning("chat.startStream rate limited in %s; this answer uses chat.update", self.where)
        except SurfaceError as exc:
            self._unavailable(exc)
        return None

    async def _start(self, markdown: str) -> SlackMessage:
        response = await call_slack(
            self._client.chat_startStream(
                channel=self.channel,
                thread_ts=self.thread_ts or "",
                markdown_text=markdown or None,
                recipient_user_id=self._recipient,
                recipient_team_id=self.team,
            ),
            method="chat.startStream",
            where=self.where,
        )
        ref = SlackMessage(str(response.get("channel") or self.channel), str(response["ts"]))
        self._streams[ref.ts] = _Stream(sent=len(markdown))
        self.pages.append(ref)
        return ref

    async def _call(self, method: str, func: Any, ref: SlackMessage, markdown: str) -> None:
        extra = {"markdown_text": markdown} if markdown else {}
        await call_slack(func(channel=ref.channel, ts=ref.ts, **extra), method=method, where=self.where)

    def _unavailable(self, exc: SurfaceError) -> None:
        """`chat.startStream` refused: this answer goes on in edit mode, whatever the reason
        (a channel type streams cannot use, a missing scope...), so nothing is lost; a
        method the app cannot use at all switches the whole process to edit mode, once."""
        if exc.transient:
            raise exc  # a 5xx may have started the stream after all: let the relay retry
        self._by_edits = True
        if exc.code not in UNAVAILABLE:
            log.warning("chat.startStream refused in %s (%s); this answer uses chat.update", self.where, exc.code)
        elif self._support.enabled:
            self._support.enabled = False
            log.warning("native streaming is unavailable (%s); streaming with chat.update instead", exc.code)
