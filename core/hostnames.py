"""Host names as HTTP spells them: in settings, in a `Host` header, in an `Origin`.

One spelling per host so that comparing two is a string comparison: lower case, no
trailing dot, IPv6 without brackets and in its short form (`[0::1]` is `::1`). Pure
functions; the playground's host check (`bots/playground/hosts.py`) and the settings that
feed it share them, so a name configured is a name matched.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# A DNS name (labels of letters, digits, `-`; `_` too, as container and service names use).
_NAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$")
_PORT = re.compile(r"^[0-9]{1,5}$")
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


@dataclass(frozen=True, slots=True)
class HostPort:
    """A host name in its one spelling, and the port if one was written."""

    name: str
    port: int | None = None


def normalize_host(text: str) -> str | None:
    """`text` as one spelling of a host name or IP address; None if it is neither."""
    name = text.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
        return _ip(name) if ":" in name else None
    name = name.removesuffix(".")
    if ":" in name:
        return _ip(name)
    if len(name) > 253 or not _NAME.match(name):
        return None
    return _ip(name) or name


def split_host_header(value: str) -> HostPort | None:
    """A `Host` header (`name`, `name:port`, `[v6]`, `[v6]:port`); None if malformed."""
    value = value.strip()
    if value.startswith("["):
        bracket = value.find("]")
        address, rest = value[: bracket + 1], value[bracket + 1 :]
        if bracket < 0 or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        address, colon, port_text = value.partition(":")
        if not colon:
            port_text = None
    name = normalize_host(address)
    if name is None:
        return None
    if port_text is None:
        return HostPort(name)
    if not _PORT.match(port_text) or not 0 < int(port_text) <= 65535:
        return None
    return HostPort(name, int(port_text))


@dataclass(frozen=True, slots=True)
class Origin:
    """A browser's `Origin` header: scheme, host and the port it implies."""

    scheme: str
    host: HostPort

    @property
    def port(self) -> int | None:
        return self.host.port if self.host.port is not None else DEFAULT_PORTS.get(self.scheme)


def parse_origin(value: str) -> Origin | None:
    """`scheme://host[:port]` as browsers serialise it; None for `null` or anything else."""
    scheme, sep, rest = value.strip().partition("://")
    rest = rest.removesuffix("/")
    if not sep or not scheme.isalpha() or not rest or any(c in rest for c in "/@?#\\ "):
        return None
    host = split_host_header(rest)
    return Origin(scheme.lower(), host) if host is not None else None


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
