"""The HTTP side of the fake: listening on loopback, routing, and one Web API call's life.

Every call takes the same path, as on Slack: params merged from query, form and JSON
(JSON-in-form fields decoded), the token checked (`xoxb-` for bot methods, `xapp-` for
`apps.connections.open`), scripted faults, the rate bucket, then the handler. The answer
is recorded in `calls`, with `x-oauth-scopes` on every response as Slack sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.files import Files
from tests.fakes.slack_server.inspection import FakeCall, Inspection
from tests.fakes.slack_server.limits import RateLimits
from tests.fakes.slack_server.methods import WebApiMethods
from tests.fakes.slack_server.methods.streams import STREAM_METHODS

_JSON_PARAMS = ("blocks", "attachments", "chunks", "metadata", "view", "prompts", "loading_messages")


class Transport(WebApiMethods, Files, Inspection, RateLimits):
    """The aiohttp app and its routes (Web API, Socket Mode, response URLs, files)."""

    def _init_transport(self, *, latency: float) -> None:
        """Not listening yet; `latency` is how long each Web API call takes."""
        self.latency = latency
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port (loopback only: tests must not be reachable)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/socket", self._handle_socket)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_get("/files-pri/{fid}/{name}", self._handle_file)
        self._socket_change = asyncio.Condition()
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close sockets, cancel background work and stop listening."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"fake slack stopping")
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _read_params(self, request: web.Request) -> Params:
        """Merge query string, form body and JSON body; decode JSON-in-form fields."""
        params: Params = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as e:
                    raise ApiError("invalid_json") from e
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_PARAMS:
            value = params.get(key)
            if isinstance(value, str):
                if value.strip() == "":
                    params[key] = None
                    continue
                try:
                    params[key] = json.loads(value)
                except ValueError as e:
                    raise ApiError("invalid_blocks" if key == "blocks" else "invalid_arguments") from e
        return params

    async def _handle_api(self, request: web.Request) -> web.Response:
        """Run one Web API call: method, auth, injected faults, rate limits, then the handler."""
        method = request.match_info["method"]
        self.in_flight[method] += 1
        self.max_in_flight[method] = max(self.max_in_flight[method], self.in_flight[method])
        try:
            return await self._serve_api(request, method)
        finally:
            self.in_flight[method] -= 1

    async def _serve_api(self, request: web.Request, method: str) -> web.Response:
        params: Params = {}
        headers: dict[str, str] = {"x-oauth-scopes": ",".join(self.scopes)}
        try:
            params = await self._read_params(request)
            token = self._token(request, params)
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            handler = self._handlers().get(method)
            if handler is None or (method in STREAM_METHODS and not self.native_streaming):
                raise ApiError("unknown_method")
            self._check_auth(method, token)
            self._check_injected(method)
            self._check_rate(method, params)
            body = handler(params)
            status, error = 200, None
        except ApiError as e:
            body = {"ok": False, "error": e.error, **e.extra}
            status, error = e.status, e.error
            headers.update(e.headers)
        self.calls.append(FakeCall(method, params, self._clock(), status, error))
        if status == 429:
            self.rate_limited[method] += 1
        return web.json_response(body, status=status, headers=headers)

    @staticmethod
    def _token(request: web.Request, params: Params) -> str | None:
        """The bearer token (slack_sdk's way) or a `token` param (also accepted by Slack)."""
        body_token = params.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :].strip() or None
        return str(body_token) if body_token else None

    def _check_auth(self, method: str, token: str | None) -> None:
        """Bot methods need `xoxb-`, `apps.connections.open` needs `xapp-`, as on Slack."""
        if not token:
            raise ApiError("invalid_auth")
        if token in self.revoked_tokens:
            raise ApiError("token_revoked")
        wanted, other = ("xapp-", "xoxb-") if method == "apps.connections.open" else ("xoxb-", "xapp-")
        if token.startswith(other):
            raise ApiError("not_allowed_token_type")
        if not token.startswith(wanted) or len(token) <= len(wanted):
            raise ApiError("invalid_auth")
