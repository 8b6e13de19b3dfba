"""What the people on the other side do: post, reply, run a command, type, click.

Why a family of its own: these are how a test drives the bot -- each stores what a user
did in the world and dispatches the gateway event Discord would send, shaped as
discord.py expects it (member objects, resolved attachments, the synced command's id).
They are methods of `FakeDiscord` (a mixin over the world) so tests call them on the fake.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .cdn import CDN
from .gateway import Gateway
from .mentions import ROLE_MENTION_RE, USER_MENTION_RE
from .protocol import ATTACHMENT_OPTION, DEFAULT_PERMISSIONS, Json
from .records import FakeAttachment, FakeInteraction, FakeMessage, Write
from .state import DiscordWorld


class UserActions(DiscordWorld):
    """Users acting on the fake's world; needs the gateway to tell the bot, and the CDN for files."""

    gateway: Gateway
    cdn: CDN
    clock: Callable[[], float]

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
        channel = self.channel(str(channel_id))
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
            id=self.next_id(),
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
                a if isinstance(a, FakeAttachment) else self.cdn.add(a[0], a[1], channel_id=channel["id"])
                for a in attachments
            ],
        )
        msg.writes.append(
            Write(self.clock(), "create", "gateway MESSAGE_CREATE", content, {"content": content}, None, set())
        )
        self.messages[msg.id] = msg
        channel["last_message_id"] = msg.id
        if dispatch:
            await self.gateway.dispatch_message("MESSAGE_CREATE", msg, referenced=referenced)
        return msg

    async def redeliver(self, message: FakeMessage) -> None:
        """Dispatch MESSAGE_CREATE again for a message already sent, as a gateway does
        when it delivers an event twice (at least once is all Discord promises)."""
        referenced = self.messages.get(str((message.message_reference or {}).get("message_id")))
        await self.gateway.dispatch_message("MESSAGE_CREATE", message, referenced=referenced)

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
        channel = self.channel(str(channel_id if channel_id is not None else self.channel_id))
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
        data["id"] = registered["id"] if registered else self.next_id()
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
        channel = self.channel(str(channel_id if channel_id is not None else self.channel_id))
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
        channel = self.channel(msg.channel_id)
        data: Json = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        return await self._dispatch_interaction(3, data, user or self.user, channel, locale=locale, message=msg)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close live gateway sockets; discord.py reconnects and RESUMEs (missed events replay)."""
        await self.gateway.drop(code)

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
                    5
                    if isinstance(value, bool)
                    else 4
                    if isinstance(value, int)
                    else 10
                    if isinstance(value, float)
                    else 3
                )
            out.append({"name": key, "type": kind, "value": value})
        return out

    def _resolve_attachments(self, data: Json) -> None:
        """Discord sends an attachment option's id as its value and the file itself in
        ``data.resolved.attachments``, keyed by that id."""
        ids = [str(o["value"]) for o in data.get("options", []) if o.get("type") == ATTACHMENT_OPTION]
        found = {aid: self.cdn.attachments[aid].to_payload() for aid in ids if aid in self.cdn.attachments}
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
        iid = self.next_id()
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
            member = self.member(guild, user["id"]) if user["id"] in self.users else {"user": dict(user), "roles": []}
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
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return inter
