"""How far is the relay from what the rate limits allow? A proven floor beside the relay.

    python -m benchmarks.floor [--quick] [--scenario SUBSTRING ...]

For each scenario (K answers asked at the same instant, in one channel or spread over ten,
on `slack-edit`, `slack-native` or `discord-mentions`) it prints:

(a) a PROVEN LOWER BOUND on token-staleness p95 that no schedule of writes can beat under
    the same limits: a counting relaxation, not an offline optimum (the best schedule may
    sit well above it). Staleness is, per token, the time from the model emitting it to a
    platform write first showing it. For a candidate staleness S, a write at time w shows
    within S only tokens emitted in [w - S, w]; tokens come every 1/rate seconds, so one
    write shows at most floor(S * rate) + 1 of them (at most all of its answer's). Writes
    that can show anything within S fall in [first emission, last emission + S], and the
    limits cap how many there are (below). p95 <= S needs the best allocation of those
    writes to show, within S, the share of all K answers' tokens that p95 counts; the
    bound is the largest S found infeasible by bisection (to 10 ms), so p95 > floor.
    With capacity for a write per token (K=1 and a huge budget), S = 0 is feasible and
    the bound is the trivial 0: a real K=1 floor is above 0 only because the budgets
    hold fewer writes than an answer has tokens. The relay falling below the floor
    would disprove the bound; every run checks it.
(b) the real relay (`core.relay.Answer`, `RelayConfig()` defaults) run against the same
    limits on a virtual clock (`benchmarks.virtual_time`): a whole run takes well under a
    second, and it is deterministic, so one run per scenario is enough.
(c) both, their ratio (relay p95 / floor under trickle's limits), the relay's worst
    staleness, first-token visibility (first token emitted -> shown, median over answers),
    whether every answer ended with exactly the model's text, and the writes the
    simulated platform refused with a 429 (must be 0).

The workload (the issue's): each answer's model emits its first token 0.5 s after the
question, then one every 20 ms (50 tokens/s), 400 tokens in all (the last at 8.48 s), and
finishes with its last token. Tokens are short distinct words, the token's index in hex
and a space ("0 ", ..., "18f "): an answer is 1,328 characters, so it fits one Discord
message even under the pager's holdback (an open page shows at most 1,749 of Discord's
1,998), and the bound need not model pages.

Capacity, per limit, of the writes in [t0, T] (t0 the first emission, T = last + S):
- a token bucket (rate r, burst b) holds at most b at t0, so at most b + r (T - t0);
- Discord's fixed windows (n calls per window of p seconds, a window opening at its first
  call, as `tests/fakes/discord_server.py` has them, fresh when the question comes):
  only windows opened in (t0 - p, T] and not before 0 hold such calls, at least p apart,
  so at most n (floor((T - max(0, t0 - p)) / p) + 1); rounding goes up at boundaries,
  which can only lower the bound.
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

What the simulated surfaces leave out, next to `bots/slack/surface.py`, `native.py` and
`bots/discord/surface.py`: every call takes no time (no network latency, so a write shows
what was emitted up to the instant it was granted); no thread status, Stop button or
streaming mark beyond Discord's size rule; no Slack escaping (the tokens need none);
discord.py's own waits inside a call are not modelled (the budget's, fed the headers the
trace config would see, are the only ones); and the fake Slack's free `startStream` and
`stopStream` are taken as given.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import inspect
import logging
import math
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from benchmarks.virtual_time import run_virtual
from bots.discord.budgets import DiscordBudgets
from bots.slack.budgets import SlackBudgets, SlackLimits
from core.models import Finish, StreamEvent, TextDelta
from core.observer import NullObserver
from core.pacing import Budget
from core.relay import Answer, RelayConfig
from core.surface import RateLimited, SurfaceError

PLATFORMS = ("slack-edit", "slack-native", "discord-mentions")
QUANTILE = 0.95
RESOLUTION = 0.01  # seconds: the bisection's step, the floor's precision
_EPS = 1e-9  # float slack, always spent on the side that lowers the bound


# -- the workload ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """One answer's model stream, in seconds after its question."""

    first: float = 0.5
    tokens: int = 400
    rate: float = 50.0

    def emitted_at(self, index: int) -> float:
        return self.first + index / self.rate

    @property
    def last(self) -> float:
        return self.emitted_at(self.tokens - 1)

    def token(self, index: int) -> str:
        return f"{index:03x} "

    def text(self) -> str:
        return "".join(self.token(i) for i in range(self.tokens))

    def per_write(self, stale: float) -> int:
        """The most of this answer's tokens one write can show within `stale` seconds:
        those emitted in [w - stale, w], one every 1/rate seconds."""
        return min(self.tokens, math.floor(stale * self.rate + _EPS) + 1)


