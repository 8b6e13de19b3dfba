"""The playground answers only to its own host names: DNS rebinding cannot reach it.

The attack: `evil.example` re-points its name at 127.0.0.1, so the browser sends
`Host: evil.example:PORT` and a matching `Origin`. Pure checks first, then the real
server (`setup`, as `trickle playground` starts it) over loopback with those headers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from bots.context import ServiceContext
from bots.metrics import Metrics
from bots.playground.hosts import PlaygroundHosts, same_origin
from bots.playground.service import setup
from bots.settings import Settings
from core.assistant import Assistant
from core.hostnames import HostPort, normalize_host, parse_origin, split_host_header
from core.sources.factory import build_source
from core.state.store import MemoryState
from tests.fakes.openai_server import FakeOpenAI

LISTED = "chat.example.test"


# -- pure parts --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("LocalHost", "localhost"),
        ("localhost.", "localhost"),
        ("[::1]", "::1"),
        ("0:0::1", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("my_service", "my_service"),
        ("*", None),
        ("evil.example/x", None),
        ("-a.example", None),
        ("", None),
    ],
)
def test_host_names_have_one_spelling(text: str, name: str | None) -> None:
    assert normalize_host(text) == name


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("localhost:8080", HostPort("localhost", 8080)),
        ("127.0.0.1", HostPort("127.0.0.1")),
        ("[::1]:8080", HostPort("::1", 8080)),
        ("[::1]", HostPort("::1")),
        ("::1:8080", None),
        ("localhost:99999", None),
        ("localhost:80x", None),
        ("[::1]x", None),
    ],
)
def test_host_headers_are_split_into_name_and_port(header: str, parsed: HostPort | None) -> None:
    assert split_host_header(header) == parsed


def test_origins_imply_their_default_port() -> None:
    origin = parse_origin("https://Chat.Example.test")
    assert origin is not None and (origin.scheme, origin.host.name, origin.port) == ("https", LISTED, 443)
    assert parse_origin("null") is None
    assert parse_origin("http://user@localhost") is None


def test_the_names_served_are_loopback_the_bound_host_and_the_listed_ones() -> None:
    assert PlaygroundHosts.serving("127.0.0.1").names == {"localhost", "127.0.0.1", "::1"}
    assert PlaygroundHosts.serving("0.0.0.0").names == {"localhost", "127.0.0.1", "::1"}
    assert PlaygroundHosts.serving("::").names == {"localhost", "127.0.0.1", "::1"}
    assert "192.168.1.20" in PlaygroundHosts.serving("192.168.1.20").names
    assert LISTED in PlaygroundHosts.serving("0.0.0.0", [LISTED]).names


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost:8080", True),
        ("127.0.0.1:1234", True),
        ("[::1]:8080", True),
        (f"{LISTED}:8080", True),
        ("evil.example:8080", False),
        ("127.0.0.1.evil.example", False),
        ("0.0.0.0:8080", False),
        (None, False),
        ("", False),
    ],
)
def test_any_port_of_a_served_name_is_allowed(host: str | None, allowed: bool) -> None:
    assert PlaygroundHosts.serving("127.0.0.1", [LISTED]).allows_host(host) is allowed


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://localhost:8080", True),
        (f"https://{LISTED}", True),
        ("http://evil.example:8080", False),
        ("null", False),
        ("file://", False),
    ],
)
def test_an_origin_must_be_a_served_name_when_there_is_one(origin: str | None, allowed: bool) -> None:
    assert PlaygroundHosts.serving("127.0.0.1", [LISTED]).allows_origin(origin) is allowed


@pytest.mark.parametrize(
    ("host", "origin", "same"),
    [
        ("127.0.0.1:8080", "http://127.0.0.1:8080", True),
        ("127.0.0.1:8080", None, True),  # not a browser: browsers always send Origin here
        (LISTED, f"https://{LISTED}", True),  # behind a TLS proxy that keeps Host
        ("127.0.0.1:8080", "http://127.0.0.1:3000", False),  # another local site
        ("127.0.0.1:8080", "http://localhost:8080", False),
        (LISTED, f"http://{LISTED}:3000", False),
        ("127.0.0.1:8080", "null", False),
    ],
)
def test_a_websocket_origin_must_be_the_pages_own(host: str, origin: str | None, same: bool) -> None:
    assert same_origin(host, origin) is same


# -- the real server over loopback -------------------------------------------------------------
@dataclass
class Served:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self, name: str, *, origin: bool = True) -> dict[str, str]:
        """What a browser on `http://name:PORT/` sends (name resolving to 127.0.0.1)."""
        sent = {"Host": f"{name}:{self.port}"}
        if origin:
            sent["Origin"] = f"http://{name}:{self.port}"
        return sent


@asynccontextmanager
async def playground_on(host: str, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> AsyncIterator[str]:
    """`trickle playground --host HOST --port 0` with TRICKLE_PLAYGROUND_HOSTS set; its printed URL."""
    settings = Settings.from_mapping({"OPENAI_BASE_URL": fake_openai.base_url, "TRICKLE_PLAYGROUND_HOSTS": LISTED})
    source = build_source(settings)
    ctx = ServiceContext(
        settings=settings,
        assistant=Assistant(source=source, settings=settings),
        state=MemoryState(),
        metrics=Metrics(),
        stopping=asyncio.Event(),
        web_app=web.Application(),
        args=argparse.Namespace(host=host, port=0),
    )
    serving = asyncio.create_task(await setup(ctx))
    printed = capsys.readouterr().out.strip()  # "Playground: http://127.0.0.1:PORT/"
    try:
        yield printed.removeprefix("Playground: ")
    finally:
        await ctx.shut_down(5)
        await asyncio.wait_for(serving, 5)
        await source.aclose()


@pytest.fixture
async def served(fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> AsyncIterator[Served]:
    async with playground_on("127.0.0.1", fake_openai, capsys) as url:
        yield Served(int(url.rstrip("/").rsplit(":", 1)[1]))


async def test_bound_to_every_address_the_printed_url_is_one_the_playground_answers(
    fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    async with playground_on("0.0.0.0", fake_openai, capsys) as url:
        assert url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session, session.get(url) as page:
            assert page.status == 200


def _refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "trickle.playground" and r.levelno == logging.WARNING]


async def test_a_rebound_name_gets_no_page(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(served.url + "/", headers=served.headers("evil.example")) as page:
            assert page.status == 403
            assert "TRICKLE_PLAYGROUND_HOSTS" in await page.text()
            assert "#playground" not in await page.text()
    refusals = _refusals(caplog)
    assert len(refusals) == 1 and "evil.example" in refusals[0].getMessage()
    assert refusals[0].exc_info is None


async def test_a_rebound_name_cannot_open_the_socket(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(served.url + "/ws", headers=served.headers("evil.example"))
        assert refused.value.status == 403


@pytest.mark.parametrize("path", ["/static/app.js", "/no-such-page", "/ws"])
async def test_every_route_refuses_a_rebound_name(served: Served, path: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(served.url + path, headers=served.headers("evil.example", origin=False)) as resp:
            assert resp.status == 403


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]", LISTED])
async def test_loopback_and_listed_names_get_the_page_and_the_socket(served: Served, name: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(served.url + "/", headers=served.headers(name)) as page:
            assert page.status == 200 and "#playground" in await page.text()
        socket = await session.ws_connect(served.url + "/ws", headers=served.headers(name))
        first = await socket.receive_json(timeout=5)
        assert first["type"] == "history"
        await socket.close()


async def test_a_page_on_another_local_port_cannot_open_the_socket(served: Served) -> None:
    headers = {"Host": f"127.0.0.1:{served.port}", "Origin": "http://127.0.0.1:1"}
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(served.url + "/ws", headers=headers)
        assert refused.value.status == 403


async def test_an_opaque_origin_is_refused(served: Served) -> None:
    headers = {"Host": f"127.0.0.1:{served.port}", "Origin": "null"}
    async with aiohttp.ClientSession() as session, session.get(served.url + "/", headers=headers) as page:
        assert page.status == 403
