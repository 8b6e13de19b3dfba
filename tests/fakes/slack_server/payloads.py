"""The events and interaction payloads Slack sends an app, built as Slack shapes them.

Tests deliver these over Socket Mode or signed HTTP; building them here, with the
workspace's ids, fresh `trigger_id`s and `response_url`s on this fake, keeps every test's
payload the same shape the SDK parses in production.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Mapping
from typing import Any

from tests.fakes.slack_server.interactions import Interactions
from tests.fakes.slack_server.messages import (
    channel_name,
    channel_type_of,
    rich_text_blocks,
)


class Payloads(Interactions):
    """Builders of `event_callback`s, events and interaction payloads; a mixin of `FakeSlack`."""

    def event_callback(self, event: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """The `event_callback` body Slack wraps an event in (HTTP body / envelope payload)."""
        return {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or self.new_event_id(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-fake-{self.team_id}",
        }

    def new_event_id(self) -> str:
        """A fresh `Ev...` id."""
        return f"Ev{next(self._ids):08d}FAKE"

    def mention_event(
        self, user: str, text: str, channel: str, ts: str | None = None, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """An `app_mention` whose text is `<@BOT> text` (ts fresh unless given)."""
        event = self.message_event(user, f"<@{self.bot_user_id}> {text}", channel, ts=ts, thread_ts=thread_ts)
        event["type"] = "app_mention"
        event.pop("channel_type", None)
        return event

    def message_event(
        self,
        user: str,
        text: str,
        channel: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        *,
        channel_type: str | None = None,
    ) -> dict[str, Any]:
        """A user's `message` event (channel_type from the id: D -> im, G -> group)."""
        ts = ts or self.next_ts()
        event: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "team": self.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "channel_type": channel_type or channel_type_of(channel),
            "blocks": rich_text_blocks(text, block_id=uuid.uuid4().hex[:5]),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def block_action_payload(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str,
        *,
        block_id: str = "actions",
        text: str = "Stop",
    ) -> dict[str, Any]:
        """A `block_actions` payload for a button click on `message_ts` (as Slack sends it).

        Its `response_url` points back at this fake (recorded in `responses`).
        """
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": text, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        return self._block_actions(user, channel, message_ts, action)

    def _block_actions(self, user: str, channel: str, message_ts: str, action: dict[str, Any]) -> dict[str, Any]:
        """The `block_actions` payload around one `action` on a message (any element type)."""
        msg = self.message(channel, message_ts)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if msg is not None and msg.thread_ts:
            container["thread_ts"] = msg.thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_ref(user),
            "api_app_id": self.app_id,
            "token": "fake-verification-token",
            "container": container,
            "trigger_id": self._issue_trigger(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": channel_name(channel)},
            "state": {"values": {}},
            "response_url": self._issue_response_url(channel, message_ts, user),
            "actions": [action],
        }
        if msg is not None:
            payload["message"] = self._serialize(msg)
        return payload

    def _user_ref(self, user: str) -> dict[str, str]:
        """The `user` object interaction payloads carry."""
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id}

    def feedback_click_payload(
        self, channel: str, message_ts: str, *, user: str, value: str, action_id: str
    ) -> dict[str, Any]:
        """The `block_actions` payload Slack sends when `user` clicks a feedback button.

        The message must show a `context_actions` block with a `feedback_buttons` element
        `action_id` whose positive or negative button has `value` (ValueError otherwise: a
        button that is not on screen cannot be clicked). The action is
        `{"type": "feedback_buttons", "action_id", "block_id", "value", "text", "action_ts"}`.
        """
        msg = self.message(channel, message_ts)
        if msg is None or msg.deleted:
            raise ValueError(f"no message {message_ts} in {channel}")
        for index, block in enumerate(msg.blocks or ()):
            if block.get("type") != "context_actions":
                continue
            for element in block.get("elements") or ():
                if element.get("type") != "feedback_buttons" or element.get("action_id") != action_id:
                    continue
                for side in ("positive_button", "negative_button"):
                    button = element.get(side) or {}
                    if button.get("value") == value:
                        action = {
                            "type": "feedback_buttons",
                            "action_id": action_id,
                            "block_id": block.get("block_id") or f"context_actions_{index}",
                            "value": value,
                            "text": {**button.get("text", {}), "emoji": True},
                            "action_ts": f"{time.time():.6f}",
                        }
                        return self._block_actions(user, channel, message_ts, action)
        raise ValueError(f"message {message_ts} has no feedback button {action_id!r} with value {value!r}")

    def message_shortcut_payload(self, callback_id: str, *, channel: str, message_ts: str, user: str) -> dict[str, Any]:
        """The `message_action` payload of `user` running the shortcut `callback_id` on a message.

        The message must exist (ValueError otherwise). It carries a fresh `trigger_id`
        (for `views.open`, `trigger_ttl` seconds, once) and a `response_url` on this fake.
        """
        msg = self.message(channel, message_ts)
        if msg is None or msg.deleted:
            raise ValueError(f"no message {message_ts} in {channel}")
        return {
            "type": "message_action",
            "token": "fake-verification-token",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user_ref(user),
            "channel": {"id": channel, "name": channel_name(channel)},
            "is_enterprise_install": False,
            "enterprise": None,
            "api_app_id": self.app_id,
            "callback_id": callback_id,
            "trigger_id": self._issue_trigger(),
            "response_url": self._issue_response_url(channel, message_ts, user),
            "message_ts": message_ts,
            "message": self._serialize(msg),
        }

    def view_submission_payload(
        self, view_id: str, values: Mapping[str, Mapping[str, Any]], *, user: str
    ) -> dict[str, Any]:
        """The `view_submission` payload of `user` submitting the modal `view_id` (from `views`).

        `values` is `view.state.values`: `{block_id: {action_id: state}}`, where a plain
        string stands for a `plain_text_input` holding it. KeyError for an unknown view.
        """
        view = next((v for v in self.views if v["id"] == view_id), None)
        if view is None:
            raise KeyError(view_id)
        state = {
            block_id: {
                action_id: {"type": "plain_text_input", "value": v} if isinstance(v, str) else dict(v)
                for action_id, v in actions.items()
            }
            for block_id, actions in values.items()
        }
        submitted = copy.deepcopy(view)
        submitted["state"] = {"values": state}
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user_ref(user),
            "api_app_id": self.app_id,
            "token": "fake-verification-token",
            "trigger_id": self._issue_trigger(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def command_payload(self, command: str, text: str = "", *, user: str, channel: str) -> dict[str, str]:
        """A slash command's payload, every value a string as Slack's form fields are.

        It carries a fresh `trigger_id` and a `response_url` on this fake (replies go to
        `channel`; ephemeral ones to `user`). `send_command` / `post_command` build it.
        """
        if not command.startswith("/") or len(command) < 2:
            raise ValueError(f"a slash command starts with '/': {command!r}")
        return {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel,
            "channel_name": channel_name(channel),
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self._issue_response_url(channel, None, user),
            "trigger_id": self._issue_trigger(),
        }

    def _assistant_thread_body(
        self, user: str, channel: str, thread_ts: str, context_channel: str | None
    ) -> dict[str, Any]:
        """The `assistant_thread` object both assistant events carry."""
        context: dict[str, Any] = {}
        if context_channel:
            context = {"channel_id": context_channel, "team_id": self.team_id, "enterprise_id": None}
        return {"user_id": user, "context": context, "channel_id": channel, "thread_ts": thread_ts}

    def assistant_thread_started_event(self, user: str, *, context_channel: str | None = None) -> dict[str, Any]:
        """`user` opens a new assistant thread (in their DM with the bot, a fresh thread_ts).

        `context_channel` is the channel they were viewing (`context` is `{}` without one).
        Delivering it (`send_event` / `post_event` / `store_event`) creates the thread's
        parent message; the user's messages in it are `message_event(user, text,
        event["assistant_thread"]["channel_id"], thread_ts=...)`.
        """
        channel = self.dm_channel(user)
        thread_ts = self.next_ts()
        return {
            "type": "assistant_thread_started",
            "assistant_thread": self._assistant_thread_body(user, channel, thread_ts, context_channel),
            "event_ts": self.next_ts(),
        }

    def assistant_thread_context_changed_event(
        self, channel: str, thread_ts: str, user: str, *, context_channel: str
    ) -> dict[str, Any]:
        """`user` switched to `context_channel` with the assistant thread `thread_ts` open."""
        return {
            "type": "assistant_thread_context_changed",
            "assistant_thread": self._assistant_thread_body(user, channel, thread_ts, context_channel),
            "event_ts": self.next_ts(),
        }