async def model(workload: Workload, asked_at: float) -> AsyncIterator[StreamEvent]:
    """The scripted model: tokens on an absolute schedule (no drift), then `Finish`."""
    loop = asyncio.get_running_loop()
    for index in range(workload.tokens):
        delay = asked_at + workload.emitted_at(index) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield TextDelta(workload.token(index))
    yield Finish("stop")


def nearest_rank(count: int, q: float) -> int:
    """Index of the q-quantile in `count` sorted values (`benchmarks.measure.percentile`'s rule)."""
    return min(count - 1, max(0, round(q * (count - 1))))


def quantile(values: Sequence[float], q: float) -> float:
    return sorted(values)[nearest_rank(len(values), q)] if values else math.nan


# -- the bound ---------------------------------------------------------------------------


class Shape(Protocol):
    def writes(self, start: float, end: float) -> float:
        """The most calls it allows in [start, end], when fresh at time 0."""
        ...


@dataclass(frozen=True, slots=True)
class BucketShape:
    """A token bucket: `burst` calls at once, refilled at `rate` a second."""

    rate: float
    burst: float

    def writes(self, start: float, end: float) -> float:
        # It holds at most `burst` at `start`, whatever happened before.
        return self.burst + self.rate * max(0.0, end - start)


@dataclass(frozen=True, slots=True)
class WindowShape:
    """Discord's fixed windows: `limit` calls per `period`, a window opening at its first call."""

    limit: int
    period: float

    def writes(self, start: float, end: float) -> float:
        # A window holds a call in [start, end] only if it opened in (start - period, end]
        # (and not before 0); openings are at least a period apart.
        lo = max(0.0, start - self.period)
        return self.limit * (math.floor((end - lo) / self.period + _EPS) + 1)


@dataclass(frozen=True, slots=True)
class Unlimited:
    """A call the platform does not rate-limit (capped per answer by its `Allowance`)."""

    def writes(self, start: float, end: float) -> float:
        return math.inf


@dataclass(frozen=True, slots=True)
class Allowance:
    """One limit that some answers' writes draw on; `per_answer` caps its use by each."""

    name: str
    shape: Shape
    members: frozenset[int]
    per_answer: int | None = None

    def capacity(self, start: float, end: float) -> float:
        writes = self.shape.writes(start, end)
        total = writes if math.isinf(writes) else float(math.floor(writes + _EPS))
        if self.per_answer is not None:
            total = min(total, float(self.per_answer * len(self.members)))
        return total


