"""A fake Discord (REST API + gateway) that the real discord.py client can log into.

Why a fake at this depth: the Discord adapter's hard parts are not "call edit()", they are
Discord's rules around it -- rate-limit buckets and 429s, the 2,000-char limit, the 3 s
interaction acknowledgement, the 15-minute interaction token, mention parsing on every
send and edit, and the MESSAGE_CONTENT intent.  Mocking discord.py would test our guesses
about those rules; this server enforces them on the wire, so the unmodified discord.py
client (its rate limiter, its webhook adapter, its gateway loop) runs against it exactly as
it runs against Discord.  Everything binds to 127.0.0.1 on a random port.

Usage (see tests/test_fake_discord.py for complete examples)::

    fake = FakeDiscord(channel_bucket=(5, 0.5))
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0)
    await client.login(fake.bot_token); task = asyncio.create_task(client.connect())
    await fake.wait_ready()
    inter = await fake.send_interaction("ask", {"question": "why?"})
    await fake.wait_until(lambda: (m := fake.original(inter.token)) is not None and m.content == "hi")

All clock-dependent rules (buckets, token lifetime, the acknowledgement deadline, message
versions) read the injected ``clock``, so tests can expire a token without sleeping.
Snowflake ids are derived from the wall clock so discord.py's ``created_at`` stays sane.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import math
import mimetypes
import re
import secrets
import socket
import time
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1_420_070_400_000
API_PREFIX = "/api/v10"

EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2

INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, ATTACH_FILES, READ_MESSAGE_HISTORY,
# ADD_REACTIONS, USE_APPLICATION_COMMANDS, SEND_MESSAGES_IN_THREADS: what a freshly
# invited bot typically holds; MENTION_EVERYONE is deliberately included so that a
# missing allowed_mentions really would ping @everyone.
DEFAULT_PERMISSIONS = (
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 6) | (1 << 31) | (1 << 38)
)

USER_MENTION_RE = re.compile(r"<@!?(\d+)>")
ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")

RESPONSE_PONG = 1
RESPONSE_MESSAGE = 4
RESPONSE_DEFERRED_MESSAGE = 5
RESPONSE_DEFERRED_UPDATE = 6
RESPONSE_UPDATE = 7

ATTACHMENT_OPTION = 11  # application command option type

Json = dict[str, Any]


def _iso_now() -> str:
    """Discord timestamps are ISO 8601 with an explicit UTC offset; discord.py parses them."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _guess_content_type(filename: str, data: bytes) -> str | None:
    """What Discord labels an upload: by its name, text as UTF-8 text, else nothing."""
    guessed = mimetypes.guess_type(filename)[0]
    if guessed is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        guessed = "text/plain"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def _bucket_hash(name: str) -> str:
    """Discord bucket hashes are opaque strings; a stable digest keeps them realistic."""
    return hashlib.sha1(name.encode()).hexdigest()[:16]


def _ceil_ms(seconds: float) -> float:
    """Round a delay *up* to whole milliseconds so a client never wakes before the reset."""
    return max(0.0, math.ceil(seconds * 1000.0) / 1000.0)


def compute_pings(
    content: str, allowed_mentions: Mapping[str, Any] | None, *, replied_user_id: str | None = None
) -> set[str]:
    """What Discord would notify for this content under these allowed_mentions.

    Why a standalone function: the rule is the point of the check.  With no
    ``allowed_mentions`` Discord parses everything (@everyone/@here, users, roles) and
    pings the author of a replied-to message; with one, only what ``parse``/``users``/
    ``roles``/``replied_user`` allow.  Returns markers like ``"@everyone"``,
    ``"user:123"``, ``"role:5"``, ``"reply:123"``.
    """
    if allowed_mentions is None:
        parse = {"everyone", "users", "roles"}
        users: set[str] = set()
        roles: set[str] = set()
        replied = True
    else:
        parse = set(allowed_mentions.get("parse") or [])
        users = {str(u) for u in allowed_mentions.get("users") or []}
        roles = {str(r) for r in allowed_mentions.get("roles") or []}
        replied = bool(allowed_mentions.get("replied_user", False))
    out: set[str] = set()
    if "everyone" in parse:
        if "@everyone" in content:
            out.add("@everyone")
        if "@here" in content:
            out.add("@here")
    for uid in USER_MENTION_RE.findall(content):
        if "users" in parse or uid in users:
            out.add(f"user:{uid}")
    for rid in ROLE_MENTION_RE.findall(content):
        if "roles" in parse or rid in roles:
            out.add(f"role:{rid}")
    if replied_user_id is not None and replied:
        out.add(f"reply:{replied_user_id}")
    return out


@dataclass
class Call:
    """One REST request as the fake saw it; tests assert on order, payloads and statuses."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    status: int
    time: float  # the fake's clock
    bucket: str | None = None


@dataclass
class Write:
    """One create or edit of a message, kept so tests can replay how an answer grew."""

    time: float
    kind: Literal["create", "edit"]
    route: str
    content: str  # the message's content after this write
    payload: Json  # what the client sent (the interaction callback's ``data`` for callbacks)
    allowed_mentions: Json | None  # as sent; None when the payload had no allowed_mentions
    pings: set[str]


Fault = int | Literal["hang"]


@dataclass
class FakeAttachment:
    """A file on the fake's CDN, attached to a message or to an `/ask` option.

    `url` and `proxy_url` point at this fake's own loopback server, signed like Discord's
    (`ex`, `is`, `hm`), which serves `data` there. `fault` is the switch for what goes
    wrong on Discord's CDN: a status (403 for an expired link, 404 for a deleted message)
    answered instead of the file, or `"hang"` for a download that never answers.
    `size` is what Discord declares, normally `len(data)`.
    """

    id: str
    channel_id: str
    filename: str
    data: bytes = field(repr=False)
    content_type: str | None
    size: int
    url: str
    proxy_url: str
    ephemeral: bool = False
    fault: Fault | None = None
    downloads: int = 0  # requests that were answered with the file

    def to_payload(self) -> Json:
        data: Json = {
            "id": self.id,
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.proxy_url,
        }
        if self.content_type is not None:
            data["content_type"] = self.content_type
        if self.ephemeral:
            data["ephemeral"] = True
        return data


@dataclass
class FakeMessage:
    """A stored message: the latest state plus every write that produced it."""

    id: str
    channel_id: str
    guild_id: str | None
    author: Json
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    message_reference: Json | None = None
    mentions: list[Json] = field(default_factory=list)
    mention_roles: list[str] = field(default_factory=list)
    mention_everyone: bool = False
    webhook_id: str | None = None
    application_id: str | None = None
    interaction_token: str | None = None
    interaction_metadata: Json | None = None
    timestamp: str = field(default_factory=_iso_now)
    edited_timestamp: str | None = None
    deleted: bool = False
    attachments: list[FakeAttachment] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)

    @property
    def versions(self) -> list[tuple[float, str]]:
        """(clock time, content) per create/edit: the streaming history of the message."""
        return [(w.time, w.content) for w in self.writes]

    @property
    def allowed_mentions(self) -> list[Json | None]:
        """allowed_mentions as sent on each create/edit (None = absent), aligned with writes."""
        return [w.allowed_mentions for w in self.writes]

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while a deferred interaction response still shows "thinking..."."""
        return bool(self.flags & LOADING)

    def to_payload(self) -> Json:
        """The message object as Discord's REST API returns it."""
        data: Json = {
            "id": self.id,
            "channel_id": self.channel_id,
            "type": self.type,
            "author": dict(self.author),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": self.mention_everyone,
            "mentions": [dict(m) for m in self.mentions],
            "mention_roles": list(self.mention_roles),
            "attachments": [a.to_payload() for a in self.attachments],
            "embeds": [dict(e) for e in self.embeds],
            "components": [dict(c) for c in self.components],
            "pinned": False,
            "flags": self.flags,
        }
        if self.message_reference is not None:
            data["message_reference"] = dict(self.message_reference)
        if self.webhook_id is not None:
            data["webhook_id"] = self.webhook_id
        if self.application_id is not None:
            data["application_id"] = self.application_id
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = dict(self.interaction_metadata)
        return data


