"""Where a Discord answer is written: a reply in a channel, or an interaction response.

Both satisfy `core.surface.Surface` (see `bots.discord.messages` for what they share).
A mention's answer lives in ordinary channel messages, editable for good. An `/ask`
answer lives in the interaction's messages, editable only through a token that dies
after 15 minutes, which is why `InteractionSurface` knows how to leave it in time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord

from bots.discord.budgets import DiscordBudgets
from bots.discord.messages import NO_PINGS, DiscordRef, MessageWriter, call, render
from bots.discord.stop import ViewFactory
from core.pacing.budget import Budget
from core.relay.calls import paced
from core.surface import SurfaceError

log = logging.getLogger("trickle.discord")

# Unknown webhook, invalid webhook token, unknown interaction, unknown message: the
# interaction token can no longer reach its messages. A bare 401 or 404 (no JSON code,
# as proxies and some servers answer) on a webhook route says the same.
TOKEN_GONE = frozenset({"10015", "50027", "10062", "10008", "401", "404"})


class ChannelSurface(MessageWriter):
    """An answer to a mention or DM: a reply, edited; later pages reply to the page before
    (so that replying to any page carries the whole conversation)."""

    def __init__(
        self,
        message: discord.Message,
        *,
        budgets: DiscordBudgets,
        answer_id: str,
        stop_view: ViewFactory | None = None,
    ) -> None:
        super().__init__(budgets=budgets, answer_id=answer_id, stop_view=stop_view)
        self._trigger = message
        self._last: discord.Message | discord.PartialMessage = message
        self._placed = False

    def __repr__(self) -> str:
        return f"<ChannelSurface channel={self._trigger.channel.id} answer={self._answer_id}>"

    async def post_placeholder(self) -> DiscordRef:
        return await self.post_opening(lambda: "")

    async def post_opening(self, text: Callable[[], str]) -> DiscordRef:
        """The reply, once the channel lets us post; it carries what the model wrote
        while it waited (a busy channel's bucket), sparing that channel one edit."""
        return await self._post_first(text, final=False)

    async def post_page(self, text: str, *, final: bool) -> DiscordRef:
        if not self._placed:  # an answer ended before it began: its notice is the reply
            return await self._post_first(lambda: text, final=final)
        return await self._reply(text, final=final)

    async def _post_first(self, text: Callable[[], str], *, final: bool) -> DiscordRef:
        # Paced by the relay on the channel's budget, where a first message ranks with
        # the finals, ahead of every older answer's interim edits.
        ref = await self._reply(text(), final=final)
        self._placed = True
        return ref

    async def _reply(self, text: str, *, final: bool) -> DiscordRef:
        self._answering = self._answering or bool(text)
        ref = await self._send(self._trigger.channel, render(text, final=final), final=final, reply_to=self._last)
        assert ref.message is not None
        self._last = ref.message
        ref.shown = text
        return ref

    async def _apply(self, ref: DiscordRef, content: str, *, final: bool, text: str | None = None) -> None:
        await self._edit_channel(ref, content, final=final)

    def post_budget(self) -> Budget | None:
        return self._budgets.creates(self._trigger.channel.id)

    def edit_budget(self, ref: DiscordRef) -> Budget:
        return self._budgets.channel(self._trigger.channel.id)

    def answer_edit_budget(self) -> Budget | None:
        return self._budgets.channel(self._trigger.channel.id)

    def must_leave(self, ref: DiscordRef) -> bool:
        return False


class InteractionSurface(MessageWriter):
    """An answer to `/ask`: the deferred response, then follow-ups, edited via the token.

    The token is trusted until `trust_until` (loop time). After that a public answer
    continues in ordinary channel messages (`must_leave`), and a page whose token died
    early moves to one; a private answer never does (the handler ends it in time).
    """

    def __init__(
        self,
        interaction: discord.Interaction,
        *,
        budgets: DiscordBudgets,
        answer_id: str,
        private: bool,
        trust_until: float,
        stop_view: ViewFactory | None = None,
        clock: Callable[[], float] | None = None,
        original_id: int | None = None,
    ) -> None:
        super().__init__(budgets=budgets, answer_id=answer_id, stop_view=stop_view)
        self._interaction = interaction
        self._original_id = original_id  # from the deferral's callback, when Discord said
        self.private = private
        self.trust_until = trust_until
        self._clock = clock or asyncio.get_running_loop().time
        self._placed = False
        self._token_dead = False
        self._last: discord.Message | discord.PartialMessage | None = None  # the newest page, for channel replies

    def __repr__(self) -> str:
        return (
            f"<InteractionSurface answer={self._answer_id} private={self.private} "
            f"leaving={self._leaving()} dead={self._token_dead}>"
        )

    def _leaving(self) -> bool:
        return self._token_dead or self._clock() >= self.trust_until

    async def post_placeholder(self) -> DiscordRef:
        # The handler deferred already (Discord shows "thinking..."): that is the placeholder.
        self._placed = True
        return DiscordRef("original")

    async def post_page(self, text: str, *, final: bool) -> DiscordRef:
        if not self._placed:
            return await self._post_original(text, final=final)
        content = render(text, final=final)
        self._answering = True
        if self._leaving() and not self.private:
            return await self._post_in_channel(content, final=final, text=text)
        ref = DiscordRef("followup", shown=text)
        extra, view = self._view_args(ref, final)
        try:
            ref.message = await call(
                self._interaction.followup.send(
                    content, ephemeral=self.private, allowed_mentions=NO_PINGS, wait=True, **extra
                )
            )
        except SurfaceError as exc:
            if not self._gone(exc):
                raise
            return await self._post_in_channel(content, final=final, text=text)
        self._wrote(ref, view, final)
        self._last = ref.message
        return ref

    async def _post_original(self, text: str, *, final: bool) -> DiscordRef:
        """An answer ended before it began (refused after the deferral): its notice goes
        into the deferred response, the one message, on the token's own budget."""
        self._placed = True
        ref = DiscordRef("original")
        # The relay drew nothing for it (the deferral needed no budget): pace it here.
        await paced(lambda: self.edit(ref, text, final=final), self._token_budget(), log=log)
        return ref

    async def _apply(self, ref: DiscordRef, content: str, *, final: bool, text: str | None = None) -> None:
        if ref.kind == "channel":
            return await self._edit_channel(ref, content, final=final)
        extra, view = self._view_args(ref, final)
        try:
            if ref.kind == "original":
                ref.message = await call(
                    self._interaction.edit_original_response(content=content, allowed_mentions=NO_PINGS, **extra)
                )
                self._last = self._last or ref.message
            else:
                assert ref.message is not None
                await call(ref.message.edit(content=content, allowed_mentions=NO_PINGS, **extra))
        except SurfaceError as exc:
            if not self._gone(exc):
                raise
            await self._take_over(ref, content, final=final, text=text)
            return
        self._wrote(ref, view, final)

    async def _take_over(self, ref: DiscordRef, content: str, *, final: bool, text: str | None) -> None:
        """The token died under this page: go on in the channel, repeating nothing.

        A public interaction message is an ordinary message by the bot, so the bot token
        can edit it (`PATCH /channels/.../messages/...`): the page simply goes on there,
        and ends without its mark and button. Where Discord refuses (or the message id is
        unknown: the token died before the first edit, and the callback named no message),
        the message keeps what it shows and the rest of the page continues in a new one.
        """
        channel = self._writable_channel()
        message_id = ref.message.id if ref.message is not None else None
        if message_id is None and ref.kind == "original":
            message_id = self._original_id
        if message_id is not None and hasattr(channel, "get_partial_message"):
            same = DiscordRef("channel", channel.get_partial_message(message_id), ref.view, ref.shown, ref.prefix)
            try:
                await paced(lambda: self._edit_channel(same, content, final=final), self._channel_budget(), log=log)
            except SurfaceError as exc:
                log.info(
                    "cannot edit the interaction message with the bot token (%s)",
                    exc.code,
                    extra={"answer_id": self._answer_id},
                )
            else:
                ref.kind, ref.message, ref.view = same.kind, same.message, same.view
                self._last = self._last or same.message
                return
        rest = content if text is None else render(text.removeprefix(ref.shown), final=final)
        moved = await paced(
            lambda: self._post_in_channel(rest, final=final), self._budgets.creates(self._channel_id()), log=log
        )
        if ref.view is not None:
            ref.view.stop()  # its button stays on the dead message; a click there finds nothing
        prefix = ref.shown if text is not None and text.startswith(ref.shown) else ""
        ref.kind, ref.message, ref.view, ref.prefix = moved.kind, moved.message, moved.view, prefix

    def _gone(self, exc: SurfaceError) -> bool:
        """True when `exc` says the token is dead and a channel message may take over."""
        if exc.code not in TOKEN_GONE:
            return False
        self._token_dead = True
        log.warning("interaction token no longer usable (%s)", exc.code, extra={"answer_id": self._answer_id})
        return not self.private

    def _writable_channel(self) -> discord.abc.Messageable:
        if self.private:
            raise SurfaceError("private", "a private answer is never posted in the channel")
        channel = self._interaction.channel
        if channel is None or not isinstance(channel, discord.abc.Messageable):
            raise SurfaceError("no_channel", "the interaction's channel cannot be written to")
        return channel

    async def _post_in_channel(self, content: str, *, final: bool, text: str = "") -> DiscordRef:
        ref = await self._send(self._writable_channel(), content, final=final, reply_to=self._last)
        self._last = ref.message
        ref.shown = text
        return ref

    def locate(self, ref: DiscordRef) -> dict[str, Any]:
        if ref.kind == "channel":
            return super().locate(ref)
        return {
            "application_id": str(self._interaction.application_id),
            "token": self._interaction.token,
            "channel_id": str(self._interaction.channel_id),
            "message_id": str(ref.message.id) if ref.message is not None else "@original",
        }

    def _token_budget(self) -> Budget:
        return self._budgets.interaction(self._interaction.token)

    def _channel_id(self) -> int:
        return self._interaction.channel_id or 0

    def _channel_budget(self) -> Budget:
        return self._budgets.channel(self._channel_id())

    def post_budget(self) -> Budget | None:
        if not self._placed:
            return None  # the deferral was the placeholder; nothing is posted
        if self._leaving() and not self.private:
            return self._budgets.creates(self._channel_id())
        return self._token_budget()

    def edit_budget(self, ref: DiscordRef) -> Budget:
        return self._channel_budget() if ref.kind == "channel" else self._token_budget()

    def must_leave(self, ref: DiscordRef) -> bool:
        return not self.private and ref.kind != "channel" and self._leaving()
