"""Which host names the playground answers to, checked on every request.

Why: DNS rebinding. A page on `evil.example` can have its name re-pointed at 127.0.0.1;
the browser then treats the playground as `evil.example`'s own origin, sends
`Host: evil.example:8080` and a matching `Origin`, and reads the channel and spends the
owner's model key. Comparing `Origin` with `Host` cannot see this (the attacker controls
both); only the *name* gives it away, because the attacker cannot make the browser send a
name it does not own. So the playground answers only to the names it is meant to be
reached by: loopback, the `--host` it listens on, and TRICKLE_PLAYGROUND_HOSTS.

Ports are not part of the check: the attack is in the name, not the port, and the port a
browser shows is often not the one bound (`--port 0`, `ssh -L`, a proxy). The WebSocket
additionally wants its `Origin` to be the page's own origin, port included (see
`same_origin`), so another loopback site cannot open it either.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from core.hostnames import DEFAULT_PORTS, normalize_host, parse_origin, split_host_header

log = logging.getLogger("trickle.playground")

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
REFUSAL = (
    "This playground does not answer to this host name. To reach it by this name on "
    "purpose, add the name to TRICKLE_PLAYGROUND_HOSTS.\n"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class PlaygroundHosts:
    """The host names (one spelling each, see `core.hostnames`) the playground answers to."""

    names: frozenset[str] = LOOPBACK

    @classmethod
    def serving(cls, bind_host: str | None, extra: Iterable[str] = ()) -> PlaygroundHosts:
        """Loopback, `bind_host` unless it means "every address", and `extra`."""
        names = set(LOOPBACK)
        bound = normalize_host(bind_host or "")
        if bound is not None and not _unspecified(bound):
            names.add(bound)
        names.update(n for n in map(normalize_host, extra) if n is not None)
        return cls(frozenset(names))

    def allows_host(self, header: str | None) -> bool:
        """A `Host` header naming one of ours (any port); a missing one is refused."""
        host = split_host_header(header) if header else None
        return host is not None and host.name in self.names

    def allows_origin(self, header: str | None) -> bool:
        """No `Origin` (not a cross-site browser request), or one on a name of ours."""
        if header is None:
            return True
        origin = parse_origin(header)
        return origin is not None and origin.host.name in self.names


def same_origin(host_header: str | None, origin_header: str | None) -> bool:
    """Whether a WebSocket's `Origin` is the page's own origin, port included.

    Browsers always send `Origin` on a WebSocket handshake, so a missing one is a script
    or a tool, not a page: those are not what this guards against, and are let through.
    """
    if origin_header is None:
        return True
    origin = parse_origin(origin_header)
    host = split_host_header(host_header) if host_header else None
    if origin is None or host is None or origin.host.name != host.name:
        return False
    # A Host without a port means the default one of the scheme the page was loaded over.
    return origin.port == (host.port if host.port is not None else DEFAULT_PORTS.get(origin.scheme))


def guard(hosts: PlaygroundHosts) -> Middleware:
    """aiohttp middleware refusing, on every route, a `Host` or `Origin` not in `hosts`."""

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        host, origin = request.headers.get("Host"), request.headers.get("Origin")
        if hosts.allows_host(host) and hosts.allows_origin(origin):
            return await handler(request)
        log.warning(
            "refused %s %s for Host %.100r, Origin %.100r: not a playground host (TRICKLE_PLAYGROUND_HOSTS)",
            request.method,
            request.path[:100],
            host,
            origin,
        )
        return web.Response(status=403, text=REFUSAL)

    return check_host


def _unspecified(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return False
