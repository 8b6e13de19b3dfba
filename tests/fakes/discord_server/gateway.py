"""The gateway: the websocket discord.py logs into, and the events it is sent.

Why a class of its own: the gateway is where Discord applies intents (MESSAGE_CONTENT
blanks other people's text), where RESUME replays what a dropped connection missed, and
where a test's barrier (`roundtrip`) rides on the heartbeat. Sessions outlive their
connections; the rest of the fake only calls `dispatch`, `dispatch_message` and `echo`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from .protocol import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MEMBERS, INTENT_GUILD_MESSAGES, INTENT_MESSAGE_CONTENT, Json
from .records import FakeMessage
from .state import DiscordWorld, Guild


@dataclass(eq=False)
class Connection:
    """One live gateway websocket."""

    ws: web.WebSocketResponse
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session_id: str | None = None
    last_heartbeat_seq: int = -1
    heartbeat_waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)


@dataclass(eq=False)
class Session:
    """A gateway session; it outlives a connection so RESUME can replay missed events."""

    id: str
    intents: int
    shard: list[int]
    seq: int = 0
    backlog: list[Json] = field(default_factory=list)
    connection: Connection | None = None


class Gateway:
    """Every gateway session and live connection, and the READY the next client will see.

    ``resume_url`` is what READY names as ``resume_gateway_url``; ``resumes`` counts the
    sessions resumed (op 6 accepted), as opposed to identified anew.
    """

    def __init__(
        self,
        world: DiscordWorld,
        *,
        bot_token: str,
        heartbeat_interval_ms: int,
        announce_guilds: bool,
        echo_own_messages: bool,
        resume_url: Callable[[], str],
    ) -> None:
        self.world = world
        self.bot_token = bot_token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.announce_guilds = announce_guilds
        self.echo_own_messages = echo_own_messages
        self.resume_url = resume_url
        self.resumes = 0
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.ready = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Gateway sessions={len(self.sessions)} live={self.live_sessions} resumes={self.resumes}>"

    @property
    def live_sessions(self) -> int:
        """Gateway sessions with an open websocket (0 while a client reconnects)."""
        return sum(1 for s in self.sessions.values() if s.connection is not None and not s.connection.ws.closed)

    async def drop(self, code: int) -> None:
        """Close every live socket with ``code``; the sessions stay, so clients can RESUME."""
        for conn in list(self.connections):
            await conn.ws.close(code=code)

    async def roundtrip(self, timeout: float = 5.0) -> None:
        """Barrier: every live client has processed every event dispatched so far.

        Sends a heartbeat request (op 1); discord.py answers with its last processed
        sequence number, and events are handled in order.
        """
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for session in self.sessions.values():
            conn = session.connection
            if conn is None or conn.ws.closed:
                continue
            fut: asyncio.Future[None] = loop.create_future()
            if conn.last_heartbeat_seq >= session.seq:
                fut.set_result(None)
            else:
                conn.heartbeat_waiters.append((session.seq, fut))
                await self._send(conn, {"op": 1, "d": None})
            waits.append(fut)
        if waits:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)

    async def dispatch_message(self, event: str, msg: FakeMessage, *, referenced: FakeMessage | None = None) -> None:
        """MESSAGE_CREATE/UPDATE, filtered per session the way Discord applies intents."""
        data = msg.to_payload()
        if msg.guild_id is not None:
            data["guild_id"] = msg.guild_id
            if msg.author["id"] in self.world.users:
                data["member"] = self.world.member(self.world.guilds[msg.guild_id], msg.author["id"], with_user=False)
        if referenced is not None:
            data["referenced_message"] = referenced.to_payload()
        is_dm = msg.guild_id is None
        mentions_bot = any(u["id"] == self.world.bot_user["id"] for u in msg.mentions)
        own = msg.author["id"] == self.world.bot_user["id"]

        def shape(session: Session) -> Json | None:
            needed = INTENT_DIRECT_MESSAGES if is_dm else INTENT_GUILD_MESSAGES
            if not session.intents & needed:
                return None
            if is_dm or own or mentions_bot or session.intents & INTENT_MESSAGE_CONTENT:
                return data
            # Without the privileged MESSAGE_CONTENT intent Discord blanks these fields.
            return dict(data, content="", embeds=[], attachments=[], components=[])

        await self.dispatch(event, shape)

    async def dispatch(self, event: str, data: Json | Callable[[Session], Json | None]) -> None:
        """Send a DISPATCH to every session (buffered for sessions that are reconnecting)."""
        if not self.sessions:
            raise RuntimeError(f"no gateway session to receive {event}: call wait_ready() first")
        for session in self.sessions.values():
            d = data(session) if callable(data) else data
            if d is None:
                continue
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": d}
            session.backlog.append(frame)
            del session.backlog[:-1000]
            conn = session.connection
            if conn is not None and not conn.ws.closed:
                await self._send(conn, frame)

    async def echo(self, event: str, msg: FakeMessage) -> None:
        """Discord also tells the gateway about the bot's own messages (ephemeral ones excepted)."""
        if self.echo_own_messages and not msg.ephemeral and self.sessions:
            await self.dispatch_message(event, msg)

    async def _send(self, conn: Connection, frame: Json) -> None:
        async with conn.lock:
            if not conn.ws.closed:
                await conn.ws.send_str(json.dumps(frame, separators=(",", ":")))

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """JSON text frames only: discord.py asks for ``compress=zlib-stream`` in the URL but
        only decompresses *binary* frames, so uncompressed text frames are accepted."""
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = Connection(ws)
        self.connections.add(conn)
        try:
            await self._send(conn, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                await self._on_frame(conn, json.loads(msg.data))
        finally:
            self.connections.discard(conn)
            if conn.session_id is not None:
                session = self.sessions.get(conn.session_id)
                if session is not None and session.connection is conn:
                    session.connection = None
            for _, fut in conn.heartbeat_waiters:
                if not fut.done():
                    fut.set_exception(ConnectionError("gateway connection closed"))
        return ws

    async def _on_frame(self, conn: Connection, frame: Json) -> None:
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
            await self._send(conn, {"op": 11})
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif op == 8:
            await self._request_members(conn, d or {})
        # op 3 (presence) and 4 (voice) need no answer

    async def _identify(self, conn: Connection, d: Json) -> None:
        token = str(d.get("token", ""))
        if token.removeprefix("Bot ") != self.bot_token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = Session(
            id=secrets.token_hex(16), intents=int(d.get("intents", 0)), shard=list(d.get("shard") or [0, 1])
        )
        session.connection = conn
        conn.session_id = session.id
        self.sessions[session.id] = session
        ready = {
            "v": 10,
            "user": dict(self.world.bot_user),
            "guilds": [{"id": gid, "unavailable": True} for gid in self.world.guilds] if self.announce_guilds else [],
            "session_id": session.id,
            "resume_gateway_url": self.resume_url(),
            "shard": session.shard,
            "application": {"id": str(self.world.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
            "_trace": ["trickle-fake-discord"],
        }
        await self._send_to_session(session, "READY", ready)
        for guild in self.world.guilds.values() if self.announce_guilds else ():
            await self._send_to_session(session, "GUILD_CREATE", self._guild_payload(guild, intents=session.intents))
        self.ready.set()

    async def _send_to_session(self, session: Session, event: str, d: Json) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": d}
        session.backlog.append(frame)
        if session.connection is not None:
            await self._send(session.connection, frame)

    async def _resume(self, conn: Connection, d: Json) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        if session is None or str(d.get("token", "")).removeprefix("Bot ") != self.bot_token:
            await self._send(conn, {"op": 9, "d": False})
            return
        session.connection = conn
        conn.session_id = session.id
        self.resumes += 1
        last = d.get("seq") or 0
        for frame in list(session.backlog):
            if frame["s"] > last:
                await self._send(conn, frame)
        await self._send_to_session(session, "RESUMED", {"_trace": ["trickle-fake-discord"]})

    async def _request_members(self, conn: Connection, d: Json) -> None:
        session = self.sessions.get(conn.session_id or "")
        guild = self.world.guilds.get(str(d.get("guild_id")))
        if session is None or guild is None:
            return
        chunk = {
            "guild_id": guild.id,
            "members": [self.world.member(guild, uid) for uid in guild.member_ids],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        await self._send_to_session(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _guild_payload(self, guild: Guild, *, intents: int) -> Json:
        """GUILD_CREATE; without the GUILD_MEMBERS intent Discord lists only the bot itself."""
        members = guild.member_ids if intents & INTENT_GUILD_MEMBERS else [self.world.bot_user["id"]]
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
            "members": [self.world.member(guild, uid) for uid in members if uid in guild.member_ids],
            "channels": [dict(self.world.channels[c]) for c in guild.channel_ids],
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