def _groups(count: int, allowances: Sequence[Allowance]) -> list[list[int]]:
    """Answers joined by any limit they share (union-find over the allowances)."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for allowance in allowances:
        members = sorted(allowance.members)
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def shown_within(
    answers: Sequence[Workload], allowances: Sequence[Allowance], stale: float
) -> int:
    """The most tokens, over all answers, that any schedule can show within `stale`.

    Every answer is asked at time 0, so `Workload` times are absolute. Answers that
    share no limit are independent; within a group, the capacity of all its limits is
    pooled. Pooling relaxes who may use which write (an answer may take another channel's
    post), so it can only let more tokens be shown: the bound stays valid, if a little
    lower than the constrained optimum.
    """
    start = min(a.first for a in answers)
    end = max(a.last for a in answers) + stale
    total = 0
    for members in _groups(len(answers), allowances):
        inside = set(members)
        writes = sum(a.capacity(start, end) for a in allowances if a.members & inside)
        total += _best_allocation([answers[i] for i in members], writes, stale)
    return total


def _best_allocation(answers: Sequence[Workload], writes: float, stale: float) -> int:
    """Tokens shown within `stale` by the best split of `writes` writes among `answers`.

    Answer i given m writes shows at most min(N_i, m * per_write_i) tokens within
    `stale`. Its marginal gains are per_write_i, ..., then the remainder, then 0: non-
    increasing, so each answer's gain is concave in m. Maximising a sum of concave
    functions of integers under one budget (sum of m_i <= writes) is solved exactly by
    giving each write in turn to the largest marginal gain: with non-increasing gains the
    best total of W writes is the sum of the W largest marginal gains over all answers,
    and the greedy takes exactly those, since an answer's later gains are never larger
    than its earlier ones (so taking them in order loses nothing). No answer is
    forced a write: p95 lets 5% of the tokens be as stale as they like, and a schedule may
    leave one answer out of the window entirely.
    """
    per_write = [a.per_write(stale) for a in answers]
    shown = [0] * len(answers)
    heap = [(-gain, i) for i, gain in enumerate(per_write)]
    heapq.heapify(heap)
    total = 0
    left = writes
    while left >= 1 and heap:
        gain, i = heapq.heappop(heap)
        total -= gain
        shown[i] -= gain
        left -= 1
        nxt = min(per_write[i], answers[i].tokens - shown[i])
        if nxt > 0:
            heapq.heappush(heap, (-nxt, i))
    return total


def floor_p95(
    answers: Sequence[Workload],
    allowances: Sequence[Allowance],
    *,
    q: float = QUANTILE,
    resolution: float = RESOLUTION,
    ceiling: float = 3600.0,
) -> float:
    """The largest staleness S (to `resolution`) at which p95 <= S is impossible.

    Feasibility only grows with S (more tokens per write, more time for writes), so a
    bisection finds the threshold; what is returned is a point proven infeasible, hence
    a lower bound on the p95 of any schedule (inf if none is feasible by `ceiling`).
    """
    need = nearest_rank(sum(a.tokens for a in answers), q) + 1

    def feasible(stale: float) -> bool:
        return shown_within(answers, allowances, stale) >= need

    if feasible(0.0):
        return 0.0
    lo, hi = 0.0, resolution
    while not feasible(hi):
        lo, hi = hi, hi * 2
        if hi > ceiling:
            return math.inf
    while hi - lo > resolution:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if feasible(mid) else (mid, hi)
    return lo


# -- the limits of each side -------------------------------------------------------------


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
                Allowance(f"creates {c}", limits.channel, m, per_answer=1),
                Allowance(f"edits {c}", limits.channel, m),
            )
        ]
    updates = Allowance("chat.update", limits.updates, everyone)
    # One message per answer: its opening is its one post (or stream start).
    posts = [Allowance(f"chat.postMessage {c}", limits.posts, m, per_answer=1) for c, m in by_channel.items()]
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
        Allowance("opening", Unlimited(), everyone, per_answer=1),  # startStream, or a post
        Allowance("chat.stopStream", Unlimited(), everyone, per_answer=1),
    ]


# -- the simulated platforms -------------------------------------------------------------


def _now() -> float:
    return asyncio.get_running_loop().time()


class PlatformBucket:
    """The platform's own token bucket (not trickle's), full when first used."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = _now()

    def take(self) -> float:
        """0.0 when the call may go (a token spent), else the seconds until it could."""
        now = _now()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0 - _EPS:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        return (1.0 - self.tokens) / self.rate


class PlatformWindow:
    """Discord's fixed window: opened by its first call, `limit` calls until it closes."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.ends = -math.inf
        self.used = 0

    def take(self) -> tuple[bool, int, float]:
        """(allowed, remaining, reset_after), as Discord's headers would say."""
        now = _now()
        if now >= self.ends:
            self.ends, self.used = now + self.period, 0
        reset_after = math.ceil((self.ends - now) * 1000) / 1000
        if self.used >= self.limit:
            return False, 0, reset_after
        self.used += 1
        return True, self.limit - self.used, reset_after


