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
  Each answer opens one message, by `chat.startStream` (Tier 2, per workspace) or by
  `chat.postMessage` (per channel), and may stop one stream (`chat.stopStream`, Tier 2,
  per workspace), which may carry text. At the platform, openings may go by either limit
  (`EitherShape`, each channel given the whole start budget: looser, so still a bound);
  trickle also draws a start on the channel's post budget (`starts_on_posts`), so under
  its limits the posts alone pace openings. Appends and stops serve only the answers
  opened as streams, as many as the starts allow (`Allowance.gate`);
- discord-mentions: each channel's window, creates and edits together; trickle's budget
  follows Discord's headers (`WindowBucket`), so its own limits are the platform's.
The floor is computed twice: under trickle's configured limits (`SlackLimits`: 45/min
burst 8, 0.9/s burst 4, 90/min burst 16, starts and stops 18/min burst 3), the one the
ratio uses, and under the platform's (`tests/fakes`: 50/min burst 10, 1/s burst 5,
100/min burst 20, starts and stops 20/min burst 5; Discord 5 per 5 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.floor.bound import Allowance, BucketShape, EitherShape, Shape, WindowShape
from bots.discord.budgets import DiscordBudgets
from bots.slack.budgets import SlackLimits


@dataclass(frozen=True, slots=True)
class Limits:
    """One side's limits: trickle's configured budgets, or the platform's own."""

    updates: Shape  # chat.update, per workspace
    posts: Shape  # chat.postMessage, per channel
    appends: Shape  # chat.appendStream, per workspace
    channel: Shape  # a Discord channel's creates, and (counted apart) its edits
    starts: Shape  # chat.startStream, per workspace
    stops: Shape  # chat.stopStream, per workspace
    # trickle makes a stream start inside a grant of the channel's post budget (Slack
    # may count it as a message posted there); the fake Slack does not count it so.
    starts_on_posts: bool


def trickle_limits() -> Limits:
    slack = SlackLimits()
    discord = DiscordBudgets()
    return Limits(
        updates=BucketShape(slack.updates_per_minute / 60, slack.update_burst),
        posts=BucketShape(slack.posts_per_second, slack.post_burst),
        appends=BucketShape(slack.appends_per_minute / 60, slack.append_burst),
        # WindowBucket follows the server's windows: trickle's count is Discord's.
        channel=WindowShape(discord.burst, discord.burst / discord.rate),
        starts=BucketShape(slack.stream_starts_per_minute / 60, slack.stream_start_burst),
        stops=BucketShape(slack.stream_stops_per_minute / 60, slack.stream_stop_burst),
        starts_on_posts=True,
    )


def platform_limits() -> Limits:
    """The limits `tests/fakes/slack_server.py` and `discord_server.py` enforce by default."""
    return Limits(
        updates=BucketShape(50 / 60, 10),
        posts=BucketShape(1.0, 5),
        appends=BucketShape(100 / 60, 20),
        channel=WindowShape(5, 5.0),
        starts=BucketShape(20 / 60, 5),
        stops=BucketShape(20 / 60, 5),
        starts_on_posts=False,
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
    if platform == "slack-edit":
        # One message per answer: its opening is its one post.
        posts = [
            Allowance(f"chat.postMessage {c}", limits.posts, m, per_answer=1, opens=True) for c, m in by_channel.items()
        ]
        return [updates, *posts]
    if platform != "slack-native":
        raise ValueError(f"unknown platform {platform!r}")
    # One message per answer, opened by a stream start or a post.
    either = None if limits.starts_on_posts else EitherShape(limits.starts, limits.posts)
    starts = [] if limits.starts_on_posts else [Allowance("chat.startStream", limits.starts, everyone, per_answer=1)]
    return [
        updates,
        Allowance("chat.appendStream", limits.appends, everyone, gate=limits.starts),
        *starts,
        *(
            Allowance(f"chat.postMessage {c}", limits.posts, m, per_answer=1, opens=True, opening=either)
            for c, m in by_channel.items()
        ),
        Allowance("chat.stopStream", limits.stops, everyone, per_answer=1, gate=limits.starts),
    ]
