"""The REST vocabulary every route speaks: a parsed request, a reply, Discord's error shapes.

Why apart from the routes and the router: route handlers raise and return these, the
rate limiter answers 429 with them, and the router turns them into aiohttp responses;
none of those should import another just for a dataclass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .protocol import Json


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    headers: Mapping[str, str]


@dataclass
class Reply:
    status: int
    body: Any = None  # None -> empty body
    headers: dict[str, str] = field(default_factory=dict)


class HTTPError(Exception):
    """Raised by handlers to answer with a Discord-shaped error body."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json | None = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


class BareError(HTTPError):
    """An error with an empty body and no Discord code, as a proxy or gateway may answer."""

    def __init__(self, status: int) -> None:
        super().__init__(status, 0, "")
        self.body = None


def form_error(field_name: str, code: str, message: str) -> HTTPError:
    """Discord's 50035 "Invalid Form Body" shape; discord.py flattens ``errors`` into its message."""
    return HTTPError(400, 50035, "Invalid Form Body", {field_name: {"_errors": [{"code": code, "message": message}]}})


Handler = Callable[[Request], Awaitable[Reply]]
Params = dict[str, str]
BucketNamer = Callable[[Params], "tuple[str, str] | None"]  # -> (key, hash)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool  # requires "Authorization: Bot <token>"
    bucket: BucketNamer | None = None
    # Checked before the bucket is touched: a dead interaction token answers 404/401
    # without spending from the webhook bucket, as on Discord.
    guard: Callable[[Params], object] | None = None


def route(
    method: str,
    path: str,
    handler: Handler,
    *,
    auth: bool = True,
    bucket: BucketNamer | None = None,
    guard: Callable[[Params], object] | None = None,
) -> Route:
    """A route from a Discord-docs path: ``{name}`` matches one path segment."""
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"
    return Route(method, re.compile(regex), handler, auth, bucket, guard)


def json_response(reply: Reply) -> web.Response:
    """Content-Type exactly ``application/json``: discord.py parses nothing else, and
    ``web.json_response`` would append ``; charset=utf-8``."""
    headers = dict(reply.headers)
    if reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    headers["Content-Type"] = "application/json"
    return web.Response(status=reply.status, body=json.dumps(reply.body).encode(), headers=headers)


def body_of(req: Request) -> Json:
    """The JSON object a write sent, or an empty one when it sent none (or not an object)."""
    return dict(req.json) if isinstance(req.json, Mapping) else {}
