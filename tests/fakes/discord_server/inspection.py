"""What tests read and steer: a message's answer, its pings, the calls made, the buckets.

Why apart from the server: these are the assertions' vocabulary -- "the original
response", "every write that could ping", "wait until the bot did X" -- over state the
other pieces fill in. They are methods of `FakeDiscord` (a mixin over the world) so tests
call them on the fake.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from .gateway import Gateway
from .limits import RateLimiter
from .mentions import find_violations
from .records import Call, FakeMessage, MentionViolation, Write
from .state import DiscordWorld


class Inspection(DiscordWorld):
    """Queries over the world and the REST record, and the waits tests synchronise on."""

    gateway: Gateway
    limiter: RateLimiter
    calls: list[Call]
    clock: Callable[[], float]

    @property
    def live_sessions(self) -> int:
        """Gateway sessions with an open websocket (0 while a client reconnects)."""
        return self.gateway.live_sessions

    def original(self, interaction_token: str) -> FakeMessage | None:
        inter = self.interactions.get(interaction_token)
        if inter is None or inter.original_id is None:
            return None
        return self.messages[inter.original_id]

    def followups(self, interaction_token: str) -> list[FakeMessage]:
        inter = self.interactions[interaction_token]
        return [self.messages[i] for i in inter.followup_ids]

    def pings(self, msg: FakeMessage | int | str) -> set[str]:
        """Everything any write of this message would have notified (see ``compute_pings``)."""
        m = msg if isinstance(msg, FakeMessage) else self.message(msg)
        out: set[str] = set()
        for w in m.writes:
            out |= w.pings
        return out

    def mention_violations(self, *, strict: bool = True) -> list[MentionViolation]:
        """Every bot create/edit that could ping; see `mentions.find_violations`."""
        return find_violations(self.messages.values(), self.bot_user["id"], strict=strict)

    def writes_in_order(self) -> list[tuple[FakeMessage, Write]]:
        """All writes across messages in time order: handy to check edit pacing."""
        pairs = [(m, w) for m in self.messages.values() for w in m.writes]
        return sorted(pairs, key=lambda p: p[1].time)

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        """Recorded calls matching a method and a path regex (path without /api/v10)."""
        rx = re.compile(path_regex)
        return [c for c in self.calls if c.method == method and rx.fullmatch(c.path)]

    def exhaust_bucket(self, key: str) -> None:
        """Spend a bucket, as another process sharing the bot token would.

        Why: discord.py reads the headers and waits *before* sending, so a single client
        almost never sees a 429; this is how tests make one happen.  Keys are
        ``"channel:<id>"`` (edits and deletes), ``"create:<id>"`` (new messages) and
        ``"webhook:<interaction token>"``.
        """
        self.limiter.exhaust(key)

    def expire_interaction(self, token: str) -> None:
        """Make the token invalid now, without advancing the clock."""
        self.interactions[token].forced_expired = True

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll a condition on the fake's state (the bot reacts asynchronously)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"condition not met within {timeout:.1f}s")
            await asyncio.sleep(0.005)

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until a client identified, got READY + GUILD_CREATEs, and has parsed them.

        Why the extra round trip: with guild_ready_timeout=0 discord.py may fire on_ready
        before it reads GUILD_CREATE, so on_ready alone does not mean the cache is filled.
        """
        await asyncio.wait_for(self.gateway.ready.wait(), timeout)
        await self.roundtrip(timeout)

    async def roundtrip(self, timeout: float = 5.0) -> None:
        """Barrier: every live client has processed every event dispatched so far
        (see `Gateway.roundtrip`)."""
        await self.gateway.roundtrip(timeout)
