"""`chat.postMessage`, `chat.update`, `chat.postEphemeral`, `chat.delete`.

The methods a streaming bot leans on most. Each records a new version of the message
(with the clock) so staleness can be measured, and, with `echo_events`, sends the bot's
own post or edit back as an event, as Slack does.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.checks import MethodChecks
from tests.fakes.slack_server.http_events import HttpEvents
from tests.fakes.slack_server.messages import FakeMessage, as_ts, channel_type_of
from tests.fakes.slack_server.socket_mode import SocketMode


class ChatMethods(MethodChecks, SocketMode, HttpEvents):
    """The `chat.*` methods of classic (non-native) messages; a mixin of `FakeSlack`."""

    def _init_chat(self, *, echo_events: bool) -> None:
        """Whether the bot's own posts and edits come back as events."""
        self.echo_events = echo_events

    def _echo(self, event: dict[str, Any]) -> None:
        """Send the bot's own activity back as an event, as Slack does, when asked to."""
        if not self.echo_events:
            return
        if self._sockets:
            self._spawn(self.send_event(event))
        elif self.events_url:
            self._spawn(self.post_event(self.events_url, event))

    def _chat_post_message(self, params: Params) -> dict[str, Any]:
        channel = self._check_channel(params.get("channel"))
        text = params.get("text")
        text = None if text is None else str(text)
        blocks = self._check_content(text, params.get("blocks"))
        if not text and not blocks:
            raise ApiError("no_text")
        msg = FakeMessage(
            channel=channel,
            ts=self.next_ts(),
            text=text or "",
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=as_ts(params.get("thread_ts")),
            blocks=blocks,
            metadata=self._check_metadata(params.get("metadata")),
        )
        msg.record(self._clock())
        self._store(msg)
        body = self._serialize(msg, metadata=True)
        self._echo({**body, "channel": channel, "event_ts": msg.ts, "channel_type": channel_type_of(channel)})
        return {"ok": True, "channel": channel, "ts": msg.ts, "message": body}

    def _chat_update(self, params: Params) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        msg = self._bot_message(channel, params.get("ts"), verb="update")
        if self.strict_stream_updates and self._stream_state(msg) == "streaming":
            raise ApiError("streaming_state_conflict")
        text = params.get("text")
        if text is None and not params.get("blocks"):
            raise ApiError("no_text")
        new_text = msg.text if text is None else str(text)
        new_blocks = msg.blocks if "blocks" not in params else self._check_content(None, params.get("blocks"))
        self._check_content(new_text, None)
        if params.get("metadata") is not None:
            msg.metadata = self._check_metadata(params.get("metadata"))
        previous = self._serialize(msg)
        msg.text, msg.blocks, msg.streamed = new_text, new_blocks, False
        msg.edited = {"user": self.bot_user_id, "ts": self.next_ts()}
        msg.record(self._clock())
        body = self._serialize(msg)
        self._echo(
            {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": channel,
                "channel_type": channel_type_of(channel),
                "ts": msg.edited["ts"],
                "event_ts": msg.edited["ts"],
                "message": body,
                "previous_message": previous,
            }
        )
        return {
            "ok": True,
            "channel": channel,
            "ts": msg.ts,
            "text": msg.text,
            "message": self._serialize(msg, metadata=True),
        }

    def _chat_post_ephemeral(self, params: Params) -> dict[str, Any]:
        channel = self._check_channel(params.get("channel"))
        if not params.get("user"):
            raise ApiError("user_not_in_channel")
        text = params.get("text")
        blocks = self._check_content(None if text is None else str(text), params.get("blocks"))
        if not text and not blocks:
            raise ApiError("no_text")
        message_ts = self.next_ts()
        self.ephemerals.append(
            {
                "time": self._clock(),
                "channel": channel,
                "user": params.get("user"),
                "text": text or "",
                "blocks": blocks,
                "thread_ts": as_ts(params.get("thread_ts")),
                "message_ts": message_ts,
            }
        )
        return {"ok": True, "message_ts": message_ts}

    def _chat_delete(self, params: Params) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        msg = self._bot_message(channel, params.get("ts"), verb="delete")
        msg.deleted = True
        return {"ok": True, "channel": channel, "ts": msg.ts}