@dataclass(eq=False, slots=True)
class Message:
    """One platform message: what it shows (without indicator), whether it is final, and
    when it came to show how many characters (to check the relay's own reports)."""

    channel: str
    text: str
    final: bool
    streaming: bool = False  # a Slack stream not stopped yet
    history: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class Platform:
    """What every simulated platform records: messages, refused writes, broken rules."""

    page_limit: int
    messages: list[Message] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def _create(self, channel: str, text: str, final: bool, *, streaming: bool = False) -> Message:
        message = Message(channel, text, final, streaming, [(_now(), len(text))])
        self.messages.append(message)
        return message

    def _change(self, message: Message, text: str, final: bool) -> None:
        if message.final:
            self.errors.append("edit after final")
        if not text.startswith(message.text):
            self.errors.append("a shown word taken back")
        message.text, message.final = text, final
        message.history.append((_now(), len(text)))

    def _check(self, content: str) -> None:
        """The platform's size rule, on what the message would show."""
        if len(content) > self.page_limit:
            self.errors.append("msg_too_long")
            raise SurfaceError("msg_too_long")


class SlackPlatform(Platform):
    """One Slack workspace with Slack's limits, as `tests/fakes/slack_server.py` has them:
    `chat.update` and `chat.appendStream` per workspace, `chat.postMessage` per channel,
    `chat.startStream`/`stopStream` unlimited; a refusal changes nothing and says when to
    come back, in whole seconds."""

    def __init__(self, *, page_limit: int = 12_000) -> None:
        super().__init__(page_limit)
        self.updates = PlatformBucket(50 / 60, 10)
        self.appends = PlatformBucket(100 / 60, 20)
        self.posts: dict[str, PlatformBucket] = {}

    def _take(self, method: str, bucket: PlatformBucket) -> None:
        wait = bucket.take()
        if wait > 0:
            self.refused[method] += 1
            raise RateLimited(max(1, math.ceil(wait)), f"{method} ratelimited")

    def post(self, channel: str, text: str, final: bool) -> Message:
        bucket = self.posts.get(channel)
        if bucket is None:
            bucket = self.posts[channel] = PlatformBucket(1.0, 5)
        self._take("chat.postMessage", bucket)
        self._check(text)
        return self._create(channel, text, final)

    def update(self, message: Message, text: str, final: bool) -> None:
        if message.streaming:
            self.errors.append("chat.update on a live stream")
            raise SurfaceError("streaming_state_conflict")
        self._take("chat.update", self.updates)
        self._check(text)
        self._change(message, text, final)

    def start_stream(self, channel: str, text: str) -> Message:
        self._check(text)
        return self._create(channel, text, False, streaming=True)

    def append_stream(self, message: Message, text: str) -> None:
        if not message.streaming:
            self.errors.append("chat.appendStream on a stopped stream")
            raise SurfaceError("message_not_in_streaming_state")
        self._take("chat.appendStream", self.appends)
        self._check(message.text + text)
        self._change(message, message.text + text, False)

    def stop_stream(self, message: Message, text: str) -> None:
        if not message.streaming:
            self.errors.append("chat.stopStream on a stopped stream")
            raise SurfaceError("message_not_in_streaming_state")
        self._check(message.text + text)
        self._change(message, message.text + text, True)
        message.streaming = False


