"""`FakeDiscord`: the one object a test builds, starts and asks; it assembles the pieces.

Why a thin assembly: each rule the fake enforces lives in the piece that owns it (the
gateway, the rate limiter, the CDN, the message writer, a route family); this module
only wires them to one world, serves them on one loopback port, and keeps every knob a
test passes as a constructor keyword.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Self

from aiohttp import web

from .actions import UserActions
from .cdn import CDN
from .gateway import Gateway, Session
from .inspection import Inspection
from .limits import RateLimiter
from .protocol import API_PREFIX
from .records import FakeAttachment, Fault
from .rest import Router
from .routes.application import ApplicationRoutes
from .routes.channels import ChannelRoutes
from .routes.interactions import InteractionRoutes
from .writes import MessageWriter


class FakeDiscord(UserActions, Inspection):
    """A loopback Discord for discord.py: REST routes, buckets, and a JSON gateway.

    The world starts with one guild (``guild_id``) holding one text channel
    (``channel_id``), the bot, and one human user (``user``, "alice").  Add more with the
    ``add_*`` helpers before the client connects.

    The keywords are read once, here: each goes to the piece that enforces it.
    """

    def __init__(
        self,
        *,
        bot_token: str = "test-token",
        app_id: int = 1_100_000_000_000_000_001,
        bot_user_id: int = 1_100_000_000_000_000_002,
        channel_bucket: tuple[int, float] = (5, 5.0),
        webhook_bucket: tuple[int, float] = (5, 5.0),
        max_content: int = 2000,
        token_ttl: float = 900.0,
        ack_deadline: float = 3.0,
        heartbeat_interval_ms: int = 41_250,
        echo_own_messages: bool = True,
        callback_with_response: bool = True,
        announce_guilds: bool = True,
        read_bucket: tuple[int, float] | None = None,
        dead_token_status: int | None = None,
        bot_edits_interaction_messages: bool = True,
        resume_gateway_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(app_id=app_id, bot_user_id=bot_user_id)
        self.bot_token = bot_token
        self.channel_bucket = channel_bucket
        self.webhook_bucket = webhook_bucket
        self.max_content = max_content
        self.token_ttl = token_ttl
        self.ack_deadline = ack_deadline
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.echo_own_messages = echo_own_messages
        # False: the interaction callback answers 204 No Content even when asked
        # with_response=1, as Discord documents for the plain callback (and many fakes do).
        self.callback_with_response = callback_with_response
        # False: READY lists no guilds and no GUILD_CREATE follows, so the client caches
        # none (an outage, or a large bot before its guilds stream in).
        self.announce_guilds = announce_guilds
        # Reading a channel's messages (GET one, or its history) has its own bucket on
        # Discord, separate from creating and editing them; None: reads are unlimited.
        self.read_bucket = read_bucket
        # Set (401 or 404): a dead interaction token gets that status with an empty body
        # instead of Discord's JSON 50027, as from a proxy in front of Discord.
        self.dead_token_status = dead_token_status
        # Discord lets the bot token edit its public interaction messages through the
        # channel route; False refuses that (50005), as for an app without the channel.
        self.bot_edits_interaction_messages = bot_edits_interaction_messages
        # What READY names as `resume_gateway_url` (default: this fake's own gateway);
        # Discord names one of its regional hosts there.
        self.resume_gateway_url = resume_gateway_url
        self.clock = clock

        self.limiter = RateLimiter(channel=channel_bucket, webhook=webhook_bucket, read=read_bucket, clock=clock)
        self.rate_limited = self.limiter.rate_limited
        self.cdn = CDN(origin=self._origin, next_id=self.next_id, clock=clock)
        self.attachments = self.cdn.attachments  # by id
        self.cdn_calls = self.cdn.calls  # downloads from the CDN paths, apart from REST `calls`
        self.gateway = Gateway(
            self,
            bot_token=bot_token,
            heartbeat_interval_ms=heartbeat_interval_ms,
            announce_guilds=announce_guilds,
            echo_own_messages=echo_own_messages,
            resume_url=lambda: self.resume_gateway_url or self.gateway_url,
        )
        writer = MessageWriter(self, max_content=max_content, clock=clock)
        interactions = InteractionRoutes(
            self,
            writer,
            self.gateway,
            self.limiter,
            token_ttl=token_ttl,
            ack_deadline=ack_deadline,
            callback_with_response=callback_with_response,
            dead_token_status=dead_token_status,
            clock=clock,
        )
        channels = ChannelRoutes(
            self, writer, self.gateway, self.limiter, bot_edits_interaction_messages=bot_edits_interaction_messages
        )
        routes = [
            *ApplicationRoutes(self, gateway_url=lambda: self.gateway_url).routes(),
            *interactions.routes(),
            *channels.routes(),
        ]
        self.router = Router(routes, bot_token=bot_token, limiter=self.limiter, clock=clock)
        self.calls = self.router.calls
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ what the pieces count

    @property
    def resumes(self) -> int:
        """Sessions resumed (op 6 accepted), as opposed to identified anew."""
        return self.gateway.resumes

    @property
    def invalid_requests(self) -> int:
        """401/403/429 answers: Discord bans an IP at 10,000 per 10 min."""
        return self.router.invalid_requests

    @property
    def _sessions(self) -> dict[str, Session]:
        """The gateway's sessions by id (a test of sharding reads each one's ``shard``)."""
        return self.gateway.sessions

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_url(self) -> str:
        return f"{self._origin()}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._require_port()}/gateway"

    def _require_port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    def _origin(self) -> str:
        return f"http://127.0.0.1:{self._require_port()}"

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a port the OS picks (never a fixed port: tests run in parallel)."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        self.cdn.mount(app)
        app.router.add_route("*", "/{tail:.*}", self.router.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Close gateway sockets (1001, going away) and the server."""
        self.cdn.close()
        await self.gateway.drop(1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ files

    def add_attachment(
        self,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = "",
        channel_id: int | str | None = None,
        size: int | None = None,
        ephemeral: bool = False,
    ) -> FakeAttachment:
        """A file uploaded to ``channel_id`` (default: the fake's channel), served by the fake.

        Attach it with ``send_message(attachments=[...])`` or pass it as an `/ask` option
        value (``ephemeral=True``, as Discord keeps a slash command's files). The content
        type is guessed as Discord does (``""``), or given, or left out (``None``); ``size``
        overrides the declared size.
        """
        cid = str(channel_id if channel_id is not None else self.channel_id)
        return self.cdn.add(filename, data, channel_id=cid, content_type=content_type, size=size, ephemeral=ephemeral)

    def fail_attachment(self, target: FakeAttachment | int | str, fault: Fault | None) -> None:
        """Make downloads of an attachment (given itself, its id or its URL) answer
        ``fault`` -- a status, or ``"hang"`` -- or, with None, the file again."""
        self.cdn.fail(target, fault)
