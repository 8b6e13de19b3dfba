"""What tests read from the fake, and what they script into it.

Read: every Web API call (`calls`, `calls_to`), how many were refused for rate
(`rate_limited`) and how many ran at once (`max_in_flight`). Scripted: faults the real
service has but a fake would not reach on its own (`fail`), and history as it already
was (`seed_messages`, `seed_thread`). Tests state what happened through these, not
through how the fake stores it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.messages import FakeMessage, unescape, visible_text
from tests.fakes.slack_server.state import Workspace


@dataclass(slots=True)
class FakeCall:
    """One Web API call as the fake saw it (params without the token)."""

    method: str
    params: Params
    time: float
    status: int
    error: str | None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.error is None


@dataclass(slots=True)
class _Injected:
    """A scripted failure for the next `times` calls of one method (see `FakeSlack.fail`)."""

    error: str
    status: int
    retry_after: int | None
    times: int


class Inspection(Workspace):
    """The record of calls and the scripted faults; a mixin of `FakeSlack`."""

    def _init_inspection(self) -> None:
        """Nothing called yet, nothing scripted."""
        self.calls: list[FakeCall] = []
        self.rate_limited: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()  # calls of each method being served now
        self.max_in_flight: Counter[str] = Counter()  # the most ever served at once
        self._injected: dict[str, list[_Injected]] = {}

    @staticmethod
    def visible_text(msg: FakeMessage | Mapping[str, Any], *, section_sep: str = "\n") -> str:
        """See `messages.visible_text` (kept on the fake for tests that hold only the fake)."""
        return visible_text(msg, section_sep=section_sep)

    @staticmethod
    def unescape(s: str) -> str:
        """See `messages.unescape` (kept on the fake for tests that hold only the fake)."""
        return unescape(s)

    def calls_to(self, method: str) -> list[FakeCall]:
        """The recorded calls of one method, in order."""
        return [c for c in self.calls if c.method == method]

    def fail(
        self,
        method: str,
        error: str = "internal_error",
        *,
        status: int = 200,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail with `error` (after the auth check).

        For faults the real service has but a fake would not reach on its own: a 500, a
        `ratelimited` 429 with a chosen `Retry-After`, `channel_not_found`...
        """
        self._injected.setdefault(method, []).append(_Injected(error, status, retry_after, times))

    def _check_injected(self, method: str) -> None:
        """Raise the next scripted failure for `method`, if any."""
        queue = self._injected.get(method)
        if not queue:
            return
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.status == 429 and not headers:
            headers = {"Retry-After": "1"}
        raise ApiError(fault.error, status=fault.status, headers=headers)

    def seed_messages(
        self,
        channel: str,
        n: int,
        *,
        users: Sequence[str] = ("U1", "U2"),
        thread_ts: str | None = None,
        text: str = "message {i}",
        first: int = 0,
    ) -> list[str]:
        """Store `n` people's messages in `channel` at once (replies when `thread_ts` is given).

        No events, no API calls: history as it already was. Message `i` (from `first`)
        is by `users[i % len(users)]` and says `text.format(i=i, user=...)`. Returns the
        new messages' ts, oldest first.
        """
        if not users:
            raise ValueError("users must name at least one author")
        stored: list[str] = []
        now = self._clock()
        for i in range(first, first + n):
            user = users[i % len(users)]
            msg = FakeMessage(
                channel=channel, ts=self.next_ts(), text=text.format(i=i, user=user), user=user, thread_ts=thread_ts
            )
            msg.record(now)
            self._store(msg)
            stored.append(msg.ts)
        return stored

    def seed_thread(
        self, channel: str, n: int, *, users: Sequence[str] = ("U1", "U2"), text: str = "message {i}"
    ) -> str:
        """A thread of `n` people's messages in `channel` (the parent and n-1 replies); its thread_ts.

        For summaries and paging: `seed_thread("C1", 200)` is a 200-message thread whose
        messages say "message 0" .. "message 199".
        """
        if n < 1:
            raise ValueError("a thread has at least its parent message")
        (parent,) = self.seed_messages(channel, 1, users=users, text=text)
        self.seed_messages(channel, n - 1, users=users, thread_ts=parent, text=text, first=1)
        return parent
