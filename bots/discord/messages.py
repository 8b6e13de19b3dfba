"""How the bot writes Discord messages: what they show, safely, and what errors mean.

Every send and every edit carries `AllowedMentions.none()`, because Discord parses
mentions again on each edit and the model's text is arbitrary. discord.py's errors
become the relay's: a 429 that discord.py gave up on is `RateLimited`, a 5xx or a dropped
connection an `OSError` (the relay retries those), any other refusal a `SurfaceError`
named by Discord's error code. `MessageWriter` is what both surfaces share.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import aiohttp
import discord

from bots.discord.budgets import DiscordBudgets
from bots.discord.stop import StopView, ViewFactory
from core.pacing.budget import Budget
from core.surface import RateLimited, SurfaceError

log = logging.getLogger("trickle.discord")

T = TypeVar("T")

CONTENT_LIMIT = 2000
INDICATOR = " ▌"
PLACEHOLDER = "…"
NO_PINGS = discord.AllowedMentions.none()


def render(text: str, *, final: bool) -> str:
    """What a message shows: the text, plus the streaming mark until it is final."""
    if final:
        return text or PLACEHOLDER  # never empty: Discord refuses an empty message (50006)
    return text + INDICATOR if text else PLACEHOLDER


def measure(text: str) -> int:
    """Length as Discord may count it: UTF-16 units, never fewer than code points."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int = CONTENT_LIMIT) -> str:
    """`text` cut to `limit`, keeping its last paragraph (a notice) whole if it is short."""
    if measure(text) <= limit:
        return text
    body, sep, notice = text.rpartition("\n\n")
    if not sep or measure(notice) > limit // 2:
        body, notice = text, ""
    tail = f"…\n\n{notice}" if notice else "…"
    room = limit - measure(tail)
    cut = room
    while measure(body[:cut]) > room:  # only astral characters make this loop
        cut -= 1
    return body[:cut] + tail


async def call(action: Awaitable[T]) -> T:
    """Await one discord.py call and translate its failures for the relay."""
    try:
        return await action
    except discord.HTTPException as exc:
        if exc.status == 429:
            retry = exc.response.headers.get("Retry-After", "1") if exc.response is not None else "1"
            raise RateLimited(float(retry)) from exc
        if exc.status >= 500:
            raise ConnectionError(f"Discord answered {exc.status}") from exc
        raise SurfaceError(str(exc.code or exc.status), exc.text) from exc
    except aiohttp.ClientError as exc:
        raise ConnectionError(str(exc) or type(exc).__name__) from exc


@dataclass(slots=True, eq=False)
class DiscordRef:
    """Which message a page lives in, and its Stop view while it has one.

    Mutable on purpose: if an interaction token dies mid-answer, a public page moves to
    a channel message, and the relay keeps using the same reference. `shown` is the page
    text its messages show; `prefix` the part of it left in a message the page had to
    leave behind, which the page's current message does not repeat.
    """

    kind: Literal["original", "followup", "channel"]
    message: discord.Message | discord.PartialMessage | None = None
    view: StopView | None = None
    shown: str = ""
    prefix: str = ""


