"""The playground's HTTP side: the page, its static files, the WebSocket and upload routes.

Kept apart from `service.py` (what tabs say and how answers run) because it is only about
serving files safely: a fixed set of names, no caching surprises, and a strict
Content-Security-Policy so that nothing but the page's own script ever runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bots.playground.hosts import PlaygroundHosts, guard
from bots.playground.uploads import MAX_UPLOAD_BYTES
from core.settings import SettingsError

STATIC = Path(__file__).parent / "static"
FILES = frozenset({"app.js", "attachments.js", "markdown.js", "pane.js", "style.css"})
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(
    websocket: Handler,
    *,
    say: Handler | None = None,
    hosts: PlaygroundHosts | None = None,
    max_upload: int = MAX_UPLOAD_BYTES,
) -> web.Application:
    """The page, its static files, `websocket` on `/ws` and `say` on `POST /say`,
    answering only to `hosts`' names (loopback unless told otherwise).

    `max_upload` is aiohttp's `client_max_size`: the most any request body may be
    (`uploads.read_upload` refuses more with a 413 and a sentence).
    """
    app = web.Application(middlewares=[guard(hosts or PlaygroundHosts())], client_max_size=max_upload)
    app.router.add_get("/", _index)
    app.router.add_get("/ws", websocket)
    if say is not None:
        app.router.add_post("/say", say)
    app.router.add_get("/static/{name}", _static)
    return app


async def listen(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve `app` on `host:port` (0: any free port): its runner, and the URL to print.

    A busy port fails the start with a SettingsError, the way a bad setting does.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        reason = exc.strerror or exc
        raise SettingsError(f"the playground cannot listen on {host}:{port}: {reason}") from exc
    bound = runner.addresses[0][1] if runner.addresses else port
    # Bound to every address, the printed URL names loopback: `0.0.0.0` is no name a
    # browser should use, and the host check would refuse it.
    named = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    shown = f"[{named}]" if ":" in named else named
    return runner, f"http://{shown}:{bound}/"


async def _index(request: web.Request) -> web.StreamResponse:
    return _file("index.html")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in FILES:
        raise web.HTTPNotFound()
    return _file(name)


def _file(name: str) -> web.FileResponse:
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return web.FileResponse(STATIC / name, headers=headers)