@dataclass
class FakeInteraction:
    """An interaction the fake dispatched, and what the bot did with it."""

    id: str
    token: str
    type: int  # 2 application command, 3 component, 4 autocomplete
    created: float  # the fake's clock
    channel_id: str
    guild_id: str | None
    user: Json
    data: Json
    payload: Json  # the INTERACTION_CREATE ``d`` as dispatched
    message_id: str | None = None  # the clicked message, for components
    response_type: int | None = None
    response_data: Json | None = None
    ephemeral: bool = False
    original_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)
    forced_expired: bool = False


@dataclass
class MentionViolation:
    """A create/edit that could have pinged someone (or, strictly, was not pinned down)."""

    message_id: str
    time: float
    route: str
    content: str
    allowed_mentions: Json | None
    reasons: list[str]
    pings: set[str]


@dataclass
class _Bucket:
    """A fixed-window rate-limit bucket, the model Discord's headers describe."""

    limit: int
    period: float
    window_end: float = -math.inf
    used: int = 0

    def _roll(self, now: float) -> None:
        if now >= self.window_end:
            self.window_end = now + self.period
            self.used = 0

    def take(self, now: float) -> tuple[bool, int, float]:
        """Try to spend one request; returns (allowed, remaining, reset_after)."""
        self._roll(now)
        reset_after = self.window_end - now
        if self.used >= self.limit:
            return False, 0, reset_after
        self.used += 1
        return True, self.limit - self.used, reset_after

    def exhaust(self, now: float) -> None:
        self._roll(now)
        self.used = self.limit


@dataclass
class _Guild:
    id: str
    name: str
    owner_id: str
    roles: list[Json] = field(default_factory=list)
    channel_ids: list[str] = field(default_factory=list)
    member_ids: list[str] = field(default_factory=list)
    member_roles: dict[str, list[str]] = field(default_factory=dict)  # user id -> role ids
    joined_at: str = field(default_factory=_iso_now)


@dataclass(eq=False)
class _Connection:
    """One live gateway websocket."""

    ws: web.WebSocketResponse
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session_id: str | None = None
    last_heartbeat_seq: int = -1
    heartbeat_waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)


@dataclass(eq=False)
class _Session:
    """A gateway session; it outlives a connection so RESUME can replay missed events."""

    id: str
    intents: int
    shard: list[int]
    seq: int = 0
    backlog: list[Json] = field(default_factory=list)
    connection: _Connection | None = None


@dataclass
class _Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    headers: Mapping[str, str]


@dataclass
class _Reply:
    status: int
    body: Any = None  # None -> empty body
    headers: dict[str, str] = field(default_factory=dict)


class _HTTPError(Exception):
    """Raised by handlers to answer with a Discord-shaped error body."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json | None = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


class _BareError(_HTTPError):
    """An error with an empty body and no Discord code, as a proxy or gateway may answer."""

    def __init__(self, status: int) -> None:
        super().__init__(status, 0, "")
        self.body = None


def _form_error(field_name: str, code: str, message: str) -> _HTTPError:
    """Discord's 50035 "Invalid Form Body" shape; discord.py flattens ``errors`` into its message."""
    return _HTTPError(400, 50035, "Invalid Form Body", {field_name: {"_errors": [{"code": code, "message": message}]}})


Handler = Callable[[_Request], Awaitable[_Reply]]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool  # requires "Authorization: Bot <token>"
    bucket: Callable[[dict[str, str]], tuple[str, str] | None] | None = None  # -> (key, hash)