class MessageWriter:
    """What both surfaces share: limits, Stop views, channel messages, status lines.

    Subclasses implement `_apply(ref, content, final)`, the one write of a page.
    """

    page_limit = CONTENT_LIMIT - len(INDICATOR)  # room for the mark while streaming
    platform = "discord"

    def __init__(self, *, budgets: DiscordBudgets, answer_id: str, stop_view: ViewFactory | None) -> None:
        self._budgets = budgets
        self._answer_id = answer_id
        self._stop_view = stop_view
        self._views: list[StopView] = []
        self._writing = asyncio.Lock()  # a status line never lands between two edits
        self._answering = False

    def measure(self, text: str) -> int:
        return measure(text)

    async def edit(self, ref: DiscordRef, text: str, *, final: bool) -> None:
        self._answering = True
        async with self._writing:
            rest = text.removeprefix(ref.prefix)
            await self._apply(ref, render(rest, final=final), final=final, text=text)
            ref.shown = text

    async def _apply(self, ref: DiscordRef, content: str, *, final: bool, text: str | None = None) -> None:
        """Write `content` (the rendered `text`, or a status when `text` is None) to `ref`."""
        raise NotImplementedError

    def edit_budget(self, ref: DiscordRef) -> Budget:
        raise NotImplementedError

    async def show_status(self, ref: DiscordRef, status: str) -> bool:
        """Say in the placeholder why nothing is written yet (queued, model busy...).

        One edit, which the relay paces on the message's budget; it gives way to the
        answer's own text, which must never be followed by a status. True if it was
        written. A 429 goes back to the relay's paced call; other refusals only cost
        the status.
        """
        async with self._writing:
            if self._answering:
                return False
            try:
                await self._apply(ref, f"_{status}_", final=False)
                return True
            except RateLimited:
                raise
            except (SurfaceError, OSError) as exc:
                log.info("could not show a status: %s", exc, extra={"answer_id": self._answer_id})
        return False

    def locate(self, ref: DiscordRef) -> dict[str, Any]:
        """Where `ref` is, so another process can finish it after a crash (`finish_orphan`)."""
        message = ref.message
        if message is None:
            return {}
        where = {"channel_id": str(message.channel.id), "message_id": str(message.id)}
        return where | {"skip": len(ref.prefix)} if ref.prefix else where

    def _view_args(self, ref: DiscordRef, final: bool) -> tuple[dict[str, Any], StopView | None]:
        """A message gets its Stop view with its first interim write and loses it with the
        final one; writes in between leave its components alone. Returns the keyword
        arguments and the new view, which the caller keeps once the write went through."""
        if final:
            return ({"view": None}, None) if ref.view is not None else ({}, None)
        if self._stop_view is None or ref.view is not None:
            return {}, None
        view = self._stop_view(self._answer_id)
        return {"view": view}, view

    def _wrote(self, ref: DiscordRef, view: StopView | None, final: bool) -> None:
        """Record a write that went through: keep its new view, or retire the old one."""
        if view is not None:
            ref.view = view
            self._views.append(view)
        elif final and ref.view is not None:
            ref.view.stop()
            ref.view = None

    async def _send(
        self,
        channel: discord.abc.Messageable,
        content: str,
        *,
        final: bool,
        reply_to: discord.Message | discord.PartialMessage | None,
    ) -> DiscordRef:
        """A new channel message, as a quiet reply to `reply_to` (if it still exists)."""
        ref = DiscordRef("channel")
        extra, view = self._view_args(ref, final)
        if reply_to is not None:  # left out otherwise: discord.py's types take no None here
            extra.update(reference=reply_to.to_reference(fail_if_not_exists=False), mention_author=False)
        ref.message = await call(channel.send(content, allowed_mentions=NO_PINGS, **extra))
        self._wrote(ref, view, final)
        return ref

    async def _edit_channel(self, ref: DiscordRef, content: str, *, final: bool) -> None:
        assert ref.message is not None
        extra, view = self._view_args(ref, final)
        await call(ref.message.edit(content=content, allowed_mentions=NO_PINGS, **extra))
        self._wrote(ref, view, final)

    def close(self) -> None:
        """Forget every Stop view (the relay has written its last edit)."""
        for view in self._views:
            view.stop()
        self._views.clear()


async def finish_orphan(client: discord.Client, location: Mapping[str, Any], text: str) -> None:
    """Write `text` as the final content of a message another process left streaming.

    Channel messages are edited with the bot token; interaction messages through their
    webhook, which works only while the interaction token lives (15 minutes).
    """
    content = fit(text[int(location.get("skip", 0)) :])  # a page that moved does not repeat itself
    message_id = str(location["message_id"])
    if location.get("token"):
        webhook = discord.Webhook.partial(int(location["application_id"]), location["token"], client=client)
        await webhook.edit_message(
            int(message_id) if message_id.isdigit() else message_id,  # type: ignore[arg-type]  # or "@original": discord.py says int
            content=content,
            allowed_mentions=NO_PINGS,
            view=None,
        )
        return
    channel = client.get_partial_messageable(int(location["channel_id"]))
    message = channel.get_partial_message(int(message_id))
    await message.edit(content=content, allowed_mentions=NO_PINGS, view=None)
