"""The workspace's data: who it is, its channels and messages, and how Slack shows them.

Every other piece of the fake reads and writes through here: fresh `ts` and ids, the
message store (deleted messages are kept but hidden), users' events stored as Slack
already has them, and `_serialize`, the one shape that `conversations.*`, posts and
events give a message. It is the base class of every mixin `FakeSlack` is made of.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from tests.fakes.slack_server.clock import Clock
from tests.fakes.slack_server.messages import (
    FakeMessage,
    as_ts,
    rich_text_blocks,
    ts_key,
)

_FIRST_TS = 1_700_000_000_000_100  # microseconds: the first ts is "1700000000.000100"
_TS_STEP = 100  # microseconds between two generated ts, like Slack's "...000100", "...000200"
_DEFAULT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "chat:write",
    "reactions:write",
    "users:read",
)


class Workspace:
    """The state every piece of `FakeSlack` shares: identity, token, messages, ids, address.

    `FakeSlack` is this plus one mixin per job (limits, transport, Socket Mode, HTTP
    events, interactions, files, one per Web API family); each sets up the state it owns
    in its own `_init_*`, called once from `FakeSlack.__init__`.
    """

    def _init_workspace(
        self,
        *,
        team_id: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        team_name: str,
        team_domain: str,
        users: Mapping[str, str | Mapping[str, Any]] | None,
        revoked_tokens: Iterable[str],
        assistant_scope: bool,
        clock: Clock,
    ) -> None:
        """Who the workspace and its bot are, what the token may do, and empty channels."""
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.users: dict[str, str | Mapping[str, Any]] = dict(users or {})
        self.revoked_tokens: set[str] = set(revoked_tokens)
        self.assistant_scope = assistant_scope
        self.files_scope = True
        self.ephemerals: list[dict[str, Any]] = []
        self.dm_channels: dict[str, str] = {}
        self._clock = clock
        self._channels: dict[str, dict[str, FakeMessage]] = {}
        self._ts = itertools.count(_FIRST_TS, _TS_STEP)
        self._ids = itertools.count(1)
        self._port: int | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base for `AsyncWebClient(base_url=...)`, with its trailing slash."""
        return f"{self.base_url}/api/"

    @property
    def socket_url(self) -> str:
        """The Socket Mode WebSocket URL (what `apps.connections.open` hands out)."""
        return f"ws://127.0.0.1:{self._port}/socket"

    @property
    def scopes(self) -> list[str]:
        """The bot scopes the token "has" (sent as `x-oauth-scopes`, like Slack does)."""
        return [
            *_DEFAULT_SCOPES,
            *(["assistant:write"] if self.assistant_scope else []),
            *(["files:read"] if self.files_scope else []),
        ]

    def next_ts(self) -> str:
        """A fresh message ts, unique and increasing ("1700000000.000100", ...000200...)."""
        n = next(self._ts)
        return f"{n // 1_000_000}.{n % 1_000_000:06d}"

    def now(self) -> float:
        """The fake's clock (the one `history` and the buckets use)."""
        return self._clock()

    def messages(self, channel: str) -> list[FakeMessage]:
        """Every live message in `channel` (parents and replies, users' and the bot's), by ts."""
        msgs = [m for m in self._channels.get(channel, {}).values() if not m.deleted]
        return sorted(msgs, key=lambda m: ts_key(m.ts))

    def thread(self, channel: str, thread_ts: str) -> list[FakeMessage]:
        """The bot's replies in the thread `thread_ts`, in order (the answer's pages)."""
        return [m for m in self.messages(channel) if m.is_bot and m.thread_ts == thread_ts and m.ts != thread_ts]

    def message(self, channel: str, ts: str) -> FakeMessage | None:
        """The message `ts` in `channel`, deleted ones included, or None."""
        return self._channels.get(channel, {}).get(ts)

    def dm_channel(self, user: str) -> str:
        """The id of `user`'s DM with the bot ("D..."), the same every time (see `dm_channels`)."""
        channel = self.dm_channels.get(user)
        if channel is None:
            channel = f"D{len(self.dm_channels) + 1:04d}{user.removeprefix('U')}"
            self.dm_channels[user] = channel
        return channel

    def _store(self, msg: FakeMessage) -> None:
        """Keep `msg` in its channel, unless a message with that ts is already there."""
        channel = self._channels.setdefault(msg.channel, {})
        if msg.ts not in channel:
            channel[msg.ts] = msg

    def store_event(self, event: Mapping[str, Any]) -> None:
        """Put a user's `message` / `app_mention` in its channel, as Slack already has it.

        `send_event` / `post_event` do this themselves; call it directly to seed history
        without delivering anything. A mention in a followed thread comes twice (both
        types, same ts); it is stored once. An `assistant_thread_started` creates the
        thread's parent in the user's DM (subtype `assistant_app_thread`), as Slack does
        when the user opens the assistant container.
        """
        if event.get("type") == "assistant_thread_started":
            self._store_assistant_thread(event)
            return
        if event.get("type") not in ("message", "app_mention") or event.get("subtype") not in (None, "file_share"):
            return
        channel, ts = event.get("channel"), as_ts(event.get("ts"))
        if not channel or not ts or ts in self._channels.get(str(channel), {}):
            return
        msg = FakeMessage(
            channel=str(channel),
            ts=ts,
            text=str(event.get("text", "")),
            user=event.get("user"),
            bot_id=event.get("bot_id"),
            thread_ts=as_ts(event.get("thread_ts")),
            blocks=copy.deepcopy(event.get("blocks")),
            subtype=event.get("subtype"),
            extra={"files": copy.deepcopy(event["files"])} if event.get("files") else {},
        )
        msg.record(self._clock())
        self._store(msg)

    def _store_assistant_thread(self, event: Mapping[str, Any]) -> None:
        """Store the parent message of a new assistant thread (once)."""
        thread = event.get("assistant_thread")
        if not isinstance(thread, Mapping):
            return
        channel, ts = thread.get("channel_id"), as_ts(thread.get("thread_ts"))
        if not channel or not ts or ts in self._channels.get(str(channel), {}):
            return
        parent = FakeMessage(
            channel=str(channel),
            ts=ts,
            text="",
            user=self.bot_user_id,
            thread_ts=ts,
            subtype="assistant_app_thread",
            extra={"assistant_app_thread": {"title": "", "title_blocks": [], "artifacts": []}},
        )
        parent.record(self._clock())
        self._store(parent)

    def _serialize(
        self,
        msg: FakeMessage,
        replies: Mapping[str, list[FakeMessage]] | None = None,
        *,
        metadata: bool = False,
    ) -> dict[str, Any]:
        """`msg` in the shape `conversations.*` and events carry it.

        `metadata`: include the message metadata (Slack sends it only when asked for,
        e.g. `include_all_metadata`, and in the message a post returns).
        """
        out: dict[str, Any] = {"type": "message", "text": msg.text, "ts": msg.ts, "team": self.team_id}
        if msg.subtype:
            out["subtype"] = msg.subtype
        out.update(copy.deepcopy(msg.extra))
        if metadata and msg.metadata is not None:
            out["metadata"] = copy.deepcopy(msg.metadata)
        if msg.user:
            out["user"] = msg.user
        if msg.bot_id:
            out["bot_id"] = msg.bot_id
            out["app_id"] = self.app_id
            out["bot_profile"] = {"id": msg.bot_id, "app_id": self.app_id, "name": "trickle", "team_id": self.team_id}
        if msg.blocks:
            out["blocks"] = copy.deepcopy(msg.blocks)
        elif msg.text and not msg.streamed:
            # Slack gives a text-only message the rich_text blocks its clients render;
            # bolt's assistant re-sends them when it saves thread context.
            out["blocks"] = rich_text_blocks(msg.text, block_id=msg.ts.replace(".", "")[-5:])
        if msg.edited:
            out["edited"] = dict(msg.edited)
        if msg.reactions:
            out["reactions"] = [{"name": n, "users": list(u), "count": len(u)} for n, u in msg.reactions.items()]
        if msg.is_reply:
            out["thread_ts"] = msg.thread_ts
            parent = self.message(msg.channel, msg.thread_ts or "")
            if parent is not None and parent.user:
                out["parent_user_id"] = parent.user
            return out
        # A parent: Slack gives it `thread_ts` (its own ts) once the thread exists.
        if replies is not None:
            kids = replies.get(msg.ts, [])
        else:
            kids = [m for m in self.messages(msg.channel) if m.is_reply and m.thread_ts == msg.ts]
        if kids or msg.thread_ts:
            out["thread_ts"] = msg.ts
        if kids:
            users = sorted({k.user or "" for k in kids})
            out.update(reply_count=len(kids), reply_users=users, reply_users_count=len(users), latest_reply=kids[-1].ts)
        return out