class FakeDiscord:
    """A loopback Discord for discord.py: REST routes, buckets, and a JSON gateway.

    The world starts with one guild (``guild_id``) holding one text channel
    (``channel_id``), the bot, and one human user (``user``, "alice").  Add more with the
    ``add_*`` helpers before the client connects.
    """

    def __init__(
        self,
        *,
        bot_token: str = "test-token",
        app_id: int = 1_100_000_000_000_000_001,
        bot_user_id: int = 1_100_000_000_000_000_002,
        channel_bucket: tuple[int, float] = (5, 5.0),
        webhook_bucket: tuple[int, float] = (5, 5.0),
        max_content: int = 2000,
        token_ttl: float = 900.0,
        ack_deadline: float = 3.0,
        heartbeat_interval_ms: int = 41_250,
        echo_own_messages: bool = True,
        callback_with_response: bool = True,
        announce_guilds: bool = True,
        read_bucket: tuple[int, float] | None = None,
        dead_token_status: int | None = None,
        bot_edits_interaction_messages: bool = True,
        resume_gateway_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot_token = bot_token
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.channel_bucket = channel_bucket
        self.webhook_bucket = webhook_bucket
        self.max_content = max_content
        self.token_ttl = token_ttl
        self.ack_deadline = ack_deadline
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.echo_own_messages = echo_own_messages
        # False: the interaction callback answers 204 No Content even when asked
        # with_response=1, as Discord documents for the plain callback (and many fakes do).
        self.callback_with_response = callback_with_response
        # False: READY lists no guilds and no GUILD_CREATE follows, so the client caches
        # none (an outage, or a large bot before its guilds stream in).
        self.announce_guilds = announce_guilds
        # Reading a channel's messages (GET one, or its history) has its own bucket on
        # Discord, separate from creating and editing them; None: reads are unlimited.
        self.read_bucket = read_bucket
        # Set (401 or 404): a dead interaction token gets that status with an empty body
        # instead of Discord's JSON 50027, as from a proxy in front of Discord.
        self.dead_token_status = dead_token_status
        # Discord lets the bot token edit its public interaction messages through the
        # channel route; False refuses that (50005), as for an app without the channel.
        self.bot_edits_interaction_messages = bot_edits_interaction_messages
        # What READY names as `resume_gateway_url` (default: this fake's own gateway);
        # Discord names one of its regional hosts there.
        self.resume_gateway_url = resume_gateway_url
        self.resumes = 0  # sessions resumed (op 6 accepted), as opposed to identified anew
        self.clock = clock

        self.calls: list[Call] = []
        self.rate_limited: Counter[str] = Counter()
        self.invalid_requests = 0  # 401/403/429: Discord bans an IP at 10,000 per 10 min
        self.commands: list[Json] = []
        self.guild_commands: dict[str, list[Json]] = {}
        self.messages: dict[str, FakeMessage] = {}
        self.interactions: dict[str, FakeInteraction] = {}  # by token
        self.users: dict[str, Json] = {}
        self.channels: dict[str, Json] = {}
        self.guilds: dict[str, _Guild] = {}
        self.attachments: dict[str, FakeAttachment] = {}  # by id
        self.cdn_calls: list[Call] = []  # downloads from the CDN paths, apart from REST `calls`

        self._last_id = 0
        self._closing = asyncio.Event()  # releases downloads held by a "hang" fault
        self._buckets: dict[str, _Bucket] = {}
        self._sessions: dict[str, _Session] = {}
        self._connections: set[_Connection] = set()
        self._ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes = self._build_routes()

        self.bot_user: Json = self._make_user(str(bot_user_id), "trickle", bot=True)
        self.users[self.bot_user["id"]] = self.bot_user
        self.user: Json = self.add_user("alice")
        self.guild_id: int = self.add_guild("Test Guild", owner=self.user)
        self.channel_id: int = self.add_text_channel(self.guild_id, "general")

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._require_port()}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._require_port()}/gateway"

    def _require_port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a port the OS picks (never a fixed port: tests run in parallel)."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        # Discord's CDN (cdn.discordapp.com) and its media proxy (media.discordapp.net).
        for prefix in ("", "/media"):
            for folder in ("attachments", "ephemeral-attachments"):
                path = f"{prefix}/{folder}/{{channel_id}}/{{attachment_id}}/{{filename}}"
                app.router.add_get(path, self._cdn_handler)
        app.router.add_route("*", "/{tail:.*}", self._http_handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Close gateway sockets (1001, going away) and the server."""
        self._closing.set()
        for conn in list(self._connections):
            await conn.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ world building

    def _next_id(self) -> str:
        """Snowflake-shaped, strictly increasing ids (timestamp in the high bits)."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    @staticmethod
    def _make_user(user_id: str, name: str, *, bot: bool = False) -> Json:
        return {
            "id": user_id,
            "username": name,
            "global_name": name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
        }

    def add_user(self, name: str, *, bot: bool = False) -> Json:
        """Register a user (member of every guild); returns its user object."""
        user = self._make_user(self._next_id(), name, bot=bot)
        self.users[user["id"]] = user
        for guild in self.guilds.values():
            guild.member_ids.append(user["id"])
        return user

    def add_guild(self, name: str, *, owner: Json | None = None) -> int:
        """A guild with an @everyone role, the bot and every known user as members."""
        gid = self._next_id()
        everyone = {
            "id": gid,
            "name": "@everyone",
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": 0,
            "permissions": str(DEFAULT_PERMISSIONS),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        owner_id = (owner or self.user)["id"]
        self.guilds[gid] = _Guild(id=gid, name=name, owner_id=owner_id, roles=[everyone], member_ids=list(self.users))
        return int(gid)

    def add_role(self, guild_id: int | str, name: str) -> int:
        guild = self.guilds[str(guild_id)]
        role = dict(guild.roles[0], id=self._next_id(), name=name, position=len(guild.roles), permissions="0")
        guild.roles.append(role)
        return int(role["id"])

    def give_role(self, user: Json, role_id: int | str, *, guild_id: int | str | None = None) -> None:
        """Make ``user`` hold a role (from `add_role`) in a guild (default: the fake's): every
        member object sent from then on (messages, interactions, GUILD_CREATE) lists it."""
        guild = self.guilds[str(guild_id if guild_id is not None else self.guild_id)]
        if not any(r["id"] == str(role_id) for r in guild.roles):
            raise KeyError(f"no role {role_id} in guild {guild.id}")
        held = guild.member_roles.setdefault(user["id"], [])
        if str(role_id) not in held:
            held.append(str(role_id))

    def add_text_channel(self, guild_id: int | str, name: str) -> int:
        guild = self.guilds[str(guild_id)]
        cid = self._next_id()
        self.channels[cid] = {
            "id": cid,
            "type": 0,
            "guild_id": guild.id,
            "name": name,
            "position": len(guild.channel_ids),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        guild.channel_ids.append(cid)
        return int(cid)

    def add_dm_channel(self, user: Json) -> int:
        """The DM channel between the bot and ``user`` (created once, then reused)."""
        for ch in self.channels.values():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == user["id"]:
                return int(ch["id"])
        cid = self._next_id()
        self.channels[cid] = {"id": cid, "type": 1, "recipients": [dict(user)], "last_message_id": None, "flags": 0}
        return int(cid)

    def add_attachment(
        self,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = "",
        channel_id: int | str | None = None,
        size: int | None = None,
        ephemeral: bool = False,
    ) -> FakeAttachment:
        """A file uploaded to ``channel_id`` (default: the fake's channel), served by the fake.

        Attach it with ``send_message(attachments=[...])`` or pass it as an `/ask` option
        value (``ephemeral=True``, as Discord keeps a slash command's files). The content
        type is guessed as Discord does (``""``), or given, or left out (``None``); ``size``
        overrides the declared size.
        """
        self._require_port()  # the URL names this server
        cid = str(channel_id if channel_id is not None else self.channel_id)
        aid = self._next_id()
        if content_type == "":
            content_type = _guess_content_type(filename, data)
        folder = "ephemeral-attachments" if ephemeral else "attachments"
        path = f"/{folder}/{cid}/{aid}/{urllib.parse.quote(filename)}"
        issued = int(time.time())
        signed = f"?ex={issued + 86_400:x}&is={issued:x}&hm={secrets.token_hex(32)}&"
        base = f"http://127.0.0.1:{self._port}"
        attachment = FakeAttachment(
            id=aid,
            channel_id=cid,
            filename=filename,
            data=data,
            content_type=content_type,
            size=len(data) if size is None else size,
            url=f"{base}{path}{signed}",
            proxy_url=f"{base}/media{path}{signed}",
            ephemeral=ephemeral,
        )
        self.attachments[aid] = attachment
        return attachment

    def fail_attachment(self, target: FakeAttachment | int | str, fault: Fault | None) -> None:
        """Make downloads of an attachment (given itself, its id or its URL) answer
        ``fault`` -- a status, or ``"hang"`` -- or, with None, the file again."""
        if isinstance(target, FakeAttachment):
            attachment = target
        else:
            key = str(target)
            attachment = self.attachments.get(key) or next(
                a for a in self.attachments.values() if key in (a.url, a.proxy_url)
            )
        attachment.fault = fault

    def _member(self, guild: _Guild, user_id: str, *, with_user: bool = True) -> Json:
        member: Json = {
            "nick": None,
            "avatar": None,
            "roles": list(guild.member_roles.get(user_id, [])),  # @everyone is never listed
            "joined_at": guild.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        if with_user:
            member["user"] = dict(self.users[user_id])
        return member

    def _guild_payload(self, guild: _Guild, *, intents: int) -> Json:
        """GUILD_CREATE; without the GUILD_MEMBERS intent Discord lists only the bot itself."""
        members = guild.member_ids if intents & INTENT_GUILD_MEMBERS else [self.bot_user["id"]]
        return {
            "id": guild.id,
            "name": guild.name,
            "icon": None,
            "owner_id": guild.owner_id,
            "unavailable": False,
            "roles": [dict(r) for r in guild.roles],
            "emojis": [],
            "stickers": [],
            "features": [],
            # member_count == len(members) makes discord.py treat the guild as chunked.
            "member_count": len(guild.member_ids),
            "members": [self._member(guild, uid) for uid in members if uid in guild.member_ids],
            "channels": [dict(self.channels[c]) for c in guild.channel_ids],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "joined_at": guild.joined_at,
            "preferred_locale": "en-US",
            "premium_tier": 0,
            "system_channel_id": None,
            "afk_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "application_id": None,
        }

    def _app_payload(self) -> Json:
        return {
            "id": str(self.app_id),
            "name": "trickle",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": dict(self.user),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
            "bot": dict(self.bot_user),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.guilds),
        }

    # ------------------------------------------------------------------ inspection helpers

    @property
    def live_sessions(self) -> int:
        """Gateway sessions with an open websocket (0 while a client reconnects)."""
        return sum(1 for s in self._sessions.values() if s.connection is not None and not s.connection.ws.closed)

    def message(self, message_id: int | str) -> FakeMessage:
        return self.messages[str(message_id)]

    def channel_messages(self, channel_id: int | str, *, include_ephemeral: bool = False) -> list[FakeMessage]:
        """Messages of a channel, oldest first, as a user would see them (no deleted ones)."""
        cid = str(channel_id)
        return [
            m
            for m in self.messages.values()
            if m.channel_id == cid and not m.deleted and (include_ephemeral or not m.ephemeral)
        ]

    def original(self, interaction_token: str) -> FakeMessage | None:
        inter = self.interactions.get(interaction_token)
        if inter is None or inter.original_id is None:
            return None
        return self.messages[inter.original_id]

    def followups(self, interaction_token: str) -> list[FakeMessage]:
        inter = self.interactions[interaction_token]
        return [self.messages[i] for i in inter.followup_ids]

    def pings(self, msg: FakeMessage | int | str) -> set[str]:
        """Everything any write of this message would have notified (see ``compute_pings``)."""
        m = msg if isinstance(msg, FakeMessage) else self.message(msg)
        out: set[str] = set()
        for w in m.writes:
            out |= w.pings
        return out

    def mention_violations(self, *, strict: bool = True) -> list[MentionViolation]:
        """Every bot create/edit that could ping.

        strict (default): any write carrying text without ``allowed_mentions``, or whose
        ``allowed_mentions`` allows anything (non-empty ``parse``, ``users``, ``roles`` or
        ``replied_user: true``) -- the model's output is arbitrary, so only "none" is safe.
        Non-strict: only writes whose actual content would have pinged someone.
        Writes without text (a defer, a components-only create) are skipped.
        """
        out: list[MentionViolation] = []
        for m in self.messages.values():
            if m.author["id"] != self.bot_user["id"]:
                continue
            for w in m.writes:
                carries_text = "content" in w.payload and bool(w.payload.get("content"))
                if w.kind == "edit" and w.content:
                    carries_text = True  # Discord re-parses the content on every edit
                if not carries_text:
                    continue
                reasons: list[str] = []
                am = w.allowed_mentions
                if strict:
                    if am is None:
                        reasons.append("no allowed_mentions")
                    else:
                        if am.get("parse"):
                            reasons.append(f"parse={am['parse']}")
                        if am.get("users"):
                            reasons.append(f"users={am['users']}")
                        if am.get("roles"):
                            reasons.append(f"roles={am['roles']}")
                        if am.get("replied_user"):
                            reasons.append("replied_user=true")
                if w.pings:
                    reasons.append(f"pings {sorted(w.pings)}")
                if reasons:
                    out.append(MentionViolation(m.id, w.time, w.route, w.content, am, reasons, set(w.pings)))
        return out

    def writes_in_order(self) -> list[tuple[FakeMessage, Write]]:
        """All writes across messages in time order: handy to check edit pacing."""
        pairs = [(m, w) for m in self.messages.values() for w in m.writes]
        return sorted(pairs, key=lambda p: p[1].time)

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        """Recorded calls matching a method and a path regex (path without /api/v10)."""
        rx = re.compile(path_regex)
        return [c for c in self.calls if c.method == method and rx.fullmatch(c.path)]

    def exhaust_bucket(self, key: str) -> None:
        """Spend a bucket, as another process sharing the bot token would.

        Why: discord.py reads the headers and waits *before* sending, so a single client
        almost never sees a 429; this is how tests make one happen.  Keys are
        ``"channel:<id>"`` (edits and deletes), ``"create:<id>"`` (new messages) and
        ``"webhook:<interaction token>"``.
        """
        bucket = self._buckets.setdefault(key, _Bucket(*self._limits(key)))
        bucket.exhaust(self.clock())

    def _limits(self, key: str) -> tuple[int, float]:
        if key.startswith("read:"):
            assert self.read_bucket is not None
            return self.read_bucket
        return self.channel_bucket if key.startswith(("channel:", "create:")) else self.webhook_bucket

    def expire_interaction(self, token: str) -> None:
        """Make the token invalid now, without advancing the clock."""
        self.interactions[token].forced_expired = True

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll a condition on the fake's state (the bot reacts asynchronously)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("condition not met within %.1fs" % timeout)
            await asyncio.sleep(0.005)

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until a client identified, got READY + GUILD_CREATEs, and has parsed them.

        Why the extra round trip: with guild_ready_timeout=0 discord.py may fire on_ready
        before it reads GUILD_CREATE, so on_ready alone does not mean the cache is filled.
        """
        await asyncio.wait_for(self._ready.wait(), timeout)
        await self.roundtrip(timeout)

    async def roundtrip(self, timeout: float = 5.0) -> None:
        """Barrier: every live client has processed every event dispatched so far.

        Sends a heartbeat request (op 1); discord.py answers with its last processed
        sequence number, and events are handled in order.
        """
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for session in self._sessions.values():
            conn = session.connection
            if conn is None or conn.ws.closed:
                continue
            fut: asyncio.Future[None] = loop.create_future()
            if conn.last_heartbeat_seq >= session.seq:
                fut.set_result(None)
            else:
                conn.heartbeat_waiters.append((session.seq, fut))
                await self._ws_send(conn, {"op": 1, "d": None})
            waits.append(fut)
        if waits:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)

    # ------------------------------------------------------------------ gateway events

    async def send_message(
        self,
        channel_id: int | str,
        content: str,
        author: Json | None = None,
        *,
        mentions: Sequence[Json | int | str] | None = None,
        message_reference: int | str | Json | None = None,
        mention_reply: bool = True,
        dispatch: bool = True,
        attachments: Sequence[FakeAttachment | tuple[str, bytes]] = (),
    ) -> FakeMessage:
        """A user posts in a channel: store it and dispatch MESSAGE_CREATE.

        ``attachments`` are `add_attachment` results or ``(filename, data)`` pairs, which
        are uploaded to this channel here.

        ``dispatch=False`` stores it only, as a message posted before the bot connected:
        the bot has to fetch it over REST to see it.

        ``mentions`` defaults to the known users named as ``<@id>`` in the content; a reply
        (``message_reference``) also mentions the replied-to author unless
        ``mention_reply=False``, as Discord's client does.
        """
        author = author or self.user
        channel = self._channel(str(channel_id))
        ref: Json | None = None
        referenced: FakeMessage | None = None
        if message_reference is not None:
            ref = (
                dict(message_reference)
                if isinstance(message_reference, Mapping)
                else {"message_id": str(message_reference)}
            )
            ref.setdefault("channel_id", channel["id"])
            if channel.get("guild_id"):
                ref.setdefault("guild_id", channel["guild_id"])
            ref.setdefault("type", 0)
            referenced = self.messages.get(str(ref["message_id"]))
        if mentions is None:
            mentioned = [self.users[u] for u in USER_MENTION_RE.findall(content) if u in self.users]
        else:
            mentioned = [m if isinstance(m, Mapping) else self.users[str(m)] for m in mentions]
        if referenced is not None and mention_reply and all(u["id"] != referenced.author["id"] for u in mentioned):
            mentioned.append(referenced.author)
        msg = FakeMessage(
            id=self._next_id(),
            channel_id=channel["id"],
            guild_id=channel.get("guild_id"),
            author=dict(author),
            content=content,
            type=19 if ref else 0,
            message_reference=ref,
            mentions=[dict(u) for u in mentioned],
            mention_roles=ROLE_MENTION_RE.findall(content),
            mention_everyone="@everyone" in content or "@here" in content,
            attachments=[
                a if isinstance(a, FakeAttachment) else self.add_attachment(a[0], a[1], channel_id=channel["id"])
                for a in attachments
            ],
        )
        msg.writes.append(
            Write(self.clock(), "create", "gateway MESSAGE_CREATE", content, {"content": content}, None, set())
        )
        self.messages[msg.id] = msg
        channel["last_message_id"] = msg.id
        if dispatch:
            await self._dispatch_message("MESSAGE_CREATE", msg, referenced=referenced)
        return msg

    async def redeliver(self, message: FakeMessage) -> None:
        """Dispatch MESSAGE_CREATE again for a message already sent, as a gateway does
        when it delivers an event twice (at least once is all Discord promises)."""
        referenced = self.messages.get(str((message.message_reference or {}).get("message_id")))
        await self._dispatch_message("MESSAGE_CREATE", message, referenced=referenced)

    async def send_interaction(
        self,
        name: str = "ask",
        options: Mapping[str, Any] | Sequence[Json] | None = None,
        *,
        user: Json | None = None,
        channel_id: int | str | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user runs a slash command: dispatch INTERACTION_CREATE (type 2).

        ``options`` may be a mapping (types come from the synced command, else from the
        Python values) or raw option dicts.  The command id and ``data.guild_id`` are taken
        from the synced commands, which is what discord.py's CommandTree looks up.
        """
        user = user or self.user
        channel = self._channel(str(channel_id if channel_id is not None else self.channel_id))
        data, registered = self._command_data(name, channel)
        data["options"] = self._options(options, registered)
        self._resolve_attachments(data)
        return await self._dispatch_interaction(2, data, user, channel, locale=locale)

    def _command_data(self, name: str, channel: Json) -> tuple[Json, Json | None]:
        """Interaction `data` for command `name` in `channel`, and the command as synced.

        The command id and `data.guild_id` come from the synced commands (guild first),
        which is what discord.py's CommandTree looks up.
        """
        gid = channel.get("guild_id")
        registered = next((c for c in self.guild_commands.get(gid or "", []) if c["name"] == name), None)
        data: Json = {"name": name, "type": 1}
        if registered is not None:
            data["guild_id"] = gid
        else:
            registered = next((c for c in self.commands if c["name"] == name), None)
        data["id"] = registered["id"] if registered else self._next_id()
        return data, registered

    async def send_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        user: Json | None = None,
        channel_id: int | str | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user types into option `focused` of a slash command: INTERACTION_CREATE type 4.

        The bot answers with callback type 8 (`data.choices`), read from `response_data`.
        """
        user = user or self.user
        channel = self._channel(str(channel_id if channel_id is not None else self.channel_id))
        data, registered = self._command_data(name, channel)
        data["options"] = [
            {**option, "focused": True} if option["name"] == focused else option
            for option in self._options(options, registered)
        ]
        self._resolve_attachments(data)
        return await self._dispatch_interaction(4, data, user, channel, locale=locale)

    async def send_component_click(
        self,
        message_id: int | str,
        custom_id: str,
        user: Json | None = None,
        *,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user clicks a button (or picks in a select) on a message: INTERACTION_CREATE type 3."""
        msg = self.message(message_id)
        channel = self._channel(msg.channel_id)
        data: Json = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        return await self._dispatch_interaction(3, data, user or self.user, channel, locale=locale, message=msg)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close live gateway sockets; discord.py reconnects and RESUMEs (missed events replay)."""
        for conn in list(self._connections):
            await conn.ws.close(code=code)

    def _options(self, options: Mapping[str, Any] | Sequence[Json] | None, registered: Json | None) -> list[Json]:
        if options is None:
            return []
        if not isinstance(options, Mapping):
            return [dict(o) for o in options]
        declared = {o["name"]: o.get("type") for o in (registered or {}).get("options", [])}
        out: list[Json] = []
        for key, value in options.items():
            kind = declared.get(key)
            if isinstance(value, FakeAttachment):  # ATTACHMENT 11: the value is its id
                kind, value = ATTACHMENT_OPTION, value.id
            elif kind is None:  # STRING 3, INTEGER 4, BOOLEAN 5, NUMBER 10
                kind = (
                    5 if isinstance(value, bool) else 4 if isinstance(value, int) else 10 if isinstance(value, float) else 3
                )
            out.append({"name": key, "type": kind, "value": value})
        return out

    def _resolve_attachments(self, data: Json) -> None:
        """Discord sends an attachment option's id as its value and the file itself in
        ``data.resolved.attachments``, keyed by that id."""
        ids = [str(o["value"]) for o in data.get("options", []) if o.get("type") == ATTACHMENT_OPTION]
        found = {aid: self.attachments[aid].to_payload() for aid in ids if aid in self.attachments}
        if found:
            data.setdefault("resolved", {})["attachments"] = found

    async def _dispatch_interaction(
        self,
        kind: int,
        data: Json,
        user: Json,
        channel: Json,
        *,
        locale: str,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        iid = self._next_id()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        gid = channel.get("guild_id")
        payload: Json = {
            "id": iid,
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": channel["id"],
            "channel": dict(channel),
            "app_permissions": str(DEFAULT_PERMISSIONS),
            "locale": locale,
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,  # discord.py requires this key
        }
        if gid is not None:
            guild = self.guilds[gid]
            member = self._member(guild, user["id"]) if user["id"] in self.users else {"user": dict(user), "roles": []}
            member["permissions"] = str(DEFAULT_PERMISSIONS)
            payload.update(
                guild_id=gid,
                guild={"id": gid, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member,
                authorizing_integration_owners={"0": gid},
                context=0,
            )
        else:
            payload.update(user=dict(user), authorizing_integration_owners={"1": user["id"]}, context=1)
        if message is not None:
            payload["message"] = message.to_payload()
        inter = FakeInteraction(
            id=iid,
            token=token,
            type=kind,
            created=self.clock(),
            channel_id=channel["id"],
            guild_id=gid,
            user=dict(user),
            data=data,
            payload=payload,
            message_id=message.id if message else None,
        )
        self.interactions[token] = inter
        await self._dispatch("INTERACTION_CREATE", payload)
        return inter

    async def _dispatch_message(self, event: str, msg: FakeMessage, *, referenced: FakeMessage | None = None) -> None:
        """MESSAGE_CREATE/UPDATE, filtered per session the way Discord applies intents."""
        data = msg.to_payload()
        if msg.guild_id is not None:
            data["guild_id"] = msg.guild_id
            if msg.author["id"] in self.users:
                data["member"] = self._member(self.guilds[msg.guild_id], msg.author["id"], with_user=False)
        if referenced is not None:
            data["referenced_message"] = referenced.to_payload()
        is_dm = msg.guild_id is None
        mentions_bot = any(u["id"] == self.bot_user["id"] for u in msg.mentions)
        own = msg.author["id"] == self.bot_user["id"]

        def shape(session: _Session) -> Json | None:
            needed = INTENT_DIRECT_MESSAGES if is_dm else INTENT_GUILD_MESSAGES
            if not session.intents & needed:
                return None
            if is_dm or own or mentions_bot or session.intents & INTENT_MESSAGE_CONTENT:
                return data
            # Without the privileged MESSAGE_CONTENT intent Discord blanks these fields.
            return dict(data, content="", embeds=[], attachments=[], components=[])

        await self._dispatch(event, shape)

    async def _dispatch(self, event: str, data: Json | Callable[[_Session], Json | None]) -> None:
        """Send a DISPATCH to every session (buffered for sessions that are reconnecting)."""
        if not self._sessions:
            raise RuntimeError(f"no gateway session to receive {event}: call wait_ready() first")
        for session in self._sessions.values():
            d = data(session) if callable(data) else data
            if d is None:
                continue
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": d}
            session.backlog.append(frame)
            del session.backlog[:-1000]
            conn = session.connection
            if conn is not None and not conn.ws.closed:
                await self._ws_send(conn, frame)

    # ------------------------------------------------------------------ gateway server

    async def _ws_send(self, conn: _Connection, frame: Json) -> None:
        async with conn.lock:
            if not conn.ws.closed:
                await conn.ws.send_str(json.dumps(frame, separators=(",", ":")))

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        """JSON text frames only: discord.py asks for ``compress=zlib-stream`` in the URL but
        only decompresses *binary* frames, so uncompressed text frames are accepted."""
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = _Connection(ws)
        self._connections.add(conn)
        try:
            await self._ws_send(conn, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                await self._on_gateway_frame(conn, json.loads(msg.data))
        finally:
            self._connections.discard(conn)
            if conn.session_id is not None:
                session = self._sessions.get(conn.session_id)
                if session is not None and session.connection is conn:
                    session.connection = None
            for _, fut in conn.heartbeat_waiters:
                if not fut.done():
                    fut.set_exception(ConnectionError("gateway connection closed"))
        return ws

    async def _on_gateway_frame(self, conn: _Connection, frame: Json) -> None:
        op = frame.get("op")
        d = frame.get("d")
        if op == 1:  # heartbeat; d is the client's last processed sequence
            seq = d if isinstance(d, int) else -1
            conn.last_heartbeat_seq = max(conn.last_heartbeat_seq, seq)
            keep: list[tuple[int, asyncio.Future[None]]] = []
            for target, fut in conn.heartbeat_waiters:
                if conn.last_heartbeat_seq >= target:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    keep.append((target, fut))
            conn.heartbeat_waiters = keep
            await self._ws_send(conn, {"op": 11})
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif op == 8:
            await self._request_members(conn, d or {})
        # op 3 (presence) and 4 (voice) need no answer

    async def _identify(self, conn: _Connection, d: Json) -> None:
        token = str(d.get("token", ""))
        if token.removeprefix("Bot ") != self.bot_token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = _Session(
            id=secrets.token_hex(16), intents=int(d.get("intents", 0)), shard=list(d.get("shard") or [0, 1])
        )
        session.connection = conn
        conn.session_id = session.id
        self._sessions[session.id] = session
        ready = {
            "v": 10,
            "user": dict(self.bot_user),
            "guilds": [{"id": gid, "unavailable": True} for gid in self.guilds] if self.announce_guilds else [],
            "session_id": session.id,
            "resume_gateway_url": self.resume_gateway_url or self.gateway_url,
            "shard": session.shard,
            "application": {"id": str(self.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
            "_trace": ["trickle-fake-discord"],
        }
        await self._send_to_session(session, "READY", ready)
        for guild in self.guilds.values() if self.announce_guilds else ():
            await self._send_to_session(session, "GUILD_CREATE", self._guild_payload(guild, intents=session.intents))
        self._ready.set()

    async def _send_to_session(self, session: _Session, event: str, d: Json) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": d}
        session.backlog.append(frame)
        if session.connection is not None:
            await self._ws_send(session.connection, frame)

    async def _resume(self, conn: _Connection, d: Json) -> None:
        session = self._sessions.get(str(d.get("session_id")))
        if session is None or str(d.get("token", "")).removeprefix("Bot ") != self.bot_token:
            await self._ws_send(conn, {"op": 9, "d": False})
            return
        session.connection = conn
        conn.session_id = session.id
        self.resumes += 1
        last = d.get("seq") or 0
        for frame in list(session.backlog):
            if frame["s"] > last:
                await self._ws_send(conn, frame)
        await self._send_to_session(session, "RESUMED", {"_trace": ["trickle-fake-discord"]})

    async def _request_members(self, conn: _Connection, d: Json) -> None:
        session = self._sessions.get(conn.session_id or "")
        guild = self.guilds.get(str(d.get("guild_id")))
        if session is None or guild is None:
            return
        chunk = {
            "guild_id": guild.id,
            "members": [self._member(guild, uid) for uid in guild.member_ids],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        await self._send_to_session(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ------------------------------------------------------------------ CDN

    async def _cdn_handler(self, request: web.Request) -> web.StreamResponse:
        """An attachment's bytes, or its fault; no bot token needed (the URL is signed)."""
        call = Call("GET", request.path, dict(request.query), None, 0, self.clock())
        self.cdn_calls.append(call)
        attachment = self.attachments.get(request.match_info["attachment_id"])
        if (
            attachment is None
            or attachment.channel_id != request.match_info["channel_id"]
            or attachment.filename != request.match_info["filename"]
        ):
            call.status = 404
            return web.Response(status=404, text="Not Found")
        if attachment.fault == "hang":
            await self._closing.wait()  # until the fake stops; the client gives up first
            call.status = 503
            return web.Response(status=503)
        if attachment.fault is not None:
            call.status = attachment.fault
            # Discord's CDN answers an expired or unknown link with a short text page.
            return web.Response(status=attachment.fault, text="This content is no longer available.")
        attachment.downloads += 1
        call.status = 200
        headers = {"Content-Type": attachment.content_type or "application/octet-stream"}
        return web.Response(body=attachment.data, headers=headers)

    # ------------------------------------------------------------------ REST plumbing

    def _build_routes(self) -> list[_Route]:
        def r(method: str, path: str, handler: Handler, *, auth: bool = True, bucket: Any = None) -> _Route:
            regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"
            return _Route(method, re.compile(regex), handler, auth, bucket)

        def channel_bucket(p: dict[str, str]) -> tuple[str, str]:
            return f"channel:{p['channel_id']}", _bucket_hash("channel-messages")

        def create_bucket(p: dict[str, str]) -> tuple[str, str]:
            # Discord names creates and edits with one bucket hash, yet counts them apart
            # (discord-api-docs #1442, #8073): the same header, another count.
            return f"create:{p['channel_id']}", _bucket_hash("channel-messages")

        def read_bucket(p: dict[str, str]) -> tuple[str, str] | None:
            if self.read_bucket is None:
                return None
            return f"read:channel:{p['channel_id']}", _bucket_hash("channel-messages-read")

        def webhook_bucket(p: dict[str, str]) -> tuple[str, str]:
            return f"webhook:{p['token']}", _bucket_hash("webhook")

        wh = "/webhooks/{app_id}/{token}"
        return [
            r("GET", "/users/@me", self._get_me),
            r("GET", "/users/{user_id}", self._get_user),
            r("POST", "/users/@me/channels", self._create_dm),
            r("GET", "/oauth2/applications/@me", self._get_app),
            r("GET", "/applications/@me", self._get_app),
            r("GET", "/gateway", self._get_gateway, auth=False),
            r("GET", "/gateway/bot", self._get_gateway_bot),
            r("PUT", "/applications/{app}/commands", self._put_commands),
            r("GET", "/applications/{app}/commands", self._get_commands),
            r("PUT", "/applications/{app}/guilds/{guild_id}/commands", self._put_commands),
            r("GET", "/applications/{app}/guilds/{guild_id}/commands", self._get_commands),
            r("POST", "/interactions/{interaction_id}/{token}/callback", self._callback, auth=False),
            r("GET", wh + "/messages/{message_id}", self._webhook_get, auth=False, bucket=webhook_bucket),
            r("PATCH", wh + "/messages/{message_id}", self._webhook_edit, auth=False, bucket=webhook_bucket),
            r("DELETE", wh + "/messages/{message_id}", self._webhook_delete, auth=False, bucket=webhook_bucket),
            r("POST", wh, self._webhook_followup, auth=False, bucket=webhook_bucket),
            r("GET", "/channels/{channel_id}", self._get_channel),
            r("POST", "/channels/{channel_id}/typing", self._typing),
            r("GET", "/channels/{channel_id}/messages", self._history, bucket=read_bucket),
            r("POST", "/channels/{channel_id}/messages", self._channel_create, bucket=create_bucket),
            r("GET", "/channels/{channel_id}/messages/{message_id}", self._channel_get, bucket=read_bucket),
            r("PATCH", "/channels/{channel_id}/messages/{message_id}", self._channel_edit, bucket=channel_bucket),
            r("DELETE", "/channels/{channel_id}/messages/{message_id}", self._channel_delete),
        ]

    @staticmethod
    def _json_response(reply: _Reply) -> web.Response:
        """Content-Type exactly ``application/json``: discord.py parses nothing else, and
        ``web.json_response`` would append ``; charset=utf-8``."""
        headers = dict(reply.headers)
        if reply.body is None:
            return web.Response(status=reply.status, headers=headers)
        headers["Content-Type"] = "application/json"
        return web.Response(status=reply.status, body=json.dumps(reply.body).encode(), headers=headers)

    async def _http_handler(self, request: web.Request) -> web.Response:
        path = request.path
        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX) :]
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")  # multipart uploads: recorded, not parsed
        query = dict(request.query)
        reply, bucket_key = await self._route(request.method, path, query, body, request.headers)
        if reply.status in (401, 403, 429):
            self.invalid_requests += 1
        self.calls.append(Call(request.method, path, query, body, reply.status, self.clock(), bucket_key))
        return self._json_response(reply)

    async def _route(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: Mapping[str, str]
    ) -> tuple[_Reply, str | None]:
        path_matched = False
        for route in self._routes:
            m = route.pattern.match(path)
            if m is None:
                continue
            path_matched = True
            if route.method != method:
                continue
            params = m.groupdict()
            req = _Request(method, path, params, query, body, headers)
            if route.auth and headers.get("Authorization") != f"Bot {self.bot_token}":
                return _Reply(401, {"message": "401: Unauthorized", "code": 0}), None
            bucket_key: str | None = None
            rl_headers: dict[str, str] = {}
            try:
                if "app_id" in params:
                    self._webhook_interaction(params)  # 404/401 before the bucket is touched
                named = route.bucket(params) if route.bucket is not None else None
                if named is not None:
                    bucket_key, bucket_hash = named
                    rl_headers, limited = self._take(bucket_key, bucket_hash)
                    if limited is not None:
                        return limited, bucket_key
                reply = await route.handler(req)
            except _HTTPError as err:
                reply = _Reply(err.status, err.body)
            reply.headers.update(rl_headers)
            return reply, bucket_key
        if path_matched:
            return _Reply(405, {"message": "405: Method Not Allowed", "code": 0}), None
        return _Reply(404, {"message": "404: Not Found", "code": 0}), None

    def _take(self, key: str, bucket_hash: str) -> tuple[dict[str, str], _Reply | None]:
        """Spend from a bucket; every response of a limited route carries all X-RateLimit-*
        headers (discord.py needs -Reset-After whenever -Remaining is present)."""
        bucket = self._buckets.setdefault(key, _Bucket(*self._limits(key)))
        ok, remaining, reset_after = bucket.take(self.clock())
        reset_after = _ceil_ms(reset_after)
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash,
        }
        if ok:
            return headers, None
        self.rate_limited[key] += 1
        limited_headers = dict(
            headers,
            **{
                "Retry-After": str(max(1, math.ceil(reset_after))),  # whole seconds, as Discord sends it
                "X-RateLimit-Scope": "user",
                "Via": "1.1 google",  # without Via discord.py assumes a Cloudflare ban
            },
        )
        body = {"message": "You are being rate limited.", "retry_after": reset_after, "global": False}
        return limited_headers, _Reply(429, body, limited_headers)

    def _channel(self, cid: str) -> Json:
        channel = self.channels.get(cid)
        if channel is None:
            raise _HTTPError(404, 10003, "Unknown Channel")
        return channel

    # ------------------------------------------------------------------ message validation and writes

    def _check_allowed_mentions(self, am: Any) -> None:
        if not isinstance(am, Mapping):
            return
        parse = am.get("parse") or []
        for kind in ("users", "roles"):
            if kind in parse and am.get(kind):
                raise _form_error(
                    "allowed_mentions",
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                )

    def _validate(self, payload: Json, current: FakeMessage | None) -> None:
        """Length and emptiness, checked the way Discord checks the *resulting* message."""
        content = payload.get("content")
        if isinstance(content, str) and len(content) > self.max_content:
            raise _form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {self.max_content} or fewer in length.")
        self._check_allowed_mentions(payload.get("allowed_mentions"))
        new_content = (content or "") if "content" in payload else (current.content if current else "")
        embeds = (payload.get("embeds") or []) if "embeds" in payload else (current.embeds if current else [])
        components = (
            (payload.get("components") or []) if "components" in payload else (current.components if current else [])
        )
        has_files = bool(payload.get("attachments")) or bool(payload.get("sticker_ids")) or bool(payload.get("poll"))
        if not (new_content or embeds or components or has_files):
            raise _HTTPError(400, 50006, "Cannot send an empty message")

    def _replied_author(self, ref: Json | None) -> str | None:
        if not ref:
            return None
        target = self.messages.get(str(ref.get("message_id")))
        return target.author["id"] if target else None

    def _apply_mentions(self, msg: FakeMessage, pings: set[str]) -> None:
        msg.mentions = [dict(self.users[p[5:]]) for p in sorted(pings) if p.startswith("user:") and p[5:] in self.users]
        reply = next((p[6:] for p in pings if p.startswith("reply:")), None)
        if reply and reply in self.users and all(u["id"] != reply for u in msg.mentions):
            msg.mentions.append(dict(self.users[reply]))
        msg.mention_roles = [p[5:] for p in sorted(pings) if p.startswith("role:")]
        msg.mention_everyone = "@everyone" in pings or "@here" in pings

    def _create(
        self,
        payload: Json,
        *,
        channel: Json,
        route: str,
        msg_type: int = 0,
        interaction: FakeInteraction | None = None,
        flags: int = 0,
    ) -> FakeMessage:
        ref = payload.get("message_reference")
        if ref:
            target = self.messages.get(str(ref.get("message_id")))
            if target is None and ref.get("fail_if_not_exists", True):
                raise _form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            # discord.py sends these ids as ints; Discord answers with strings.
            ref = {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in ref.items()}
            ref.setdefault("channel_id", channel["id"])
            msg_type = 19
        content = payload.get("content") or ""
        am = payload.get("allowed_mentions")
        pings = compute_pings(content, am, replied_user_id=self._replied_author(ref))
        msg = FakeMessage(
            id=self._next_id(),
            channel_id=channel["id"],
            guild_id=channel.get("guild_id"),
            author=dict(self.bot_user),
            content=content,
            embeds=list(payload.get("embeds") or []),
            components=list(payload.get("components") or []),
            # Only interaction responses can be ephemeral; channel messages ignore the bit.
            flags=flags | (int(payload.get("flags") or 0) & ((EPHEMERAL if interaction else 0) | SUPPRESS_EMBEDS)),
            type=msg_type,
            message_reference=ref or None,
        )
        if interaction is not None:
            msg.webhook_id = str(self.app_id)
            msg.application_id = str(self.app_id)
            msg.interaction_token = interaction.token
            msg.interaction_metadata = {
                "id": interaction.id,
                "type": interaction.type,
                "user": dict(interaction.user),
                "authorizing_integration_owners": interaction.payload.get("authorizing_integration_owners", {}),
            }
            if interaction.type == 2:
                msg.interaction_metadata["name"] = interaction.data.get("name")
        self._apply_mentions(msg, pings)
        msg.writes.append(Write(self.clock(), "create", route, content, dict(payload), am, pings))
        self.messages[msg.id] = msg
        if not msg.ephemeral:
            channel["last_message_id"] = msg.id
        return msg

    def _edit(self, msg: FakeMessage, payload: Json, *, route: str) -> None:
        if "content" in payload:
            msg.content = payload.get("content") or ""
        if "embeds" in payload:
            msg.embeds = list(payload.get("embeds") or [])
        if "components" in payload:
            msg.components = list(payload.get("components") or [])
        if "flags" in payload and payload["flags"] is not None:
            msg.flags = (msg.flags & EPHEMERAL) | (int(payload["flags"]) & SUPPRESS_EMBEDS)
        msg.flags &= ~LOADING
        msg.edited_timestamp = _iso_now()
        am = payload.get("allowed_mentions")
        pings = compute_pings(msg.content, am)
        self._apply_mentions(msg, pings)
        msg.writes.append(Write(self.clock(), "edit", route, msg.content, dict(payload), am, pings))

    async def _echo(self, event: str, msg: FakeMessage) -> None:
        """Discord also tells the gateway about the bot's own messages (ephemeral ones excepted)."""
        if self.echo_own_messages and not msg.ephemeral and self._sessions:
            await self._dispatch_message(event, msg)

    # ------------------------------------------------------------------ REST handlers: identity

    async def _get_me(self, req: _Request) -> _Reply:
        return _Reply(200, dict(self.bot_user))

    async def _get_user(self, req: _Request) -> _Reply:
        user = self.users.get(req.params["user_id"])
        if user is None:
            raise _HTTPError(404, 10013, "Unknown User")
        return _Reply(200, dict(user))

    async def _get_app(self, req: _Request) -> _Reply:
        return _Reply(200, self._app_payload())

    async def _get_gateway(self, req: _Request) -> _Reply:
        return _Reply(200, {"url": self.gateway_url})

    async def _get_gateway_bot(self, req: _Request) -> _Reply:
        return _Reply(
            200,
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            },
        )

    async def _create_dm(self, req: _Request) -> _Reply:
        uid = str((req.json or {}).get("recipient_id"))
        if uid not in self.users:
            raise _HTTPError(404, 10013, "Unknown User")
        return _Reply(200, dict(self.channels[str(self.add_dm_channel(self.users[uid]))]))

    # ------------------------------------------------------------------ REST handlers: commands

    async def _put_commands(self, req: _Request) -> _Reply:
        if req.params["app"] != str(self.app_id):
            raise _HTTPError(403, 50001, "Missing Access")
        gid = req.params.get("guild_id")
        existing = {c["name"]: c for c in (self.guild_commands.get(gid, []) if gid else self.commands)}
        out: list[Json] = []
        for cmd in req.json or []:
            stored = dict(cmd)
            prior = existing.get(cmd["name"])
            stored["id"] = prior["id"] if prior else self._next_id()  # Discord keeps ids by name
            stored["application_id"] = str(self.app_id)
            stored["version"] = self._next_id()
            stored.setdefault("type", 1)
            stored.setdefault("description", "")
            stored.setdefault("options", [])
            stored.setdefault("default_member_permissions", None)
            stored.setdefault("nsfw", False)
            if gid:
                stored["guild_id"] = gid
            out.append(stored)
        if gid:
            self.guild_commands[gid] = out
        else:
            self.commands = out
        return _Reply(200, [dict(c) for c in out])

    async def _get_commands(self, req: _Request) -> _Reply:
        gid = req.params.get("guild_id")
        cmds = self.guild_commands.get(gid, []) if gid else self.commands
        return _Reply(200, [dict(c) for c in cmds])

    # ------------------------------------------------------------------ REST handlers: interactions

    def _interaction_expired(self, inter: FakeInteraction) -> bool:
        return inter.forced_expired or self.clock() - inter.created > self.token_ttl

    def _webhook_interaction(self, params: dict[str, str]) -> FakeInteraction:
        inter = self.interactions.get(params["token"])
        if inter is None or params.get("app_id") != str(self.app_id):
            raise _HTTPError(404, 10015, "Unknown Webhook")
        if self._interaction_expired(inter):
            if self.dead_token_status is not None:
                raise _BareError(self.dead_token_status)
            raise _HTTPError(401, 50027, "Invalid Webhook Token")
        return inter

    async def _callback(self, req: _Request) -> _Reply:
        inter = self.interactions.get(req.params["token"])
        if inter is None or inter.id != req.params["interaction_id"]:
            raise _HTTPError(404, 10062, "Unknown interaction")
        if inter.response_type is not None:
            raise _HTTPError(400, 40060, "Interaction has already been acknowledged.")
        if inter.forced_expired or self.clock() - inter.created > self.ack_deadline:
            raise _HTTPError(404, 10062, "Unknown interaction")
        body = req.json if isinstance(req.json, Mapping) else {}
        rtype = int(body.get("type", 0))
        data: Json = dict(body.get("data") or {})
        route = f"POST /interactions/{inter.id}/<token>/callback type={rtype}"
        channel = self._channel(inter.channel_id)
        message: FakeMessage | None = None
        if rtype == RESPONSE_MESSAGE:
            self._validate(data, None)
            message = self._create(
                data, channel=channel, route=route, msg_type=20 if inter.type == 2 else 0, interaction=inter
            )
        elif rtype == RESPONSE_DEFERRED_MESSAGE:
            message = self._create(
                {"flags": data.get("flags", 0)},
                channel=channel,
                route=route,
                msg_type=20 if inter.type == 2 else 0,
                interaction=inter,
                flags=LOADING,
            )
            message.writes[-1].payload = dict(data)
        elif rtype in (RESPONSE_DEFERRED_UPDATE, RESPONSE_UPDATE):
            if inter.message_id is None:
                raise _form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Only component interactions can update")
            message = self.messages[inter.message_id]
            if rtype == RESPONSE_UPDATE:
                self._validate(data, message)
                self._edit(message, data, route=route)
        elif rtype not in (RESPONSE_PONG, 8, 9, 10, 12):
            raise _form_error("type", "BASE_TYPE_CHOICES", f"Value must be a known response type (got {rtype}).")
        inter.response_type = rtype
        inter.response_data = data
        inter.ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        if message is not None:
            inter.original_id = message.id
            if rtype in (RESPONSE_MESSAGE, RESPONSE_DEFERRED_MESSAGE):
                await self._echo("MESSAGE_CREATE", message)
            elif rtype == RESPONSE_UPDATE:
                await self._echo("MESSAGE_UPDATE", message)
        if not self.callback_with_response or req.query.get("with_response") not in ("1", "true", "True"):
            return _Reply(204)
        # discord.py 2.7 always asks with_response=1 and reads body["interaction"]["id"].
        callback: Json = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "response_message_loading": rtype == RESPONSE_DEFERRED_MESSAGE,
                "response_message_ephemeral": inter.ephemeral,
            }
        }
        if message is not None:
            callback["interaction"]["response_message_id"] = message.id
            callback["resource"] = {"type": rtype, "message": message.to_payload()}
        elif rtype != RESPONSE_PONG:
            callback["resource"] = {"type": rtype}
        return _Reply(200, callback)

    def _webhook_message(self, inter: FakeInteraction, message_id: str) -> FakeMessage:
        if message_id == "@original":
            if inter.original_id is None:
                raise _HTTPError(404, 10008, "Unknown Message")
            msg = self.messages[inter.original_id]
        elif message_id == inter.original_id or message_id in inter.followup_ids:
            msg = self.messages[message_id]
        else:
            raise _HTTPError(404, 10008, "Unknown Message")
        if msg.deleted:
            raise _HTTPError(404, 10008, "Unknown Message")
        return msg

    async def _webhook_get(self, req: _Request) -> _Reply:
        inter = self._webhook_interaction(req.params)
        return _Reply(200, self._webhook_message(inter, req.params["message_id"]).to_payload())

    async def _webhook_edit(self, req: _Request) -> _Reply:
        inter = self._webhook_interaction(req.params)
        msg = self._webhook_message(inter, req.params["message_id"])
        payload = dict(req.json) if isinstance(req.json, Mapping) else {}
        self._validate(payload, msg)
        self._edit(msg, payload, route=f"PATCH /webhooks/<app>/<token>/messages/{req.params['message_id']}")
        await self._echo("MESSAGE_UPDATE", msg)
        return _Reply(200, msg.to_payload())

    async def _webhook_delete(self, req: _Request) -> _Reply:
        inter = self._webhook_interaction(req.params)
        msg = self._webhook_message(inter, req.params["message_id"])
        msg.deleted = True
        return _Reply(204)

    async def _webhook_followup(self, req: _Request) -> _Reply:
        inter = self._webhook_interaction(req.params)
        if inter.response_type is None:
            raise _HTTPError(404, 10015, "Unknown Webhook")  # follow-ups need an acknowledged interaction
        payload = dict(req.json) if isinstance(req.json, Mapping) else {}
        self._validate(payload, None)
        msg = self._create(
            payload,
            channel=self._channel(inter.channel_id),
            route="POST /webhooks/<app>/<token>",
            msg_type=20 if inter.type == 2 else 0,
            interaction=inter,
        )
        inter.followup_ids.append(msg.id)
        await self._echo("MESSAGE_CREATE", msg)
        if req.query.get("wait") in ("1", "true", "True"):  # discord.py sends wait=1 / wait=0
            return _Reply(200, msg.to_payload())
        return _Reply(204)

    # ------------------------------------------------------------------ REST handlers: channels

    async def _get_channel(self, req: _Request) -> _Reply:
        return _Reply(200, dict(self._channel(req.params["channel_id"])))

    async def _typing(self, req: _Request) -> _Reply:
        self._channel(req.params["channel_id"])
        return _Reply(204)

    def _channel_message(self, cid: str, mid: str) -> FakeMessage:
        self._channel(cid)
        msg = self.messages.get(mid)
        if msg is None or msg.channel_id != cid or msg.deleted or msg.ephemeral:
            raise _HTTPError(404, 10008, "Unknown Message")
        return msg

    async def _channel_create(self, req: _Request) -> _Reply:
        channel = self._channel(req.params["channel_id"])
        payload = dict(req.json) if isinstance(req.json, Mapping) else {}
        self._validate(payload, None)
        msg = self._create(payload, channel=channel, route=f"POST /channels/{channel['id']}/messages")
        await self._echo("MESSAGE_CREATE", msg)
        return _Reply(200, msg.to_payload())

    async def _channel_edit(self, req: _Request) -> _Reply:
        msg = self._channel_message(req.params["channel_id"], req.params["message_id"])
        if msg.author["id"] != self.bot_user["id"] or (
            msg.interaction_token is not None and not self.bot_edits_interaction_messages
        ):
            raise _HTTPError(403, 50005, "Cannot edit a message authored by another user")
        payload = dict(req.json) if isinstance(req.json, Mapping) else {}
        self._validate(payload, msg)
        self._edit(msg, payload, route=f"PATCH /channels/{msg.channel_id}/messages/{msg.id}")
        await self._echo("MESSAGE_UPDATE", msg)
        return _Reply(200, msg.to_payload())

    async def _channel_get(self, req: _Request) -> _Reply:
        return _Reply(200, self._channel_message(req.params["channel_id"], req.params["message_id"]).to_payload())

    async def _channel_delete(self, req: _Request) -> _Reply:
        msg = self._channel_message(req.params["channel_id"], req.params["message_id"])
        msg.deleted = True
        return _Reply(204)

    async def _history(self, req: _Request) -> _Reply:
        """Newest first, like Discord; supports limit (1-100), before and after."""
        self._channel(req.params["channel_id"])
        msgs = self.channel_messages(req.params["channel_id"])
        try:
            limit = max(1, min(100, int(req.query.get("limit", "50"))))
        except ValueError:
            raise _HTTPError(400, 50035, "Invalid Form Body") from None
        if "before" in req.query:
            msgs = [m for m in msgs if int(m.id) < int(req.query["before"])]
        if "after" in req.query:
            msgs = [m for m in msgs if int(m.id) > int(req.query["after"])]
            selected = msgs[:limit]  # the oldest ones after the anchor
        else:
            selected = msgs[-limit:]
        return _Reply(200, [m.to_payload() for m in reversed(selected)])

