"""REST routes of interactions: the callback that acknowledges one, and its webhook.

Why together: both live and die by the interaction -- the callback must come within the
acknowledgement deadline (3 s) and only once, and the webhook's token (for the original
response and follow-ups) dies after ``token_ttl`` (15 minutes), answering 50027, or a
proxy's bare status with ``dead_token_status``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field

from ..protocol import (
    EPHEMERAL,
    LOADING,
    RESPONSE_DEFERRED_MESSAGE,
    RESPONSE_DEFERRED_UPDATE,
    RESPONSE_MESSAGE,
    RESPONSE_PONG,
    RESPONSE_UPDATE,
    Json,
)
from ..records import FakeInteraction, FakeMessage
from ..wire import BareError, Handler, HTTPError, Params, Reply, Request, Route, body_of, form_error, route
from .base import WritingRoutes


@dataclass(eq=False)
class InteractionRoutes(WritingRoutes):
    """The interaction callback and the interaction webhook's messages."""

    _: KW_ONLY
    token_ttl: float
    ack_deadline: float
    callback_with_response: bool
    dead_token_status: int | None
    clock: Callable[[], float] = field(repr=False)

    def routes(self) -> list[Route]:
        def webhook(method: str, path: str, handler: Handler) -> Route:
            bucket, guard = self.limiter.for_webhook, self._webhook_interaction
            return route(method, "/webhooks/{app_id}/{token}" + path, handler, auth=False, bucket=bucket, guard=guard)

        return [
            route("POST", "/interactions/{interaction_id}/{token}/callback", self._callback, auth=False),
            webhook("GET", "/messages/{message_id}", self._webhook_get),
            webhook("PATCH", "/messages/{message_id}", self._webhook_edit),
            webhook("DELETE", "/messages/{message_id}", self._webhook_delete),
            webhook("POST", "", self._webhook_followup),
        ]

    def _interaction_expired(self, inter: FakeInteraction) -> bool:
        return inter.forced_expired or self.clock() - inter.created > self.token_ttl

    def _webhook_interaction(self, params: Params) -> FakeInteraction:
        """The live interaction a webhook path names; also each webhook route's guard."""
        inter = self.world.interactions.get(params["token"])
        if inter is None or params.get("app_id") != str(self.world.app_id):
            raise HTTPError(404, 10015, "Unknown Webhook")
        if self._interaction_expired(inter):
            if self.dead_token_status is not None:
                raise BareError(self.dead_token_status)
            raise HTTPError(401, 50027, "Invalid Webhook Token")
        return inter

    async def _callback(self, req: Request) -> Reply:
        inter = self.world.interactions.get(req.params["token"])
        if inter is None or inter.id != req.params["interaction_id"]:
            raise HTTPError(404, 10062, "Unknown interaction")
        if inter.response_type is not None:
            raise HTTPError(400, 40060, "Interaction has already been acknowledged.")
        if inter.forced_expired or self.clock() - inter.created > self.ack_deadline:
            raise HTTPError(404, 10062, "Unknown interaction")
        body = req.json if isinstance(req.json, Mapping) else {}
        rtype = int(body.get("type", 0))
        data: Json = dict(body.get("data") or {})
        trail = f"POST /interactions/{inter.id}/<token>/callback type={rtype}"
        channel = self.world.channel(inter.channel_id)
        message: FakeMessage | None = None
        if rtype == RESPONSE_MESSAGE:
            self.writer.validate(data, None)
            message = self.writer.create(
                data, channel=channel, route=trail, msg_type=20 if inter.type == 2 else 0, interaction=inter
            )
        elif rtype == RESPONSE_DEFERRED_MESSAGE:
            message = self.writer.create(
                {"flags": data.get("flags", 0)},
                channel=channel,
                route=trail,
                msg_type=20 if inter.type == 2 else 0,
                interaction=inter,
                flags=LOADING,
            )
            message.writes[-1].payload = dict(data)
        elif rtype in (RESPONSE_DEFERRED_UPDATE, RESPONSE_UPDATE):
            if inter.message_id is None:
                raise form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Only component interactions can update")
            message = self.world.messages[inter.message_id]
            if rtype == RESPONSE_UPDATE:
                self.writer.validate(data, message)
                self.writer.edit(message, data, route=trail)
        elif rtype not in (RESPONSE_PONG, 8, 9, 10, 12):
            raise form_error("type", "BASE_TYPE_CHOICES", f"Value must be a known response type (got {rtype}).")
        inter.response_type = rtype
        inter.response_data = data
        inter.ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        if message is not None:
            inter.original_id = message.id
            if rtype in (RESPONSE_MESSAGE, RESPONSE_DEFERRED_MESSAGE):
                await self.gateway.echo("MESSAGE_CREATE", message)
            elif rtype == RESPONSE_UPDATE:
                await self.gateway.echo("MESSAGE_UPDATE", message)
        if not self.callback_with_response or req.query.get("with_response") not in ("1", "true", "True"):
            return Reply(204)
        # discord.py 2.7 always asks with_response=1 and reads body["interaction"]["id"].
        callback: Json = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "response_message_loading": rtype == RESPONSE_DEFERRED_MESSAGE,
                "response_message_ephemeral": inter.ephemeral,
            }
        }
        if message is not None:
            callback["interaction"]["response_message_id"] = message.id
            callback["resource"] = {"type": rtype, "message": message.to_payload()}
        elif rtype != RESPONSE_PONG:
            callback["resource"] = {"type": rtype}
        return Reply(200, callback)

    def _webhook_message(self, inter: FakeInteraction, message_id: str) -> FakeMessage:
        if message_id == "@original":
            if inter.original_id is None:
                raise HTTPError(404, 10008, "Unknown Message")
            msg = self.world.messages[inter.original_id]
        elif message_id == inter.original_id or message_id in inter.followup_ids:
            msg = self.world.messages[message_id]
        else:
            raise HTTPError(404, 10008, "Unknown Message")
        if msg.deleted:
            raise HTTPError(404, 10008, "Unknown Message")
        return msg

    async def _webhook_get(self, req: Request) -> Reply:
        inter = self._webhook_interaction(req.params)
        return Reply(200, self._webhook_message(inter, req.params["message_id"]).to_payload())

    async def _webhook_edit(self, req: Request) -> Reply:
        inter = self._webhook_interaction(req.params)
        msg = self._webhook_message(inter, req.params["message_id"])
        return await self._edit(msg, req, route=f"PATCH /webhooks/<app>/<token>/messages/{req.params['message_id']}")

    async def _webhook_delete(self, req: Request) -> Reply:
        inter = self._webhook_interaction(req.params)
        msg = self._webhook_message(inter, req.params["message_id"])
        msg.deleted = True
        return Reply(204)

    async def _webhook_followup(self, req: Request) -> Reply:
        inter = self._webhook_interaction(req.params)
        if inter.response_type is None:
            raise HTTPError(404, 10015, "Unknown Webhook")  # follow-ups need an acknowledged interaction
        payload = body_of(req)
        self.writer.validate(payload, None)
        msg = self.writer.create(
            payload,
            channel=self.world.channel(inter.channel_id),
            route="POST /webhooks/<app>/<token>",
            msg_type=20 if inter.type == 2 else 0,
            interaction=inter,
        )
        inter.followup_ids.append(msg.id)
        await self.gateway.echo("MESSAGE_CREATE", msg)
        if req.query.get("wait") in ("1", "true", "True"):  # discord.py sends wait=1 / wait=0
            return Reply(200, msg.to_payload())
        return Reply(204)
