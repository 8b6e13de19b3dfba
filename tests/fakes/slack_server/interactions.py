"""Interactivity handed out and redeemed: trigger ids, response URLs and their replies.

With each interaction and slash command Slack hands out a `trigger_id` (usable once, for
a few seconds, to open a modal) and a `response_url` (30 minutes, five uses). The fake
issues them, enforces those limits and shows a reply as Slack would: the original
message replaced or deleted, a new message in the channel, or an ephemeral for one user.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.slack_server.messages import FakeMessage
from tests.fakes.slack_server.state import Workspace


@dataclass(slots=True)
class _Trigger:
    """A `trigger_id` the fake handed out: when, and whether a view was opened with it."""

    issued_at: float
    used: bool = False


@dataclass(slots=True)
class _ResponseUrl:
    """A `response_url` the fake handed out: where its replies go and how often it was used.

    `message_ts` is None for a slash command's (no message: replies go to the channel).
    """

    channel: str
    message_ts: str | None
    user: str | None
    issued_at: float
    uses: int = 0


class Interactions(Workspace):
    """Triggers, response URLs, modals opened and commands run; a mixin of `FakeSlack`."""

    def _init_interactions(self) -> None:
        """Slack's lifetimes for triggers and response URLs; nothing handed out yet."""
        self.responses: list[dict[str, Any]] = []
        self.commands: list[dict[str, str]] = []
        self.views: list[dict[str, Any]] = []
        self.trigger_ttl = 3.0
        self.response_url_ttl = 1800.0
        self.response_url_max_uses = 5
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._triggers: dict[str, _Trigger] = {}

    def _issue_trigger(self) -> str:
        """A fresh `trigger_id`, usable once by `views.open` for `trigger_ttl` seconds."""
        trigger_id = f"{next(self._ids)}.{self.team_id}.{uuid.uuid4().hex[:16]}"
        self._triggers[trigger_id] = _Trigger(issued_at=self._clock())
        return trigger_id

    def _issue_response_url(self, channel: str, message_ts: str | None, user: str | None) -> str:
        """A fresh `response_url` on this fake, replying about `message_ts` (None: a command)."""
        rid = uuid.uuid4().hex
        self._response_urls[rid] = _ResponseUrl(channel, message_ts, user, self._clock())
        return f"{self.base_url}/response/{rid}"

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """A POST to a `response_url`: Slack's limits (unknown, expired, used up), then apply it."""
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_json")
        rid = request.match_info["rid"]
        target = self._response_urls.get(rid)
        if target is None:
            return web.Response(status=404, text="invalid_url")
        if self._clock() - target.issued_at > self.response_url_ttl:
            return web.Response(status=404, text="expired_url")
        if target.uses >= self.response_url_max_uses:
            return web.Response(status=404, text="used_url")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        if not body.get("delete_original") and not any(body.get(k) for k in ("text", "blocks", "attachments")):
            return web.Response(status=400, text="no_text")
        target.uses += 1
        self._apply_response(rid, target, body, via="response_url")
        return web.json_response({"ok": True})

    def _apply_response(self, rid: str, target: _ResponseUrl, body: dict[str, Any], *, via: str) -> None:
        """Show a reply as Slack would: replace / delete the message, post in channel, or
        show it to the user alone (`ephemerals`). `via` is "response_url" or "ack"."""
        self.responses.append({"time": self._clock(), "id": rid, "body": body, "via": via})
        msg = self.message(target.channel, target.message_ts) if target.message_ts else None
        if msg is not None and body.get("delete_original"):
            msg.deleted = True
        elif msg is not None and body.get("replace_original"):
            msg.text = str(body.get("text", msg.text))
            if "blocks" in body:
                msg.blocks = body.get("blocks") or None
            msg.record(self._clock())
        elif body.get("response_type") == "in_channel":
            reply = FakeMessage(
                channel=target.channel,
                ts=self.next_ts(),
                text=str(body.get("text", "")),
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=msg.thread_ts if msg else None,
                blocks=body.get("blocks"),
            )
            reply.record(self._clock())
            self._store(reply)
        else:
            self.ephemerals.append(
                {
                    "time": self._clock(),
                    "channel": target.channel,
                    "user": target.user,
                    "response_url": rid,
                    "via": via,
                    **body,
                }
            )

    def _apply_command_ack(self, payload: Mapping[str, Any], ack_body: Any) -> None:
        """A slash command's ack body is the app's immediate reply: show it (see `_apply_response`)."""
        if isinstance(ack_body, str):
            ack_body = {"text": ack_body}
        if not isinstance(ack_body, dict) or not ack_body:
            return
        rid = str(payload.get("response_url", "")).rsplit("/", 1)[-1]
        target = self._response_urls.get(rid)
        if target is not None:
            self._apply_response(rid, target, ack_body, via="ack")
