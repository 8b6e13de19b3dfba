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

An answer in the assistant pane ends with feedback buttons. A stream cannot show blocks
while it streams, and only its stop can add them, so they ride on the stop of the
answer's last page (the relay ends a page left behind as soon as the next one exists, so
the last page is the one nothing follows when its stop is made). The workspace's
`FeedbackStyle` applies as in edit mode: Slack's `feedback_buttons`, plain buttons once
Slack refused those, and as a last resort none, since a stream must not stay open.

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

from bots.slack import messages
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
    text: str  # the page's Markdown as last sent (its final text, once final)
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
        ref = await self._try_start(text)
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
            ref = await self._try_start(text)
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
                await self._append(ref, new)
            stream.sent += len(new)
            stream.text = text
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
        """Stop the stream of `ref`, whose final text it shows already, with the feedback
        buttons if it is the answer's last page; one that expired meanwhile is over
        anyway, and gets its buttons the way an expired stream gets its text."""
        stream = self._streams.get(ref.ts)
        if stream is None or not stream.live:
            return
        rated = self._is_rated(ref)
        try:
            await (self._stop_with_feedback(ref) if rated else self._stop(ref))
        except SurfaceError as exc:
            if exc.code not in EXPIRED:
                raise
            if rated:
                await self._rate_expired(ref, stream.text)
        stream.live = False

    async def _rate_expired(self, ref: SlackMessage, text: str) -> None:
        """Give the buttons to a last page whose stream expired before its stop, with
        `chat.update`, as an expired stream gets its text. A 429 goes to the relay, which
        waits it out and ends the page again (the stream still counts as live until
        then); any other refusal costs only the buttons, the text being shown."""
        log.info("stream %s in %s expired before its stop; its buttons come by chat.update", ref.ts, self.where)
        try:
            await super().edit(ref, text, final=True)
        except (SurfaceError, OSError) as exc:
            log.warning("could not add the feedback buttons to %s in %s: %s", ref.ts, self.where, exc)

    def _is_rated(self, ref: SlackMessage) -> bool:
        """Whether `ref` gets the feedback buttons: a pane answer's last page. The relay
        stops a page only once it is final, and one left behind only once the page after
        it is posted, so the last page is the one nothing follows when it stops."""
        return self._feedback is not None and bool(self.pages) and self.pages[-1] == ref

    async def _stop_with_feedback(self, ref: SlackMessage) -> None:
        """Stop `ref` with the feedback buttons, as edit mode's final edit carries them:
        Slack's own, or plain ones where Slack refuses those (`invalid_blocks`), learned
        once for the process; if even those are refused, without buttons, because a
        stream left open keeps its "streaming" look. A refused stop changed nothing, and
        none carries text, so the text (appended already) is never lost nor doubled."""
        style = self._feedback_style
        refused: SurfaceError | None = None
        for plain in (True,) if style.plain else (False, True):
            try:
                await self._stop(ref, messages.feedback_row(self.answer_id, plain=plain))
            except SurfaceError as exc:
                if exc.code != "invalid_blocks":
                    raise
                refused = exc
                continue
            if plain and not style.plain:  # learned only once plain buttons went through
                style.plain = True
                log.info("Slack refused the feedback buttons (%s); using plain buttons from now on", refused)
            return
        log.warning("Slack refused every feedback button in %s; stopping the stream without them", self.where)
        await self._stop(ref)

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

    async def _try_start(self, text: str) -> SlackMessage | None:
        """A new stream showing `text`, or None when this answer goes on in edit mode:
        no start free at once (see the module docstring), or the start refused."""
        starts = self._budgets.stream_starts(self.team)
        if not await starts.take_now():
            self._by_edits = True
            log.info("no chat.startStream free in %s; this answer uses chat.update", self.where)
            return None
        try:
            return await self._start(text)
        except RateLimited as limited:  # Slack counted more starts than we did: not a retry
            starts.rate_limited(limited.retry_after)
            self._by_edits = True
            log.warning("chat.startStream rate limited in %s; this answer uses chat.update", self.where)
        except SurfaceError as exc:
            self._unavailable(exc)
        return None

    async def _start(self, text: str) -> SlackMessage:
        markdown = escape(text)
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
        self._streams[ref.ts] = _Stream(text, sent=len(markdown))
        self.pages.append(ref)
        return ref

    async def _append(self, ref: SlackMessage, markdown: str) -> None:
        await call_slack(
            self._client.chat_appendStream(channel=ref.channel, ts=ref.ts, markdown_text=markdown),
            method="chat.appendStream",
            where=self.where,
        )

    async def _stop(self, ref: SlackMessage, *blocks: messages.Block) -> None:
        """`chat.stopStream` with nothing new to show; `blocks` go below the text."""
        await call_slack(
            self._client.chat_stopStream(channel=ref.channel, ts=ref.ts, blocks=list(blocks) or None),
            method="chat.stopStream",
            where=self.where,
        )

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
