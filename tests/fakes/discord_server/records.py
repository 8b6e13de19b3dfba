"""What the fake keeps for tests to read: requests, messages and their writes, interactions, files.

Why these are plain dataclasses apart from the server: a test asserts on them long after
the request that made them, and the pieces that fill them (REST routes, the gateway, the
CDN) each write a different part; none of them owns a record's shape.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Literal

from .protocol import EPHEMERAL, LOADING, Json


def iso_now() -> str:
    """Discord timestamps are ISO 8601 with an explicit UTC offset; discord.py parses them."""
    return datetime.datetime.now(datetime.UTC).isoformat()


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
    timestamp: str = field(default_factory=iso_now)
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
