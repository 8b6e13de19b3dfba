"""How a message comes to be and changes: Discord's checks on every create and edit.

Why one writer for every route: a message the bot posts in a channel, a follow-up and an
interaction response all pass the same checks (2,000 characters, never empty, exclusive
``allowed_mentions``) and leave the same trail -- a `Write` per create or edit, with what
it would have pinged -- so tests can replay how an answer grew.
"""

from __future__ import annotations

from collections.abc import Callable

from .mentions import apply_mentions, check_allowed_mentions, compute_pings
from .protocol import EPHEMERAL, LOADING, SUPPRESS_EMBEDS, Json
from .records import FakeInteraction, FakeMessage, Write, iso_now
from .state import DiscordWorld
from .wire import HTTPError, form_error


class MessageWriter:
    """Creates and edits the bot's messages in ``world``, stamping each write with ``clock``."""

    def __init__(self, world: DiscordWorld, *, max_content: int, clock: Callable[[], float]) -> None:
        self.world = world
        self.max_content = max_content
        self.clock = clock

    def __repr__(self) -> str:
        return f"<MessageWriter max_content={self.max_content} messages={len(self.world.messages)}>"

    def validate(self, payload: Json, current: FakeMessage | None) -> None:
        """Length and emptiness, checked the way Discord checks the *resulting* message."""
        content = payload.get("content")
        if isinstance(content, str) and len(content) > self.max_content:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {self.max_content} or fewer in length.")
        check_allowed_mentions(payload.get("allowed_mentions"))
        new_content = (content or "") if "content" in payload else (current.content if current else "")
        embeds = (payload.get("embeds") or []) if "embeds" in payload else (current.embeds if current else [])
        components = (
            (payload.get("components") or []) if "components" in payload else (current.components if current else [])
        )
        has_files = bool(payload.get("attachments")) or bool(payload.get("sticker_ids")) or bool(payload.get("poll"))
        if not (new_content or embeds or components or has_files):
            raise HTTPError(400, 50006, "Cannot send an empty message")

    def _replied_author(self, ref: Json | None) -> str | None:
        if not ref:
            return None
        target = self.world.messages.get(str(ref.get("message_id")))
        return target.author["id"] if target else None

    def create(
        self,
        payload: Json,
        *,
        channel: Json,
        route: str,
        msg_type: int = 0,
        interaction: FakeInteraction | None = None,
        flags: int = 0,
    ) -> FakeMessage:
        """Store a new bot message: a channel post, or an interaction's response or follow-up."""
        ref = payload.get("message_reference")
        if ref:
            target = self.world.messages.get(str(ref.get("message_id")))
            if target is None and ref.get("fail_if_not_exists", True):
                raise form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            # discord.py sends these ids as ints; Discord answers with strings.
            ref = {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in ref.items()}
            ref.setdefault("channel_id", channel["id"])
            msg_type = 19
        content = payload.get("content") or ""
        am = payload.get("allowed_mentions")
        pings = compute_pings(content, am, replied_user_id=self._replied_author(ref))
        msg = FakeMessage(
            id=self.world.next_id(),
            channel_id=channel["id"],
            guild_id=channel.get("guild_id"),
            author=dict(self.world.bot_user),
            content=content,
            embeds=list(payload.get("embeds") or []),
            components=list(payload.get("components") or []),
            # Only interaction responses can be ephemeral; channel messages ignore the bit.
            flags=flags | (int(payload.get("flags") or 0) & ((EPHEMERAL if interaction else 0) | SUPPRESS_EMBEDS)),
            type=msg_type,
            message_reference=ref or None,
        )
        if interaction is not None:
            msg.webhook_id = str(self.world.app_id)
            msg.application_id = str(self.world.app_id)
            msg.interaction_token = interaction.token
            msg.interaction_metadata = {
                "id": interaction.id,
                "type": interaction.type,
                "user": dict(interaction.user),
                "authorizing_integration_owners": interaction.payload.get("authorizing_integration_owners", {}),
            }
            if interaction.type == 2:
                msg.interaction_metadata["name"] = interaction.data.get("name")
        apply_mentions(msg, pings, self.world.users)
        msg.writes.append(Write(self.clock(), "create", route, content, dict(payload), am, pings))
        self.world.messages[msg.id] = msg
        if not msg.ephemeral:
            channel["last_message_id"] = msg.id
        return msg

    def edit(self, msg: FakeMessage, payload: Json, *, route: str) -> None:
        """Apply an edit; Discord re-parses mentions each time, and an edit ends "thinking..."."""
        if "content" in payload:
            msg.content = payload.get("content") or ""
        if "embeds" in payload:
            msg.embeds = list(payload.get("embeds") or [])
        if "components" in payload:
            msg.components = list(payload.get("components") or [])
        if "flags" in payload and payload["flags"] is not None:
            msg.flags = (msg.flags & EPHEMERAL) | (int(payload["flags"]) & SUPPRESS_EMBEDS)
        msg.flags &= ~LOADING
        msg.edited_timestamp = iso_now()
        am = payload.get("allowed_mentions")
        pings = compute_pings(msg.content, am)
        apply_mentions(msg, pings, self.world.users)
        msg.writes.append(Write(self.clock(), "edit", route, msg.content, dict(payload), am, pings))
