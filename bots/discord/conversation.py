"""What the model sees of a Discord conversation: the reply chain, or the thread.

A mention is answered in the context the asker sees: the messages it replies to (each
hop of the chain, oldest first) or, inside a thread, the thread so far. The bot's own
messages are the `assistant` turns, stripped of the streaming mark; everything else is a
`user` turn with the bot's mention removed. Fetch failures (a deleted message, a missing
permission) shorten the context instead of failing the answer.
"""

from __future__ import annotations

import logging
import re

import discord

from bots.discord.messages import INDICATOR, PLACEHOLDER
from core.models import ChatMessage

log = logging.getLogger("trickle.discord")

MAX_TURNS = 30  # the assistant trims by tokens; this bounds the fetching


def strip_mentions(content: str, bot_id: int, role_id: int | None = None) -> str:
    """The message without the mentions that addressed the bot."""
    pattern = rf"<@!?{bot_id}>" + (rf"|<@&{role_id}>" if role_id else "")
    return re.sub(pattern, "", content).strip()


def is_direct(message: discord.Message) -> bool:
    """True for a DM. Not `message.guild is None`: that is also true of a guild message
    whose guild discord.py has not cached (READY without it, an outage); such a message
    arrives in a `PartialMessageable` that knows its guild_id."""
    channel = message.channel
    if isinstance(channel, discord.DMChannel):
        return True
    return isinstance(channel, discord.PartialMessageable) and channel.type is discord.ChannelType.private


def addressed(message: discord.Message, bot_id: int, role_id: int | None = None) -> bool:
    """True for a DM, or a message mentioning the bot (or its integration role)."""
    if is_direct(message):
        return True
    if any(user.id == bot_id for user in message.mentions):
        return True
    return role_id is not None and any(role.id == role_id for role in message.role_mentions)


def bot_role_id(message: discord.Message) -> int | None:
    """The role Discord made for the bot in this guild, which people mention by mistake."""
    role = message.guild.self_role if message.guild is not None else None
    return role.id if role is not None else None


def as_turn(message: discord.Message, bot_id: int, role_id: int | None = None) -> ChatMessage | None:
    """One message as a turn, or None when it says nothing (or is still a placeholder)."""
    if message.author.id == bot_id:
        text = message.content.removesuffix(INDICATOR)
        return ChatMessage("assistant", text) if text.strip() and text != PLACEHOLDER else None
    text = strip_mentions(message.content, bot_id, role_id)
    return ChatMessage("user", text) if text else None


def merge(turns: list[ChatMessage]) -> list[ChatMessage]:
    """Join consecutive turns of one role (an answer's pages, several user lines)."""
    out: list[ChatMessage] = []
    for turn in turns:
        if out and out[-1].role == turn.role:
            out[-1] = ChatMessage(turn.role, f"{out[-1].content}\n\n{turn.content}")
        else:
            out.append(turn)
    return out


async def earlier_messages(message: discord.Message) -> list[discord.Message]:
    """The messages before `message` that make its conversation, oldest first: the
    thread so far inside a thread, else the reply chain."""
    if isinstance(message.channel, discord.Thread):
        return await _thread_messages(message.channel, message)
    return await _reply_chain(message)


def history_of(earlier: list[discord.Message], bot_id: int, role_id: int | None = None) -> list[ChatMessage]:
    """`earlier_messages` as the model should see them."""
    return merge([turn for m in earlier if (turn := as_turn(m, bot_id, role_id)) is not None])


async def history_for(message: discord.Message, bot_id: int, role_id: int | None = None) -> list[ChatMessage]:
    """The conversation before `message`, oldest first, as the model should see it."""
    return history_of(await earlier_messages(message), bot_id, role_id)


async def _reply_chain(message: discord.Message) -> list[discord.Message]:
    chain: list[discord.Message] = []
    current = message
    while len(chain) < MAX_TURNS and (ref := current.reference) is not None and ref.message_id:
        parent = ref.resolved if isinstance(ref.resolved, discord.Message) else ref.cached_message
        if parent is None:
            try:
                parent = await current.channel.fetch_message(ref.message_id)
            except discord.HTTPException as exc:  # deleted, or no Read Message History
                log.info("reply chain ends at %s: %s", ref.message_id, exc)
                break
        chain.append(parent)
        current = parent
    chain.reverse()
    return chain


async def _thread_messages(thread: discord.Thread, before: discord.Message) -> list[discord.Message]:
    found: list[discord.Message] = []
    try:
        async for m in thread.history(limit=MAX_TURNS, before=before):
            found.append(m)  # noqa: PERF401 - a loop keeps what was read before a failure
    except discord.HTTPException as exc:
        log.info("cannot read thread %s: %s", thread.id, exc)
    found.reverse()
    if any(m.id == thread.id for m in found) or len(found) >= MAX_TURNS:
        return found  # a forum post holds its first message; or there is enough already
    starter = thread.starter_message
    if starter is None and isinstance(thread.parent, discord.abc.Messageable):
        try:  # a thread started from a message keeps that message in the parent channel
            starter = await thread.parent.fetch_message(thread.id)
        except (discord.HTTPException, AttributeError):
            starter = None
    return [starter, *found] if starter is not None else found
