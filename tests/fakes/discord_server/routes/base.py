"""What every route family that writes messages is built from.

Why a shared base: the channel routes and the interaction routes each create and edit
messages, so each needs the same four pieces -- the world, the writer that checks each
write, the gateway that echoes it, and the rate limiter whose buckets name the routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..gateway import Gateway
from ..limits import RateLimiter
from ..records import FakeMessage
from ..state import DiscordWorld
from ..wire import Reply, Request, body_of
from ..writes import MessageWriter


@dataclass(eq=False)
class WritingRoutes:
    world: DiscordWorld = field(repr=False)
    writer: MessageWriter
    gateway: Gateway
    limiter: RateLimiter

    async def _edit(self, msg: FakeMessage, req: Request, *, route: str) -> Reply:
        """Check and apply an edit, tell the gateway, and answer with the message."""
        payload = body_of(req)
        self.writer.validate(payload, msg)
        self.writer.edit(msg, payload, route=route)
        await self.gateway.echo("MESSAGE_UPDATE", msg)
        return Reply(200, msg.to_payload())
