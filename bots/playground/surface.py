"""The third surface: an answer streaming into messages of the playground's channel.

It is the browser's counterpart of a Slack thread or a Discord interaction, and goes
through the very same relay, pacing and paging: one shared edit budget for the channel
(like Slack's per-workspace `chat.update` allowance), the TRICKLE_EDIT_INTERVAL floor
applied by the relay, Markdown pages of at most `page_limit` characters. Each event
also carries the answer's live figures (time to first token, tokens/s, edits), which an
`AnswerStats` observer collects from the relay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bots.playground.channel import Channel
from core.observer import WriteKind
from core.pacing.budget import Budget
from core.surface import SurfaceError

BOT_NAME = "trickle"
PLACEHOLDER = "_thinking…_"
INDICATOR = " ▌"
PAGE_LIMIT = 4000
EDIT_RATE = 10.0
EDIT_BURST = 10.0


def channel_budget() -> Budget:
    """The playground's edit allowance: about what a real platform grants one channel."""
    return Budget(rate=EDIT_RATE, burst=EDIT_BURST, name="playground")


class AnswerStats:
    """What the relay reports about one answer, kept for the page to show.

    A `RelayObserver`: called on the relay's hot path, so every method only stores a
    number. Times are monotonic seconds from `clock`, injectable for tests.
    """

    __slots__ = (
        "_clock",
        "placeholder_s",
        "ttft_s",
        "token_count",
        "edit_count",
        "rate_limit_count",
        "end",
        "_first_at",
        "_last_at",
    )

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.placeholder_s: float | None = None
        self.ttft_s: float | None = None
        self.token_count = 0
        self.edit_count = 0
        self.rate_limit_count = 0
        self.end: str | None = None
        self._first_at: float | None = None
        self._last_at: float | None = None

    def __repr__(self) -> str:
        return f"<AnswerStats {self.snapshot()}>"

    def placeholder(self, seconds: float) -> None:
        self.placeholder_s = seconds

    def first_token(self, seconds: float) -> None:
        self.ttft_s = seconds

    def tokens(self, count: int) -> None:
        now = self._clock()
        if self._first_at is None:
            self._first_at = now
        self._last_at = now
        self.token_count += count

    def edit(self) -> None:
        self.edit_count += 1

    def wrote(self, kind: WriteKind) -> None:
        pass  # the page shows edits; /metrics has the breakdown by kind

    def text_shown(self, seconds: float) -> None:
        pass

    def rate_limited(self) -> None:
        self.rate_limit_count += 1

    def surface_error(self, code: str) -> None:
        pass

    def ended(self, end: str) -> None:
        self.end = end

    @property
    def tokens_per_s(self) -> float | None:
        """Generation speed: tokens after the first, over the time since the first."""
        if self._first_at is None or self._last_at is None:
            return None
        span = self._last_at - self._first_at
        count = self.token_count
        return (count - 1) / span if count > 1 and span > 0 else None

    def snapshot(self) -> dict[str, Any]:
        """The figures as sent to the page (seconds, rounded for display)."""
        return {
            "placeholder_s": _round(self.placeholder_s),
            "ttft_s": _round(self.ttft_s),
            "tokens": self.token_count,
            "tokens_per_s": _round(self.tokens_per_s, 1),
            "edits": self.edit_count,
            "rate_limited": self.rate_limit_count,
            "end": self.end,
        }


class PlaygroundSurface:
    """One answer's messages in the channel; Ref is the channel message id."""

    page_limit = PAGE_LIMIT

    def __init__(
        self,
        channel: Channel,
        *,
        budget: Budget,
        answer_id: str,
        asker: str,
        stats: AnswerStats,
        asker_id: str | None = None,
    ) -> None:
        self._channel = channel
        self._budget = budget
        self.answer_id = answer_id
        self.asker = asker
        self.asker_id = asker_id
        self.stats = stats
        self.refs: list[str] = []
        self._status = PLACEHOLDER

    def __repr__(self) -> str:
        return f"<PlaygroundSurface {self.answer_id} asker={self.asker!r} pages={len(self.refs)}>"

    def measure(self, text: str) -> int:
        # The indicator is left out: the channel has no hard limit, so a page may show
        # PAGE_LIMIT characters of answer plus the two of the indicator while it streams.
        return len(text)

    async def post_placeholder(self) -> str:
        return await self._post(PLACEHOLDER, final=False)

    async def post_page(self, text: str, *, final: bool) -> str:
        return await self._post(_shown(text, final), final=final)

    async def edit(self, ref: str, text: str, *, final: bool) -> None:
        try:
            await self._channel.edit(ref, text=_shown(text, final), final=final, stats=self.stats.snapshot())
        except KeyError:
            raise SurfaceError("message_not_found", ref) from None

    async def show_status(self, ref: str, status: str) -> bool:
        """Say why the placeholder is still empty (the model is rate limited, say).

        Best effort and only over the placeholder or an earlier status: once answer
        text is showing, the relay's edits own the message. True if it was written.
        """
        message = self._channel.get(ref)
        if message is None or message.final or message.text not in (PLACEHOLDER, self._status):
            return False
        self._status = f"_{status}_"
        await self._channel.edit(ref, text=self._status, final=False, stats=self.stats.snapshot())
        return True

    async def publish_stats(self) -> None:
        """Send the answer's final figures (the relay reports the last edit after it)."""
        for ref in self.refs:
            message = self._channel.get(ref)
            if message is not None:
                await self._channel.edit(ref, text=message.text, final=message.final, stats=self.stats.snapshot())

    def post_budget(self) -> Budget | None:
        return None

    def edit_budget(self, ref: str) -> Budget | None:
        return self._budget

    def must_leave(self, ref: str) -> bool:
        return False

    async def _post(self, text: str, *, final: bool) -> str:
        message = await self._channel.post(
            author=BOT_NAME,
            text=text,
            bot=True,
            final=final,
            answer_id=self.answer_id,
            asker=self.asker,
            asker_id=self.asker_id,
            stats=self.stats.snapshot(),
        )
        self.refs.append(message.id)
        return message.id


def _shown(text: str, final: bool) -> str:
    return text if final else text + INDICATOR


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
