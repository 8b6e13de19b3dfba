"""Long-running commands: build what the adapters share, run them, shut down cleanly.

Each adapter module exposes `async def setup(ctx) -> Coroutine | None`: it adds its HTTP
routes to `ctx.web_app` (Slack events) and returns the coroutine that runs it until
`ctx.stopping` is set. One HTTP server then serves those routes plus `/healthz` and
`/metrics`. On SIGTERM: stop taking work, let answers finish, finalise the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
import socket
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from bots.context import ServiceContext, build_assistant
from bots.metrics import Metrics
from bots.settings import Settings
from core.settings import SettingsError
from core.sources.factory import build_source
from core.state.inflight import Inflight
from core.state.store import MemoryState, StateStore

log = logging.getLogger("trickle.service")


async def run_service(command: str, settings: Settings, args: argparse.Namespace | None = None) -> int:
    """Run `trickle slack|discord|playground|serve` until SIGTERM/SIGINT."""
    log.debug("settings: %s", settings.redacted())
    platforms = _platforms(command, settings)
    # Listen before any platform connects: a busy port is then a clean start error.
    sock = None if command == "playground" else _listen(settings, required=_needs_http(platforms, settings))
    metrics = Metrics()
    source = build_source(settings)
    state = await _build_state(settings)
    inflight = Inflight(state, heartbeat=settings.heartbeat_interval)
    assistant = build_assistant(settings, source, state, metrics, inflight=inflight)
    ctx = ServiceContext(
        settings=settings,
        assistant=assistant,
        state=state,
        metrics=metrics,
        stopping=asyncio.Event(),
        web_app=web.Application(),
        args=args,
        platforms=platforms,
    )
    _install_signal_handlers(ctx.stopping)
    runners: list[Coroutine[Any, Any, None]] = []
    http: web.AppRunner | None = None
    try:
        for platform in platforms:
            runner = await _adapter(platform).setup(ctx)
            if runner is not None:
                runners.append(runner)
        add_status_routes(ctx)
        if sock is not None:
            # No decompression: Slack sends bodies as they are signed, and aiohttp's
            # decompressor raising on garbage was a 500 and two tracebacks, pre-auth.
            http = web.AppRunner(ctx.web_app, access_log=None, auto_decompress=False)
            await http.setup()
            await web.SockSite(http, sock).start()
            host, port = sock.getsockname()[:2]
            log.info("health and metrics on http://%s:%s/", host, port)
        tasks = [asyncio.create_task(r) for r in runners]
        await inflight.beat()
        keepers = [
            # Beating and acting on Stop clicks go on through the drain: a replica must not
            # take this process's answers for a dead one's while they are being finished.
            asyncio.create_task(inflight.run_heartbeat(ctx.drained)),
            asyncio.create_task(
                inflight.run_recovery(ctx.finalizers, ctx.stopping, every=settings.heartbeat_interval * 2)
            ),
            asyncio.create_task(assistant.watch_stops(ctx.drained)),
            # Renews shared quota leases until cancelled below, after the drain.
            asyncio.create_task(assistant.quotas.run_upkeep(every=settings.heartbeat_interval)),
        ]
        stop_wait = asyncio.create_task(ctx.stopping.wait())
        done, _ = await asyncio.wait([*tasks, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        ctx.stopping.set()
        for task in done:
            if task is not stop_wait and (error := task.exception()) is not None:
                raise error
        log.info("stopping: finishing %d answers", assistant.active)
        await ctx.shut_down()
        await asyncio.wait(tasks, timeout=ADAPTER_CLOSE_SECONDS)
        for task in [*tasks, *keepers]:
            task.cancel()
    finally:
        if http is not None:
            await http.cleanup()
        elif sock is not None:
            sock.close()
        await source.aclose()
        await state.aclose()
    return 0


def _needs_http(platforms: list[str], settings: Settings) -> bool:
    """Slack without Socket Mode receives its events over HTTP; the rest is optional."""
    return "slack" in platforms and not settings.slack_app_token


def _listen(settings: Settings, *, required: bool) -> socket.socket | None:
    """The socket for `/slack/events`, `/healthz` and `/metrics`.

    Only Slack's HTTP mode cannot work without it. Otherwise a busy port costs the
    health and metrics endpoints, not the bot: it says so and carries on.
    """
    where = f"{settings.http_host}:{settings.http_port}"
    try:
        return socket.create_server((settings.http_host, settings.http_port))
    except OSError as exc:
        if required:
            raise SettingsError(
                f"TRICKLE_HTTP_PORT: cannot listen on {where} for Slack events ({exc.strerror or exc})"
            ) from exc
        log.warning(
            "no /healthz or /metrics: cannot listen on %s (%s); set TRICKLE_HTTP_PORT to a free port",
            where,
            exc.strerror or exc,
        )
        return None


def _platforms(command: str, settings: Settings) -> list[str]:
    if command != "serve":
        return [command]
    found = []
    if settings.slack_bot_token:
        found.append("slack")
    if settings.discord_bot_token:
        found.append("discord")
    if not found:
        raise SettingsError(
            "trickle serve found no platform: set SLACK_BOT_TOKEN (with SLACK_APP_TOKEN or "
            "SLACK_SIGNING_SECRET) and/or DISCORD_BOT_TOKEN"
        )
    return found


ADAPTERS = {"slack": "bots.slack.service", "discord": "bots.discord.service", "playground": "bots.playground.service"}
ADAPTER_CLOSE_SECONDS = 5.0  # after the drain, for the adapters to close their connections


def _adapter(platform: str) -> Any:
    """The adapter's module, imported when asked for: `trickle playground` loads neither
    slack_bolt nor discord.py."""
    return importlib.import_module(ADAPTERS[platform])


async def _build_state(settings: Settings) -> StateStore:
    if settings.redis_url:
        from core.state.redis_store import RedisState

        try:
            return await RedisState.connect(settings.redis_url)
        except Exception as exc:
            raise SettingsError(f"TRICKLE_REDIS_URL: cannot reach Redis ({exc})") from exc
    if settings.state_path:
        from core.state.sqlite_store import SqliteState

        return SqliteState(settings.state_path)
    return MemoryState()


def _install_signal_handlers(stopping: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stopping.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this OS
            pass


def add_status_routes(ctx: ServiceContext) -> None:
    """`/healthz` and `/metrics` on the service's HTTP app, beside the adapters' routes."""

    async def healthz(_: web.Request) -> web.Response:
        return await _healthz(ctx)

    async def metrics(_: web.Request) -> web.Response:
        return await _metrics(ctx)

    ctx.web_app.router.add_get("/healthz", healthz)
    ctx.web_app.router.add_get("/metrics", metrics)


async def _healthz(ctx: ServiceContext) -> web.Response:
    status = 503 if ctx.stopping.is_set() else 200
    return web.json_response(
        {"ok": status == 200, "platforms": ctx.platforms, "active_answers": ctx.assistant.active},
        status=status,
    )


async def _metrics(ctx: ServiceContext) -> web.Response:
    return web.Response(body=ctx.metrics.render(), content_type="text/plain", charset="utf-8")
