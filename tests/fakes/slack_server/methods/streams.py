"""Native streaming: `chat.startStream`, `chat.appendStream`, `chat.stopStream`.

A streamed message shows its Markdown as it grows; each append is a version in its
history. A stream expires after `stream_ttl`, and a workspace without the feature
(`native_streaming = False`) answers `unknown_method`, as an older Slack does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.checks import MethodChecks
from tests.fakes.slack_server.messages import FakeMessage, as_ts

STREAM_METHODS = frozenset({"chat.startStream", "chat.appendStream", "chat.stopStream"})


class StreamMethods(MethodChecks):
    """The three `chat.*Stream` methods; a mixin of `FakeSlack`."""

    def _init_streams(self, *, native_streaming: bool, max_append_text: int) -> None:
        """Whether the workspace has native streaming, and how long one piece may be."""
        self.native_streaming = native_streaming
        self.max_append_text = max_append_text

    @staticmethod
    def _stream_text(params: Params) -> str:
        """`markdown_text` plus the text of `markdown_text` chunks (slack_sdk's chat_stream)."""
        text = str(params.get("markdown_text") or "")
        for chunk in params.get("chunks") or ():
            if isinstance(chunk, Mapping) and chunk.get("type") == "markdown_text":
                text += str(chunk.get("text", ""))
        return text

    def _chat_start_stream(self, params: Params) -> dict[str, Any]:
        channel = self._check_channel(params.get("channel"))
        thread_ts = as_ts(params.get("thread_ts"))
        if not thread_ts:
            raise ApiError("invalid_arguments", extra={"response_metadata": {"messages": ["thread_ts is required"]}})
        if not channel.startswith("D"):
            if not params.get("recipient_user_id"):
                raise ApiError("missing_recipient_user_id")
            if not params.get("recipient_team_id"):
                raise ApiError("missing_recipient_team_id")
        text = self._stream_text(params)
        if len(text) > self.max_append_text:
            raise ApiError("msg_too_long")
        now = self._clock()
        msg = FakeMessage(
            channel=channel,
            ts=self.next_ts(),
            text=text,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=thread_ts,
            streamed=True,
            stream_started=now,
            stream_recipient=(params.get("recipient_user_id"), params.get("recipient_team_id")),
        )
        msg.record(now)
        self._store(msg)
        return {"ok": True, "channel": channel, "ts": msg.ts}

    def _live_stream(self, params: Params) -> FakeMessage:
        msg = self._bot_message(str(params.get("channel") or ""), params.get("ts"), verb="update")
        if not msg.streamed or self._stream_state(msg) != "streaming":
            raise ApiError("message_not_in_streaming_state")
        return msg

    def _chat_append_stream(self, params: Params) -> dict[str, Any]:
        msg = self._live_stream(params)
        text = self._stream_text(params)
        if len(text) > self.max_append_text:
            raise ApiError("msg_too_long")
        if text:
            msg.text += text
            msg.record(self._clock())
        return {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def _chat_stop_stream(self, params: Params) -> dict[str, Any]:
        msg = self._live_stream(params)
        text = self._stream_text(params)
        if len(text) > self.max_append_text:
            raise ApiError("msg_too_long")
        blocks = self._check_content(None, params.get("blocks")) if params.get("blocks") else msg.blocks
        msg.text += text
        msg.blocks = blocks
        msg.stream_stopped = True
        msg.record(self._clock())
        return {"ok": True, "channel": msg.channel, "ts": msg.ts, "message": self._serialize(msg)}