class DiscordPlatform(Platform):
    """Discord's channel buckets (creates, and edits counted apart, 5 per 5 s windows
    each, as `tests/fakes/discord_server.py`), feeding trickle's budgets the headers of
    every write the way `DiscordBudgets.trace_config` does."""

    INDICATOR = " ▌"

    def __init__(self, budgets: DiscordBudgets, *, content_limit: int = 2000) -> None:
        super().__init__(content_limit)
        self.budgets = budgets
        self.windows: dict[str, PlatformWindow] = {}

    def create(self, channel: str, text: str, final: bool) -> Message:
        self._spend("POST", channel, f"/api/v10/channels/{channel}/messages")
        self._check(self.render(text, final))
        return self._create(channel, text, final)

    def edit(self, message: Message, text: str, final: bool) -> None:
        number = self.messages.index(message)
        self._spend("PATCH", message.channel, f"/api/v10/channels/{message.channel}/messages/{number}")
        self._check(self.render(text, final))
        self._change(message, text, final)

    def render(self, text: str, final: bool) -> str:
        """What Discord shows: the text, plus the streaming mark until it is final."""
        if final:
            return text or "…"
        return text + self.INDICATOR if text else "…"

    def _spend(self, method: str, channel: str, path: str) -> None:
        key = f"{method} {channel}"
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = PlatformWindow(5, 5.0)
        ok, remaining, reset_after = window.take()
        headers = {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        if not ok:
            headers["Retry-After"] = str(max(1, math.ceil(reset_after)))
        self.budgets.observe(method=method, path=path, status=200 if ok else 429, headers=headers)
        if not ok:
            self.refused["channel"] += 1
            raise RateLimited(max(1, math.ceil(reset_after)), "channel bucket")


# -- the simulated surfaces --------------------------------------------------------------


class SlackEditSurface:
    """A Slack thread in edit mode, like `bots/slack/surface.py`: posts on the channel's
    budget, `chat.update` on the workspace's; the first post carries what the model
    wrote while it waited for the post budget."""

    page_limit = 12_000

    def __init__(self, platform: SlackPlatform, budgets: SlackBudgets, *, team: str, channel: str) -> None:
        self.platform = platform
        self.budgets = budgets
        self.team = team
        self.channel = channel
        self.pages: list[Message] = []

    def measure(self, text: str) -> int:
        return len(text)  # the tokens have nothing Slack escapes

    async def post_placeholder(self) -> Message:
        return self._keep(self.platform.post(self.channel, "", False))

    async def post_opening(self, text: Callable[[], str]) -> Message:
        return self._keep(self.platform.post(self.channel, text(), False))

    async def post_page(self, text: str, *, final: bool) -> Message:
        return self._keep(self.platform.post(self.channel, text, final))

    async def edit(self, ref: Message, text: str, *, final: bool) -> None:
        self.platform.update(ref, text, final)

    def post_budget(self) -> Budget | None:
        return self.budgets.posts(self.channel)

    def edit_budget(self, ref: Message) -> Budget | None:
        return self.budgets.updates(self.team)

    def answer_edit_budget(self) -> Budget | None:
        return self.budgets.updates(self.team)

    def must_leave(self, ref: Message) -> bool:
        return False

    def _keep(self, message: Message) -> Message:
        self.pages.append(message)
        return message


class SlackNativeSurface(SlackEditSurface):
    """A Slack thread streamed natively, like `bots/slack/native.py`: a stream opened empty
    on the post budget, appends of the new text (and the stop) on the append budget,
    `chat.update` once a stream is stopped."""

    def __init__(self, platform: SlackPlatform, budgets: SlackBudgets, *, team: str, channel: str) -> None:
        super().__init__(platform, budgets, team=team, channel=channel)
        self._sent: dict[Message, int] = {}  # a live stream -> characters appended so far

    async def post_placeholder(self) -> Message:
        return self._start("")

    async def post_opening(self, text: Callable[[], str]) -> Message:
        return self._start("")  # a stream opens empty; appends follow

    async def post_page(self, text: str, *, final: bool) -> Message:
        if final:
            return await super().post_page(text, final=final)
        return self._start(text)

    async def edit(self, ref: Message, text: str, *, final: bool) -> None:
        sent = self._sent.get(ref)
        if sent is None:
            return await super().edit(ref, text, final=final)
        new = text[sent:]
        if final:
            self.platform.stop_stream(ref, new)
            del self._sent[ref]
        elif new:
            self.platform.append_stream(ref, new)
            self._sent[ref] = sent + len(new)

    def answer_edit_budget(self) -> Budget | None:
        return self.budgets.appends(self.team)

    def edit_budget(self, ref: Message) -> Budget | None:
        if ref in self._sent:
            return self.budgets.appends(self.team)
        return super().edit_budget(ref)

    def _start(self, text: str) -> Message:
        message = self.platform.start_stream(self.channel, text)
        self._sent[message] = len(text)
        return self._keep(message)


class DiscordChannelSurface:
    """A reply to a mention, like `bots/discord/surface.py` `ChannelSurface` (as of the
    change that lets the relay pace first messages): every create and edit draws on the
    channel's budget through the relay, which ranks a first message with the finals; the
    first message carries what the model wrote while it waited."""

    page_limit = 2000 - len(DiscordPlatform.INDICATOR)

    def __init__(self, platform: DiscordPlatform, budgets: DiscordBudgets, *, channel: str) -> None:
        self.platform = platform
        self.budgets = budgets
        self.channel = channel
        self.pages: list[Message] = []

    def measure(self, text: str) -> int:
        return len(text)  # ASCII: code points are UTF-16 units

    async def post_placeholder(self) -> Message:
        return await self.post_opening(lambda: "")

    async def post_opening(self, text: Callable[[], str]) -> Message:
        return self._keep(self.platform.create(self.channel, text(), False))

    async def post_page(self, text: str, *, final: bool) -> Message:
        return self._keep(self.platform.create(self.channel, text, final))

    async def edit(self, ref: Message, text: str, *, final: bool) -> None:
        self.platform.edit(ref, text, final)

    def post_budget(self) -> Budget:
        return self.budgets.creates(self.channel)

    def edit_budget(self, ref: Message) -> Budget:
        return self.budgets.channel(self.channel)

    def answer_edit_budget(self) -> Budget | None:
        return self.budgets.channel(self.channel)

    def must_leave(self, ref: Message) -> bool:
        return False

    def _keep(self, message: Message) -> Message:
        self.pages.append(message)
        return message


Surface = SlackEditSurface | DiscordChannelSurface


def _world(platform: str) -> tuple[Platform, Callable[[int], Surface]]:
    """The simulated platform and a factory of one answer's surface in channel number n.

    Built inside the running loop: budgets and buckets read its (virtual) clock. Discord
    channel ids are numbers, as `DiscordBudgets` reads them from the request path.
    """
    if platform == "discord-mentions":
        discord = DiscordBudgets()
        site = DiscordPlatform(discord)
        return site, lambda n: DiscordChannelSurface(site, discord, channel=str(1000 + n))
    slack = SlackBudgets()
    workspace = SlackPlatform()
    kind = {"slack-edit": SlackEditSurface, "slack-native": SlackNativeSurface}[platform]
    return workspace, lambda n: kind(workspace, slack, team="T1", channel=f"C{n}")


# -- running the relay ---------------------------------------------------------------------


class Seen(NullObserver):
    """One answer's staleness per delta, as the relay reports it (`text_shown`), and the
    platform calls it saw fail (a timeout while a write waits for its budget counts)."""

    def __init__(self) -> None:
        self.stale: list[float] = []
        self.failures: Counter[str] = Counter()

    def text_shown(self, seconds: float) -> None:
        self.stale.append(seconds)

    def surface_error(self, code: str) -> None:
        self.failures[code] += 1


@dataclass(frozen=True, slots=True)
class Scenario:
    """K answers asked at the same instant, round robin over `channels` channels of one
    Slack workspace (one chat.update budget) or one Discord server (a window each)."""

    platform: str
    answers: int
    channels: int

    @property
    def name(self) -> str:
        return f"{self.platform}-k{self.answers}-{self.channels}ch"

    def layout(self) -> list[int]:
        """Each answer's channel: round robin."""
        return [k % self.channels for k in range(self.answers)]


@dataclass(slots=True)
class RelayRun:
    """What the relay achieved in one scenario."""

    stale: list[float]
    first: list[float]
    exact: int
    answers: int
    refused: int
    errors: list[str]
    failures: Counter[str]
    visible: list[float]  # the same staleness, read off the platform's messages instead
    simulated: float
    wall: float

    @property
    def p95(self) -> float:
        return quantile(self.stale, QUANTILE)


def visible_staleness(pages: Sequence[Message], workload: Workload, asked: float) -> list[float]:
    """Per token, when the platform first showed all of it, minus its emission.

    Computed from the messages alone, as a check on what the relay reports through
    `text_shown`; a page starts where the pages before it ended (their final texts).
    """
    out: list[float] = []
    start = 0
    page = 0
    end = 0
    for index in range(workload.tokens):
        end += len(workload.token(index))
        while page < len(pages) and start + len(pages[page].text) < end:
            start += len(pages[page].text)
            page += 1
        if page == len(pages):
            out.append(math.inf)
            continue
        at = next((t for t, chars in pages[page].history if start + chars >= end), math.inf)
        out.append(at - (asked + workload.emitted_at(index)))
    return out


def _person_keyword() -> bool:
    return "person" in inspect.signature(Answer.__init__).parameters


async def _relay(scenario: Scenario, workload: Workload) -> RelayRun:
    loop = asyncio.get_running_loop()
    asked = loop.time()
    site, surface_in = _world(scenario.platform)
    person = _person_keyword()
    runs: list[tuple[Answer[Message], Surface, Seen]] = []
    for k, channel in enumerate(scenario.layout()):
        surface = surface_in(channel)
        seen = Seen()
        extra = {"person": f"person-{k}"} if person else {}
        answer: Answer[Message] = Answer(
            surface, model(workload, asked), config=RelayConfig(), answer_id=f"a{k}", observer=seen, **extra
        )
        runs.append((answer, surface, seen))
    await asyncio.gather(*(answer.run() for answer, _, _ in runs))
    expected = workload.text()
    exact = sum(
        all(page.final for page in surface.pages) and "".join(p.text for p in surface.pages) == expected
        for _, surface, _ in runs
    )
    stale = [s for _, _, seen in runs for s in seen.stale]
    missing = sum(workload.tokens - len(seen.stale) for _, _, seen in runs)
    stale += [math.inf] * max(0, missing)  # a token never shown is infinitely stale
    return RelayRun(
        stale=stale,
        first=[seen.stale[0] if seen.stale else math.inf for _, _, seen in runs],
        exact=exact,
        answers=len(runs),
        refused=sum(site.refused.values()),
        errors=list(site.errors),
        failures=sum((seen.failures for _, _, seen in runs), Counter()),
        visible=[s for _, surface, _ in runs for s in visible_staleness(surface.pages, workload, asked)],
        simulated=loop.time() - asked,
        wall=0.0,
    )


def run_relay(scenario: Scenario, workload: Workload | None = None) -> RelayRun:
    """Run the real relay for `scenario` on a virtual clock."""
    started = time.perf_counter()
    result = run_virtual(_relay(scenario, workload or Workload()))
    result.wall = time.perf_counter() - started
    return result


def floors(scenario: Scenario, workload: Workload | None = None) -> tuple[float, float]:
    """The floor under trickle's limits and under the platform's."""
    answers = [workload or Workload()] * scenario.answers
    layout = scenario.layout()
    return tuple(  # type: ignore[return-value]
        floor_p95(answers, allowances(scenario.platform, layout, limits))
        for limits in (trickle_limits(), platform_limits())
    )


# -- the table -----------------------------------------------------------------------------


def scenarios(*, quick: bool = False, only: Iterable[str] = ()) -> list[Scenario]:
    wanted = list(only)
    out = []
    for platform in PLATFORMS:
        for k in (1, 10) if quick else (1, 10, 50):
            for channels in (1,) if k == 1 else (1, 10):
                scenario = Scenario(platform, k, channels)
                if not wanted or any(w in scenario.name for w in wanted):
                    out.append(scenario)
    return out


def _s(seconds: float, *, down: bool = False) -> str:
    """Seconds to 10 ms; `down` truncates, so a printed floor never claims more than proven."""
    if math.isnan(seconds):
        return "-"
    if math.isinf(seconds):
        return "inf"
    return f"{math.floor(seconds * 100 + _EPS) / 100:.2f}s" if down else f"{seconds:.2f}s"


def _ratio(relay: float, floor: float) -> str:
    if floor <= 0 or math.isinf(floor):
        return "-"
    return f"{relay / floor:.2f}"


COLUMNS = (
    ("platform", 17), ("K", 4), ("channels", 10), ("floor p95", 12), ("floor p95", 12), ("relay p95", 11),
    ("ratio", 7), ("relay max", 11), ("first token p50", 17), ("exact", 8), ("429s", 6),
)
UNDER = ("", "", "", "(trickle)", "(platform)", "", "", "", "", "", "")


def _line(cells: Sequence[str]) -> str:
    first = f"{cells[0]:<{COLUMNS[0][1]}}"
    return first + "".join(f"{cell:>{width}}" for cell, (_, width) in zip(cells[1:], COLUMNS[1:]))


def row(scenario: Scenario, trickle_floor: float, platform_floor: float, run: RelayRun) -> str:
    first = statistics.median(run.first) if run.first else math.nan
    return _line((
        scenario.platform, str(scenario.answers), "one" if scenario.channels == 1 else str(scenario.channels),
        _s(trickle_floor, down=True), _s(platform_floor, down=True), _s(run.p95), _ratio(run.p95, trickle_floor),
        _s(max(run.stale) if run.stale else math.nan), _s(first), f"{run.exact}/{run.answers}", str(run.refused),
    ))


FOOTER = """\
floor p95 = a PROVEN LOWER BOUND on token-staleness p95 from a counting relaxation (each
  write shows, within S, only tokens emitted in the S before it; writes are capped by the
  limits' capacity up to the last emission + S), NOT an offline optimum: the best possible
  schedule may be well above it. Printed rounded down to 10 ms. (trickle) uses trickle's
  configured budgets (chat.update 45/min burst 8, chat.postMessage 0.9/s burst 4,
  chat.appendStream 90/min burst 16, which native streaming's stop also draws on);
  (platform) Slack's 50/min burst 10, 1/s burst 5, 100/min burst 20 (startStream and
  stopStream free, as in the fake Slack); Discord's 5 per 5 s windows on both sides
  (trickle follows Discord's headers). Slack schedules keep an answer in one message;
  native ones may also fall back on chat.update. ratio = relay p95 / floor p95 (trickle).
relay = the real core.relay.Answer with RelayConfig() defaults, on a virtual clock against
  simulated platforms enforcing the platform limits; staleness per token is what the relay
  reports through text_shown (checked against the messages' own history); first token =
  first token emitted -> shown (median over answers); exact = answers whose final messages
  hold exactly the model's text; 429s = writes the platform refused.
workload: per answer, first token 0.5 s after the question, 400 tokens at 50/s, all K
  answers asked at the same instant. Deterministic (virtual clock): one run per scenario."""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K = 1 and 10 only")
    parser.add_argument(
        "--scenario", action="append", default=[], metavar="SUBSTRING",
        help="keep scenarios whose name (e.g. slack-edit-k10-1ch) contains it; repeatable",
    )
    args = parser.parse_args(argv)
    chosen = scenarios(quick=args.quick, only=args.scenario)
    if not chosen:
        parser.error("no scenario matches --scenario " + " ".join(args.scenario))
    # The relay logs each retry; the table and the notes below count them instead.
    logging.getLogger("trickle").setLevel(logging.ERROR)
    print(_line([name for name, _ in COLUMNS]))
    print(_line(UNDER))
    wall = simulated = 0.0
    notes = []
    for scenario in chosen:
        trickle_floor, platform_floor = floors(scenario)
        run = run_relay(scenario)
        wall += run.wall
        simulated += run.simulated
        print(row(scenario, trickle_floor, platform_floor, run), flush=True)
        if run.failures:
            failed = ", ".join(f"{count} x {code}" for code, count in sorted(run.failures.items()))
            notes.append(f"note: {scenario.name}: platform calls failed and were retried: {failed}")
        if run.errors:
            notes.append(f"PROBLEM {scenario.name}: the platform saw {', '.join(sorted(set(run.errors)))}")
        if not math.isclose(quantile(run.visible, QUANTILE), run.p95, abs_tol=1e-6):
            notes.append(f"PROBLEM {scenario.name}: the relay's staleness reports disagree with the messages")
        if run.p95 < min(trickle_floor, platform_floor):
            notes.append(f"PROBLEM {scenario.name}: relay p95 below the floor: the bound is wrong")
    print()
    print(FOOTER)
    print(f"({len(chosen)} scenarios: {simulated:.0f} s of simulated time in {wall:.1f} s of wall time)")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
