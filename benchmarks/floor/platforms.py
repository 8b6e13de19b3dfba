"""The simulated platforms the relay runs against: Slack's and Discord's own limits.

They enforce the platform's limits (not trickle's budgets), as `tests/fakes/slack_server.py`
and `tests/fakes/discord_server.py` do, but on the running loop's clock, so a run on the
virtual clock (`benchmarks.virtual_time`) takes no real time. They also record every
message's history and every broken rule, so a run can check the relay's own reports and
its manners against what the platform saw.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from dataclasses import dataclass, field

from benchmarks.floor.workload import EPS
from bots.discord.budgets import DiscordBudgets
from core.surface import RateLimited, SurfaceError


def _now() -> float:
    """The running loop's time: virtual under `run_virtual`, so nothing here waits."""
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
        if self.tokens >= 1.0 - EPS:
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
    `chat.update`, `chat.appendStream`, `chat.startStream` and `chat.stopStream` per
    workspace, `chat.postMessage` per channel; a refusal changes nothing and says when to
    come back, in whole seconds."""

    def __init__(self, *, page_limit: int = 12_000) -> None:
        super().__init__(page_limit)
        self.updates = PlatformBucket(50 / 60, 10)
        self.appends = PlatformBucket(100 / 60, 20)
        self.starts = PlatformBucket(20 / 60, 5)  # Tier 2
        self.stops = PlatformBucket(20 / 60, 5)
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
        self._take("chat.startStream", self.starts)
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
        self._take("chat.stopStream", self.stops)
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
