"""REST routes of channels and their messages: post, edit, read, delete, history, typing.

Why together: these are the bot-token routes a channel's buckets govern -- creates and
edits share Discord's bucket hash yet count apart, and reads have a bucket of their own
when ``read_bucket`` is set -- and a message reached through them must be visible in
that channel (not deleted, not ephemeral).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from ..records import FakeMessage
from ..wire import HTTPError, Reply, Request, Route, body_of, route
from .base import WritingRoutes


@dataclass(eq=False)
class ChannelRoutes(WritingRoutes):
    """A channel, its messages and its history, as the bot token sees them.

    ``bot_edits_interaction_messages=False`` refuses edits of the bot's public
    interaction responses through the channel route (50005), as for an app without the
    channel.
    """

    _: KW_ONLY
    bot_edits_interaction_messages: bool

    def routes(self) -> list[Route]:
        messages = "/channels/{channel_id}/messages"
        message = messages + "/{message_id}"
        limits = self.limiter
        return [
            route("GET", "/channels/{channel_id}", self._get_channel),
            route("POST", "/channels/{channel_id}/typing", self._typing),
            route("GET", messages, self._history, bucket=limits.for_reads),
            route("POST", messages, self._channel_create, bucket=limits.for_creates),
            route("GET", message, self._channel_get, bucket=limits.for_reads),
            route("PATCH", message, self._channel_edit, bucket=limits.for_edits),
            route("DELETE", message, self._channel_delete),
        ]

    async def _get_channel(self, req: Request) -> Reply:
        return Reply(200, dict(self.world.channel(req.params["channel_id"])))

    async def _typing(self, req: Request) -> Reply:
        self.world.channel(req.params["channel_id"])
        return Reply(204)

    def _channel_message(self, cid: str, mid: str) -> FakeMessage:
        self.world.channel(cid)
        msg = self.world.messages.get(mid)
        if msg is None or msg.channel_id != cid or msg.deleted or msg.ephemeral:
            raise HTTPError(404, 10008, "Unknown Message")
        return msg

    async def _channel_create(self, req: Request) -> Reply:
        channel = self.world.channel(req.params["channel_id"])
        payload = body_of(req)
        self.writer.validate(payload, None)
        msg = self.writer.create(payload, channel=channel, route=f"POST /channels/{channel['id']}/messages")
        await self.gateway.echo("MESSAGE_CREATE", msg)
        return Reply(200, msg.to_payload())

    async def _channel_edit(self, req: Request) -> Reply:
        msg = self._channel_message(req.params["channel_id"], req.params["message_id"])
        if msg.author["id"] != self.world.bot_user["id"] or (
            msg.interaction_token is not None and not self.bot_edits_interaction_messages
        ):
            raise HTTPError(403, 50005, "Cannot edit a message authored by another user")
        return await self._edit(msg, req, route=f"PATCH /channels/{msg.channel_id}/messages/{msg.id}")

    async def _channel_get(self, req: Request) -> Reply:
        return Reply(200, self._channel_message(req.params["channel_id"], req.params["message_id"]).to_payload())

    async def _channel_delete(self, req: Request) -> Reply:
        msg = self._channel_message(req.params["channel_id"], req.params["message_id"])
        msg.deleted = True
        return Reply(204)

    async def _history(self, req: Request) -> Reply:
        """Newest first, like Discord; supports limit (1-100), before and after."""
        self.world.channel(req.params["channel_id"])
        msgs = self.world.channel_messages(req.params["channel_id"])
        try:
            limit = max(1, min(100, int(req.query.get("limit", "50"))))
        except ValueError:
            raise HTTPError(400, 50035, "Invalid Form Body") from None
        if "before" in req.query:
            msgs = [m for m in msgs if int(m.id) < int(req.query["before"])]
        if "after" in req.query:
            msgs = [m for m in msgs if int(m.id) > int(req.query["after"])]
            selected = msgs[:limit]  # the oldest ones after the anchor
        else:
            selected = msgs[-limit:]
        return Reply(200, [m.to_payload() for m in reversed(selected)])
