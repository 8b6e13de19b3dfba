"""The world the fake serves: users, guilds with roles and members, channels, messages,
interactions and synced commands.

Why a base class of its own: tests build this world (``add_user``, ``add_guild``,
``give_role``...) before any client connects, and every other piece -- the gateway's
GUILD_CREATE, the REST routes, the inspection API -- reads the same dicts. It holds no
socket and no clock, so it is plain data plus the rules for adding to it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .protocol import DEFAULT_PERMISSIONS, DISCORD_EPOCH_MS, Json
from .records import FakeInteraction, FakeMessage, iso_now
from .wire import HTTPError


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    roles: list[Json] = field(default_factory=list)
    channel_ids: list[str] = field(default_factory=list)
    member_ids: list[str] = field(default_factory=list)
    member_roles: dict[str, list[str]] = field(default_factory=dict)  # user id -> role ids
    joined_at: str = field(default_factory=iso_now)


class DiscordWorld:
    """Discord's state as the fake holds it.

    The world starts with one guild (``guild_id``) holding one text channel
    (``channel_id``), the bot, and one human user (``user``, "alice").  Add more with the
    ``add_*`` helpers before the client connects.
    """

    def __init__(self, *, app_id: int, bot_user_id: int) -> None:
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.commands: list[Json] = []
        self.guild_commands: dict[str, list[Json]] = {}
        self.messages: dict[str, FakeMessage] = {}
        self.interactions: dict[str, FakeInteraction] = {}  # by token
        self.users: dict[str, Json] = {}
        self.channels: dict[str, Json] = {}
        self.guilds: dict[str, Guild] = {}
        self._last_id = 0

        self.bot_user: Json = self._make_user(str(bot_user_id), "trickle", bot=True)
        self.users[self.bot_user["id"]] = self.bot_user
        self.user: Json = self.add_user("alice")
        self.guild_id: int = self.add_guild("Test Guild", owner=self.user)
        self.channel_id: int = self.add_text_channel(self.guild_id, "general")

    def next_id(self) -> str:
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
        user = self._make_user(self.next_id(), name, bot=bot)
        self.users[user["id"]] = user
        for guild in self.guilds.values():
            guild.member_ids.append(user["id"])
        return user

    def add_guild(self, name: str, *, owner: Json | None = None) -> int:
        """A guild with an @everyone role, the bot and every known user as members."""
        gid = self.next_id()
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
        self.guilds[gid] = Guild(id=gid, name=name, owner_id=owner_id, roles=[everyone], member_ids=list(self.users))
        return int(gid)

    def add_role(self, guild_id: int | str, name: str) -> int:
        guild = self.guilds[str(guild_id)]
        role = dict(guild.roles[0], id=self.next_id(), name=name, position=len(guild.roles), permissions="0")
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
        cid = self.next_id()
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
        cid = self.next_id()
        self.channels[cid] = {"id": cid, "type": 1, "recipients": [dict(user)], "last_message_id": None, "flags": 0}
        return int(cid)

    def member(self, guild: Guild, user_id: str, *, with_user: bool = True) -> Json:
        """A guild member object, as messages, interactions and GUILD_CREATE carry it."""
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

    def channel(self, cid: str) -> Json:
        """A channel by id; the routes that name an unknown one answer Discord's 10003."""
        channel = self.channels.get(cid)
        if channel is None:
            raise HTTPError(404, 10003, "Unknown Channel")
        return channel

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
