"""`trickle slack`: build the Slack adapter, receive events, shut down cleanly.

Socket Mode when SLACK_APP_TOKEN is set (no public URL needed), otherwise the HTTP
Events API at POST /slack/events on the shared web app, signatures verified by bolt.
Everything is built here and passed down: one aiohttp session for every Web API call (a
session per call would open a TCP connection per edit), aimed at SLACK_API_URL, shared by
bolt, the Socket Mode client (`apps.connections.open` goes there too) and the answers.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncSlackResponse, AsyncWebClient

from bots.context import ServiceContext
from bots.settings import Settings
from bots.slack.budgets import SlackBudgets, SlackLimits
from bots.slack.handlers import BotIdentity, SlackBot
from bots.slack.orphans import OrphanFinisher
from core.settings import SettingsError

log = logging.getLogger("trickle.slack")

EVENTS_PATH = "/slack/events"
_API_TIMEOUT = 30.0


@dataclass(slots=True)
class SlackService:
    """The running adapter: the bot, its bolt app, and how events reach it."""

    bot: SlackBot
    app: AsyncApp
    session: aiohttp.ClientSession
    socket: AsyncSocketModeHandler | None = None
    _socket_open: bool = True

    async def run(self, stopping: asyncio.Event, drained: asyncio.Event) -> None:
        """Serve until `stopping` is set; close once the service has drained the answers."""
        try:
            await stopping.wait()
            await self._close_socket()  # no new events; running answers keep the Web API
            await drained.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop receiving events and release the HTTP session (answers must be done)."""
        await self._close_socket()
        if not self.session.closed:
            await self.session.close()

    async def _close_socket(self) -> None:
        if self.socket is not None and self._socket_open:
            self._socket_open = False
            await self.socket.close_async()


async def setup(ctx: ServiceContext) -> Coroutine[Any, Any, None] | None:
    """Start the Slack adapter on `ctx` (see bots/services.py) and return its runner."""
    service = await start(ctx)
    return service.run(ctx.stopping, ctx.drained)


async def start(ctx: ServiceContext, *, limits: SlackLimits | None = None) -> SlackService:
    """Check the settings, say hello to Slack, and start receiving events."""
    settings = ctx.settings
    check_settings(settings)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_API_TIMEOUT))
    try:
        client = AsyncWebClient(base_url=settings.slack_api_url, token=settings.slack_bot_token, session=session)
        me = await _auth_test(client, settings)
        identity = BotIdentity(user_id=str(me["user_id"]), bot_id=me.get("bot_id"), team=str(me.get("team_id") or ""))
        bot = SlackBot(
            client=client,
            assistant=ctx.assistant,
            state=ctx.state,
            metrics=ctx.metrics,
            identity=identity,
            budgets=SlackBudgets(limits, shared=ctx.state.bucket),
            native=settings.slack_stream == "native",
            prompts=settings.suggested_prompts,
        )
        socket_mode = bool(settings.slack_app_token)
        bolt_log = logging.getLogger("trickle.slack.bolt")
        if not any(isinstance(f, _TokenNotice) for f in bolt_log.filters):
            bolt_log.addFilter(_TokenNotice())
        app = AsyncApp(
            client=client,
            name="trickle",
            signing_secret=settings.slack_signing_secret or "",
            request_verification_enabled=not socket_mode,
            process_before_response=False,
            logger=bolt_log,
        )
        _share_auth_test(app, me)
        bot.register(app)
        ctx.finalizers["slack"] = OrphanFinisher(client, bot.budgets, team=identity.team)
        service = SlackService(bot=bot, app=app, session=session)
        if socket_mode:
            service.socket = AsyncSocketModeHandler(app, settings.slack_app_token, web_client=client)
            await _connect(service.socket)
            log.info("Slack: connected over Socket Mode as %s", identity.user_id)
        else:
            ctx.web_app.router.add_post(EVENTS_PATH, _events_endpoint(app, ctx.stopping))
            log.info(
                "Slack: HTTP events at http://%s:%s%s as %s",
                settings.http_host,
                settings.http_port,
                EVENTS_PATH,
                identity.user_id,
            )
        return service
    except BaseException:
        await session.close()
        raise


def check_settings(settings: Settings) -> None:
    """Refuse to start without what the chosen mode needs, naming the variable."""
    if not settings.slack_bot_token:
        raise SettingsError(
            "SLACK_BOT_TOKEN is required for trickle slack (the xoxb-... Bot User OAuth Token "
            "from your app's OAuth & Permissions page)"
        )
    if not settings.slack_app_token and not settings.slack_signing_secret:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is required in HTTP mode (from your app's Basic Information "
            "page); or set SLACK_APP_TOKEN (xapp-...) to use Socket Mode instead"
        )
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN must be an app-level token (xapp-...)")


