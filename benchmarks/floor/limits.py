"""The limits each side imposes, and which of them each platform's answers draw on.

Kept apart from the bound (`benchmarks.floor.bound`), which knows only shapes and
allowances: what Slack and Discord limit, and what trickle configures, changes with the
platforms; the counting argument does not.

Which limits a scenario has (`allowances`):
- slack-edit: `chat.update` per workspace (every answer, all channels are one workspace)
  and `chat.postMessage` per channel, at most one post per answer (one message holds an
  answer: the bound covers schedules that post no needless extra pages);
- slack-native: `chat.appendStream` per workspace, plus what native streaming may fall back
  on (`chat.update`, `chat.postMessage`): a schedule may stop a stream and go on editing.
  Each answer opens one message (`chat.startStream`, not limited by the fake Slack, or
  `chat.postMessage`) and stops one stream (`chat.stopStream`, not limited by the fake
  Slack). Under trickle's limits the opening draws on the channel's post budget and the
  stop on the append budget, as `bots/slack/native.py` draws them;
- discord-mentions: each channel's window, creates and edits together; trickle's budget
  follows Discord's headers (`WindowBucket`), so its own limits are the platform's.
The floor is computed twice: under trickle's configured limits (`SlackLimits`: 45/min
burst 8, 0.9/s burst 4, 90/min burst 16), the one the ratio uses, and under the platform's
(`tests/fakes`: 50/min burst 10, 1/s burst 5, 100/min burst 20; Discord 5 per 5 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.floor.bound import Allowance, BucketShape, Shape, Unlimited, WindowShape
from bots.discord.budgets import DiscordBudgets
from bots.slack.budgets import SlackLimits


@dataclass(frozen=True, slots=True)
class Limits:
    """One side's limits: trickle's configured budgets, or the platform's own."""

    updates: Shape  # chat.update, per workspace
    posts: Shape  # chat.postMessage, per channel
    appends: Shape  # chat.appendStream, per workspace
    channel: Shape  # a Discord channel's creates, and (counted apart) its edits
    # chat.startStream / stopStream: free at the (fake) platform, once per answer each;
    # trickle draws a start on the channel's post budget and a stop on the append budget.
    free_stream_ends: bool


def trickle_limits() -> Limits:
    slack = SlackLimits()
    discord = DiscordBudgets()
    return Limits(
        updates=BucketShape(slack.updates_per_minute / 60, slack.update_burst),
        posts=BucketShape(slack.posts_per_second, slack.post_burst),
        appends=BucketShape(slack.appends_per_minute / 60, slack.append_burst),
        # WindowBucket follows the server's windows: trickle's count is Discord's.
        channel=WindowShape(discord.burst, discord.burst / discord.rate),
        free_stream_ends=False,
    )


def platform_limits() -> Limits:
    """The limits `tests/fakes/slack_server.py` and `discord_server.py` enforce by default."""
    return Limits(
        updates=BucketShape(50 / 60, 10),
        posts=BucketShape(1.0, 5),
        appends=BucketShape(100 / 60, 20),
        channel=WindowShape(5, 5.0),
        free_stream_ends=True,
    )


def allowances(platform: str, layout: Sequence[int], limits: Limits) -> list[Allowance]:
    """The limits the answers' writes draw on; `layout[i]` is answer i's channel."""
    everyone = frozenset(range(len(layout)))
    by_channel = {
        channel: frozenset(i for i, c in enumerate(layout) if c == channel) for channel in sorted(set(layout))
    }
    if platform == "discord-mentions":
        # Creates and edits are counted apart; an answer fits one message, so its
        # create is its one write on the create count.
        return [
            allowance
            for c, m in by_channel.items()
            for allowance in (
                Allowance(f"creates {c}", limits.channel, m, per_answer=1, opens=True),
                Allowance(f"edits {c}", limits.channel, m),
            )
        ]
    updates = Allowance("chat.update", limits.updates, everyone)
    # One message per answer: its opening is its one post (or stream start).
    posts = [
        Allowance(f"chat.postMessage {c}", limits.posts, m, per_answer=1, opens=True) for c, m in by_channel.items()
    ]
    if platform == "slack-edit":
        return [updates, *posts]
    if platform != "slack-native":
        raise ValueError(f"unknown platform {platform!r}")
    appends = Allowance("chat.appendStream", limits.appends, everyone)
    if not limits.free_stream_ends:
        return [updates, appends, *posts]  # the stop is one more append-budget write
    return [
        updates,
        appends,
        Allowance("opening", Unlimited(), everyone, per_answer=1, opens=True),  # startStream, or a post
        Allowance("chat.stopStream", Unlimited(), everyone, per_answer=1),
    ]
