"""`trickle discord`: build the client, log in, sync the commands, run until asked to stop.

Everything is built here from the settings and passed down (no client at import). The
REST base and gateway are process-wide in discord.py, so the overrides are set here, in
the entry point, and deliberately not restored.

With `DISCORD_API_URL` overridden and no `DISCORD_GATEWAY_URL`, the gateway is the one
that REST base names (`GET /gateway/bot`), never Discord's by default. A gateway that is
not Discord's own is then pinned: discord.py resumes at the READY's `resume_gateway_url`,
which a proxy or a recorded session may point at Discord's hosts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands

from bots.context import ServiceContext
from bots.discord.admin import AdminCommands
from bots.discord.budgets import DiscordBudgets
from bots.discord.handlers import DiscordHandlers
from bots.discord.limiter import pace_message_writes_ourselves
from bots.discord.messages import finish_orphan
from bots.settings import Settings
from core.settings import SettingsError

log = logging.getLogger("trickle.discord")

# Exactly what the bot does: see channels, read the messages it replies to (replying
# needs Read Message History), and post and edit its own messages, in threads too.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    read_message_history=True,
)
SCOPES = ("bot", "applications.commands")
DISCORD_API = "https://discord.com/api/v10"
DISCORD_GATEWAY_DOMAIN = "discord.gg"


def intents(*, message_content: bool) -> discord.Intents:
    """Guild and DM messages; Message Content is privileged and only helps with history
    (mentions and DMs carry their content anyway), so the bot also runs without it."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.guild_messages = True
    chosen.dm_messages = True
    chosen.message_content = message_content
    return chosen


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


def pin_gateway(client: discord.Client, gateway: yarl.URL) -> None:
    """Send every gateway connection of `client` (first, reconnects, resumes) to `gateway`.

    discord.py opens them all through `client.http.ws_connect`, with the URL it chose
    (`DEFAULT_GATEWAY`, or the READY's resume URL) plus its query (version, encoding,
    compression), which is kept. Only the main gateway is moved: its URL names an
    `encoding`, a voice gateway's does not.
    """
    http = client.http
    connect = http.ws_connect

    async def ws_connect(url: str, *args: Any, **kwargs: Any) -> Any:
        asked = yarl.URL(url)
        if "encoding" in asked.query and asked.with_query(None) != gateway.with_query(None):
            url = str(gateway.with_query(asked.query))
        return await connect(url, *args, **kwargs)

    http.ws_connect = ws_connect  # type: ignore[method-assign]  # this client's HTTPClient only; discord.py has no hook