async def _auth_test(client: AsyncWebClient, settings: Settings) -> AsyncSlackResponse:
    """Who the token belongs to; a refused token stops the start with a clear message."""
    try:
        me = await client.auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error") if exc.response is not None else "error"
        raise SettingsError(f"SLACK_BOT_TOKEN was refused by Slack ({code})") from exc
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise SettingsError(
            f"could not reach Slack at SLACK_API_URL={settings.slack_api_url} ({type(exc).__name__}: {exc})"
        ) from exc
    return me


def _share_auth_test(app: AsyncApp, me: AsyncSlackResponse) -> None:
    """Give bolt the `auth.test` answer the start already has.

    bolt's single-workspace authorization asks `auth.test` itself, lazily, on the first
    event it handles, before that event is acknowledged: after every start, the first
    question would wait one more round trip to Slack for its placeholder. bolt has no
    public way in, so its authorization middleware is handed the answer; if a bolt
    version keeps it elsewhere, nothing changes but that round trip.
    """
    for middleware in getattr(app, "_async_middleware_list", ()):
        if isinstance(middleware, AsyncSingleTeamAuthorization) and middleware.auth_test_result is None:
            middleware.auth_test_result = me


async def _connect(socket: AsyncSocketModeHandler) -> None:
    try:
        await socket.connect_async()
    except SlackApiError as exc:
        await socket.close_async()
        code = exc.response.get("error") if exc.response is not None else "error"
        raise SettingsError(f"SLACK_APP_TOKEN was refused by Slack ({code})") from exc


class _TokenNotice(logging.Filter):
    """Drops bolt's "`token` will be unused" warning: bolt reads SLACK_BOT_TOKEN from the
    environment itself and complains that the client already has it, which is the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _events_endpoint(app: AsyncApp, stopping: asyncio.Event) -> Any:
    """The aiohttp handler for Slack's HTTP events and interactions (bolt verifies them).

    A process shutting down refuses new events with 503 instead of taking them on only
    to end them "interrupted": Slack delivers them again, to a peer behind the load
    balancer or to this bot once it is back. Interactions (a Stop click, which is JSON
    only for events) still go through: they act on answers still running here.
    """

    async def events(request: web.Request) -> web.Response:
        if stopping.is_set() and request.content_type == "application/json":
            return web.Response(status=503, text="shutting down; deliver again later")
        bolt_request = await _bolt_request(request)
        if isinstance(bolt_request, web.Response):
            return bolt_request
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return events


async def _bolt_request(request: web.Request) -> AsyncBoltRequest | web.Response:
    """The request as bolt takes it, or the refusal (logged in one line) if it is not one.

    bolt's own adapter decodes with `request.text()` and parses the JSON (or the form's
    `payload=`) while building the request, before any signature check: a body that is not
    UTF-8, not JSON, or JSON of another shape raised there and became a 500 with a
    traceback, for anyone who can reach the URL. Slack always sends UTF-8 JSON or forms,
    uncompressed (the shared server does not decompress, see `bots/services.py`), with a
    timestamp of a few digits (bolt's `int()` of anything else raised, unsigned: a 500).
    """
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    if timestamp is not None and not _TIMESTAMP.fullmatch(timestamp):
        return _refuse(401, "its X-Slack-Request-Timestamp is not a timestamp", request.content_length)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, f"its body is over {request.client_max_size} bytes", request.content_length)
    try:
        bolt_request = AsyncBoltRequest(
            body=body.decode("utf-8"),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]  # a multidict: bolt only calls .items(), as its aiohttp adapter does
        )
        # bolt's authorization reads `body["event"].get(...)` before anything checks it.
        if not isinstance(bolt_request.body.get("event", {}), dict):
            raise TypeError("event is not an object")
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; the others come from
        # bolt reading ids out of JSON that is not an object of Slack's shape.
        return _refuse(400, f"its body is not a Slack payload ({type(exc).__name__})", len(body))
    return bolt_request


_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _refuse(status: int, why: str, size: int | None) -> web.Response:
    sized = "a request" if size is None else f"a {size}-byte request"
    log.warning("refused %s to %s: %s", sized, EVENTS_PATH, why)
    return web.Response(status=status, text="not a Slack request\n")
