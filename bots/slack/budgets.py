"""The Slack allowances every answer draws on, one `Budget` per scope Slack counts in.

Slack counts `chat.update` per workspace (Tier 3, about 50 a minute, bursts of about 10)
and `chat.postMessage` per channel (about 1 a second, short bursts); native streaming adds
`chat.appendStream` (Tier 4) and `chat.startStream` / `chat.stopStream` (Tier 2, about 20
a minute each), all per workspace. Ten answers streaming
in one workspace must therefore share one edit budget, and ten placeholders in one
channel one post budget: a budget per answer would let each of them spend the whole
allowance and collect 429s. The defaults sit a little under Slack's figures so that clock
drift between us and Slack never turns into a 429 in steady state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core.pacing.bucket import RemoteBucket
from core.pacing.budget import Budget

SharedBucket = Callable[..., RemoteBucket | None]
"""`StateStore.bucket(name, rate=, burst=)`: the replicas' shared bucket, or None."""


@dataclass(frozen=True, slots=True)
class SlackLimits:
    """The allowances to pace to; Slack publishes them only roughly, so they are knobs."""

    updates_per_minute: float = 45.0
    update_burst: float = 8.0
    posts_per_second: float = 0.9
    post_burst: float = 4.0
    appends_per_minute: float = 90.0  # chat.appendStream, Tier 4: about 100 a minute
    append_burst: float = 16.0
    stream_starts_per_minute: float = 18.0  # chat.startStream, Tier 2: about 20 a minute
    stream_start_burst: float = 3.0
    stream_stops_per_minute: float = 18.0  # chat.stopStream, Tier 2 as well
    stream_stop_burst: float = 3.0


class SlackBudgets:
    """Hands out the shared budget for a workspace's edits or a channel's posts.

    Budgets are created on first use and kept while in use; the least recently used
    ones beyond `max_channels` are forgotten (a forgotten budget starts full again, which
    is what Slack's bucket would be after that channel's long silence). With `shared`
    (Redis), every replica's budget for a scope also draws on one bucket in Redis, so
    together they stay inside Slack's allowance.
    """

    __slots__ = ("limits", "_updates", "_appends", "_starts", "_stops", "_posts", "_max_channels", "_shared")

    def __init__(
        self,
        limits: SlackLimits | None = None,
        *,
        max_channels: int = 10_000,
        shared: SharedBucket | None = None,
    ) -> None:
        self._shared = shared
        self.limits = limits or SlackLimits()
        self._updates: dict[str, Budget] = {}
        self._appends: dict[str, Budget] = {}
        self._starts: dict[str, Budget] = {}
        self._stops: dict[str, Budget] = {}
        self._posts: OrderedDict[str, Budget] = OrderedDict()
        self._max_channels = max_channels

    def __repr__(self) -> str:
        return f"<SlackBudgets workspaces={len(self._updates)} channels={len(self._posts)}>"

    def updates(self, team: str) -> Budget:
        """The `chat.update` budget shared by every answer in workspace `team`."""
        limits = self.limits
        return self._workspace(self._updates, team, "chat.update", limits.updates_per_minute, limits.update_burst)

    def appends(self, team: str) -> Budget:
        """The `chat.appendStream` budget of workspace `team` (native streaming)."""
        return self._workspace(
            self._appends, team, "chat.appendStream", self.limits.appends_per_minute, self.limits.append_burst
        )

    def stream_starts(self, team: str) -> Budget:
        """The `chat.startStream` budget of workspace `team`: an answer takes a permit
        without waiting (`Budget.take_now`) or streams with `chat.update` instead."""
        limits = self.limits
        return self._workspace(
            self._starts, team, "chat.startStream", limits.stream_starts_per_minute, limits.stream_start_burst
        )

    def stream_stops(self, team: str) -> Budget:
        """The `chat.stopStream` budget of workspace `team`: a stream's final text goes by
        `chat.appendStream`, and the stop that ends it waits here, out of anyone's way."""
        limits = self.limits
        return self._workspace(
            self._stops, team, "chat.stopStream", limits.stream_stops_per_minute, limits.stream_stop_burst
        )

    def _workspace(self, budgets: dict[str, Budget], team: str, method: str, per_minute: float, burst: float) -> Budget:
        budget = budgets.get(team)
        if budget is None:
            budget = budgets[team] = self._budget(f"slack:{team}:{method}", rate=per_minute / 60, burst=burst)
        return budget

    def posts(self, channel: str) -> Budget:
        """The `chat.postMessage` budget of `channel` (placeholders and continuations)."""
        budget = self._posts.get(channel)
        if budget is None:
            # No reserve: a placeholder is what a person waits for first, and a final
            # continuation page still goes before any waiting placeholder.
            budget = self._budget(
                f"slack:{channel}:chat.postMessage",
                rate=self.limits.posts_per_second,
                burst=self.limits.post_burst,
                reserve=0.0,
            )
            self._posts[channel] = budget
            while len(self._posts) > self._max_channels:
                self._posts.popitem(last=False)
        else:
            self._posts.move_to_end(channel)
        return budget

    def by_kind(self) -> Iterator[tuple[str, Budget]]:
        """Every live budget with the Slack method it paces, for metrics by method
        (one series per method, however many workspaces and channels)."""
        for kind, budgets in (
            ("chat.update", self._updates),
            ("chat.appendStream", self._appends),
            ("chat.startStream", self._starts),
            ("chat.stopStream", self._stops),
            ("chat.postMessage", self._posts),
        ):
            for budget in list(budgets.values()):
                yield kind, budget

    def _budget(self, name: str, *, rate: float, burst: float, reserve: float = 1.0) -> Budget:
        remote = self._shared(name, rate=rate, burst=burst) if self._shared else None
        return Budget(rate=rate, burst=burst, reserve=reserve, name=name, remote=remote)
