"""Who may ask trickle on Discord: the ids `core.team.access` needs, read from discord.py.

The policy itself is core's (`AccessPolicy`: pure, the same for every platform); this
module only says what a Discord question's user, channel and roles are, and counts and
logs a refusal once. Two Discord specifics decide those ids:

- Roles are the role ids the event itself carried (`member.roles` in MESSAGE_CREATE and
  INTERACTION_CREATE), not discord.py's `Member.roles`: that property resolves ids
  through the guild's role cache, which is empty for a guild discord.py has not received
  (an outage, a large bot still starting), and would then make everyone hold no role.
  `@everyone` is not among them (Discord does not list it). A DM has no roles: `()`.
- A thread is judged by its parent channel: listing `#support` lets its threads in, and
  denying it keeps them out. A thread may also be listed by its own id; then that
  decides, except that a thread never gets into a denied channel.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

import discord

from bots.metrics import Metrics
from core.team.access import ALLOWED, AccessPolicy, Verdict

log = logging.getLogger("trickle.discord")

__all__ = ["SILENT_ASK", "DiscordAccess", "channel_ids", "judged_channel", "place_of", "role_ids"]

# What an `/ask` refused with TRICKLE_DENIED_REPLY=silent shows: Discord requires an
# answer to every interaction (else "The application did not respond"), so the asker
# alone sees this, and it names no rule.
SILENT_ASK = "Not available here."


def role_ids(user: discord.abc.User | None) -> tuple[str, ...]:
    """The role ids `user` held when the event was sent; `()` for a user outside a guild."""
    held: Iterable[int] = getattr(user, "_roles", None) or ()  # Member only; see the module docstring
    return tuple(str(role) for role in held)


def channel_ids(channel: object, fallback: int | None) -> tuple[str, str | None]:
    """The channel to judge (a thread's parent) and, for a thread, the thread itself."""
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return str(channel.parent_id), str(channel.id)
    found = getattr(channel, "id", None) or fallback
    return str(found or ""), None


def judged_channel(channel: str, thread: str | None, policy: AccessPolicy) -> str:
    """The id the channel lists are asked about: a thread's parent, unless the thread is
    listed itself (then it decides, but never lets anyone into a denied channel)."""
    if thread is not None and (
        thread in policy.deny_channels or (thread in policy.allow_channels and channel not in policy.deny_channels)
    ):
        return thread
    return channel


def place_of(channel: object, fallback: int | None = None) -> str:
    """`Question.place` for a Discord channel: a thread is its parent's place, so that a
    channel's model and prompt (`/model`, `/prompt`), its request rate and its usage
    cover its threads too (a forum's posts are threads: else none could be set up)."""
    parent, _ = channel_ids(channel, fallback)
    return f"discord:{parent}"


class DiscordAccess:
    """`AccessPolicy.check` for a Discord message or interaction, refusals counted.

    Holds the policy and the metrics only (both immutable or shared), so one instance
    serves every event at once.
    """

    __slots__ = ("policy", "_metrics")

    def __init__(self, policy: AccessPolicy, metrics: Metrics) -> None:
        self.policy = policy
        self._metrics = metrics

    def __repr__(self) -> str:
        return f"<DiscordAccess open={self.policy.refuses_nobody} silent={self.policy.silent}>"

    def message(self, message: discord.Message, *, direct: bool) -> Verdict:
        """May the author of `message` (a mention, a reply or a DM) be answered?"""
        return self._check(message.author, message.channel, message.channel.id, direct=direct)

    def interaction(self, interaction: discord.Interaction) -> Verdict:
        """May the person running a command (e.g. `/ask`) be answered? An answer for `/ask`
        is always sent (Discord requires one): with silent refusals, `SILENT_ASK`."""
        verdict = self._check(
            interaction.user, interaction.channel, interaction.channel_id, direct=interaction.guild_id is None
        )
        if not verdict.allowed and verdict.reason is None:
            return replace(verdict, reason=SILENT_ASK)
        return verdict

    def _check(self, user: discord.abc.User, channel: object, channel_id: int | None, *, direct: bool) -> Verdict:
        if self.policy.refuses_nobody:
            return ALLOWED
        where = judged_channel(*channel_ids(channel, channel_id), self.policy)
        verdict = self.policy.check(str(user.id), where, roles=() if direct else role_ids(user), direct=direct)
        if not verdict.allowed:
            self._metrics.denied("discord", verdict.denial)
            log.info("not answering %s in %s: %s", user.id, where, verdict.denial.value if verdict.denial else "?")
        return verdict