class DiscordService:
    """One bot connection and the handlers it feeds; see the module docstring."""

    def __init__(self, ctx: ServiceContext, *, guild_ready_timeout: float = 2.0) -> None:
        if not ctx.settings.discord_bot_token:
            raise SettingsError("DISCORD_BOT_TOKEN is not set (the bot token from the Developer Portal)")
        self.ctx = ctx
        self.token = ctx.settings.discord_bot_token
        self.budgets = DiscordBudgets(shared=ctx.state.bucket)
        self.handlers = DiscordHandlers(ctx, self.budgets)
        self.admin = AdminCommands(ctx)
        self.guild_ready_timeout = guild_ready_timeout
        self.client: discord.Client | None = None
        self.gateway: yarl.URL | None = None  # pinned; None: discord.py's own choice

    def __repr__(self) -> str:
        return f"<DiscordService client={self.client!r} {self.budgets!r}>"

    def _build(self, *, message_content: bool) -> tuple[discord.Client, app_commands.CommandTree[discord.Client]]:
        options: dict[str, Any] = {
            "intents": intents(message_content=message_content),
            "http_trace": self.budgets.trace_config(),
            "allowed_mentions": discord.AllowedMentions.none(),
            "chunk_guilds_at_startup": False,
            "guild_ready_timeout": self.guild_ready_timeout,
        }
        settings = self.ctx.settings
        client: discord.Client
        if settings.shard_count:
            # Several processes split the shards between them (TRICKLE_SHARD_IDS); each
            # sees only its shards' guilds, and Redis keeps their budgets shared.
            ids = list(settings.shard_ids or range(settings.shard_count))
            client = discord.AutoShardedClient(shard_count=settings.shard_count, shard_ids=ids, **options)
        else:
            client = discord.Client(**options)
        pace_message_writes_ourselves(client)
        tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
        self.handlers.install(client, tree)  # `/ask`, mentions, DMs
        self.admin.install(client, tree)  # `/model`, `/prompt`, `/usage`
        return client, tree

    async def start(self) -> None:
        """Log in (a bad token stops the start), sync the commands, log the invite URL."""
        client, tree = self._build(message_content=True)
        self.client = client
        try:
            await self._login(client)
        except discord.LoginFailure as exc:
            await client.close()
            raise SettingsError(f"DISCORD_BOT_TOKEN was refused by Discord: {exc}") from exc
        except discord.GatewayNotFound as exc:
            await client.close()
            raise SettingsError(
                f"DISCORD_API_URL={self.ctx.settings.discord_api_url} does not say where its gateway is "
                "(GET /gateway/bot failed): set DISCORD_GATEWAY_URL"
            ) from exc
        app_id = client.application_id
        if app_id is not None:
            log.info("invite the bot with: %s", invite_url(app_id))
        await self._sync(tree)
        self.ctx.finalizers["discord"] = self.finish_orphan

    async def _login(self, client: discord.Client) -> None:
        """Log in; then find (once) and pin the gateway this client must use."""
        await client.login(self.token)
        settings = self.ctx.settings
        if self.gateway is None and settings.discord_gateway_url:
            self.gateway = yarl.URL(settings.discord_gateway_url)
        elif self.gateway is None and settings.discord_api_url.rstrip("/") != DISCORD_API:
            _, url, _ = await client.http.get_bot_gateway()
            log.info("gateway from %s/gateway/bot: %s", settings.discord_api_url, url)
            # A REST-only proxy names Discord's own gateway: then its regional resume
            # URLs are right, and discord.py's defaults already aim there.
            host = yarl.URL(url).host or ""
            if host != DISCORD_GATEWAY_DOMAIN and not host.endswith("." + DISCORD_GATEWAY_DOMAIN):
                self.gateway = yarl.URL(url)
        if self.gateway is not None:
            pin_gateway(client, self.gateway)

    async def finish_orphan(self, location: Mapping[str, Any], text: str) -> None:
        """Finish a message a crashed process left streaming (see core.state.inflight)."""
        assert self.client is not None
        await finish_orphan(self.client, location, text)

    async def _sync(self, tree: app_commands.CommandTree[discord.Client]) -> None:
        guild_id = self.ctx.settings.discord_guild_id
        try:
            if guild_id is not None:
                guild = discord.Object(id=guild_id)
                tree.copy_global_to(guild=guild)
                synced = await tree.sync(guild=guild)
                log.info("synced %d command(s) to guild %s", len(synced), guild_id)
            else:
                synced = await tree.sync()
                log.info("synced %d command(s) globally (Discord may take up to an hour)", len(synced))
        except discord.HTTPException as exc:  # e.g. 50001: invited without applications.commands
            log.error("could not sync /ask and the admin commands (mentions still work): %s", exc)

    async def run(self) -> None:
        """Stay connected until `ctx.stopping`; then let our answers finish and close."""
        assert self.client is not None, "start() first"
        connection: asyncio.Task[None] | None = None
        try:
            connection = await self._connect_until_stopping()
            if connection is None and not self.ctx.stopping.is_set():
                # The connection ended by itself: returning is what stops the service
                # (which then drains); waiting for the drain here would wait for ever.
                log.warning("the Discord connection ended; stopping")
                return
            await self._finish_answers()
        finally:
            if self.client is not None and not self.client.is_closed():
                await self.client.close()
            if connection is not None:
                await asyncio.wait({connection}, timeout=5)  # close() ends it

    async def _connect_until_stopping(self) -> asyncio.Task[None] | None:
        """Connect (without Message Content if Discord refuses it); return the live
        connection task once stopping is set, or None if the connection ended by itself."""
        stopping = asyncio.create_task(self.ctx.stopping.wait())
        try:
            while True:
                assert self.client is not None
                connection = asyncio.create_task(self.client.connect(reconnect=True))
                await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not connection.done():
                    return connection
                error = connection.exception()
                if isinstance(error, discord.PrivilegedIntentsRequired) and self.client.intents.message_content:
                    log.warning(
                        "the Message Content intent is not enabled for this bot; running without it "
                        "(mentions and DMs still work; others' messages in threads read as empty)"
                    )
                    await self.client.close()
                    self.client, _ = self._build(message_content=False)
                    await self._login(self.client)
                    continue
                if error is not None:
                    raise error
                return None  # connect() returned: the client was closed
        finally:
            stopping.cancel()

    async def _finish_answers(self) -> None:
        """The service drains the assistant; the client must stay open until that is done."""
        await self.ctx.drained.wait()


def configure_library(settings: Settings) -> None:
    """Point discord.py at DISCORD_API_URL / DISCORD_GATEWAY_URL (process-wide), and
    silence its warnings about voice support, which this bot never uses."""
    discord.http.Route.BASE = settings.discord_api_url
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


async def setup(ctx: ServiceContext) -> Coroutine[Any, Any, None] | None:
    """Apply the URL overrides, log in and sync; return the coroutine that runs the bot."""
    configure_library(ctx.settings)
    service = DiscordService(ctx)
    await service.start()
    return service.run()
