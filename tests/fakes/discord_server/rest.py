"""The REST front door: one path from an HTTP request to a route's reply, as Discord's own.

Why one router for every route: authorization, the 404/405 distinction, the rate-limit
bucket and the record of every call happen in the same order for every endpoint -- a
guard (a dead webhook token) before the bucket, the bucket before the handler -- so the
route modules hold only what their endpoints do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from .limits import RateLimiter
from .protocol import API_PREFIX
from .records import Call
from .wire import HTTPError, Reply, Request, Route, json_response


class Router:
    """Matches ``/api/v10`` paths to routes and records each call in ``calls``.

    ``invalid_requests`` counts the 401/403/429 answers: Discord bans an IP at 10,000
    of them per 10 minutes.
    """

    def __init__(
        self, routes: Sequence[Route], *, bot_token: str, limiter: RateLimiter, clock: Callable[[], float]
    ) -> None:
        self.routes = list(routes)
        self.bot_token = bot_token
        self.limiter = limiter
        self.clock = clock
        self.calls: list[Call] = []
        self.invalid_requests = 0

    def __repr__(self) -> str:
        return f"<Router routes={len(self.routes)} calls={len(self.calls)} invalid={self.invalid_requests}>"

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix(API_PREFIX)
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")  # multipart uploads: recorded, not parsed
        query = dict(request.query)
        reply, bucket_key = await self.dispatch(request.method, path, query, body, request.headers)
        if reply.status in (401, 403, 429):
            self.invalid_requests += 1
        self.calls.append(Call(request.method, path, query, body, reply.status, self.clock(), bucket_key))
        return json_response(reply)

    async def dispatch(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: Mapping[str, str]
    ) -> tuple[Reply, str | None]:
        """The reply to one request, and the bucket it spent from (if any)."""
        path_matched = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m is None:
                continue
            path_matched = True
            if route.method != method:
                continue
            params = m.groupdict()
            req = Request(method, path, params, query, body, headers)
            if route.auth and headers.get("Authorization") != f"Bot {self.bot_token}":
                return Reply(401, {"message": "401: Unauthorized", "code": 0}), None
            bucket_key: str | None = None
            rl_headers: dict[str, str] = {}
            try:
                if route.guard is not None:
                    route.guard(params)  # 404/401 before the bucket is touched
                named = route.bucket(params) if route.bucket is not None else None
                if named is not None:
                    bucket_key, bucket_hash = named
                    rl_headers, limited = self.limiter.take(bucket_key, bucket_hash)
                    if limited is not None:
                        return limited, bucket_key
                reply = await route.handler(req)
            except HTTPError as err:
                reply = Reply(err.status, err.body)
            reply.headers.update(rl_headers)
            return reply, bucket_key
        if path_matched:
            return Reply(405, {"message": "405: Method Not Allowed", "code": 0}), None
        return Reply(404, {"message": "404: Not Found", "code": 0}), None
