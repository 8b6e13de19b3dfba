"""The "is thinking…" status under a thread, shown while the model has not written yet.

`assistant.threads.setStatus` needs the `assistant:write` scope and may be refused in
ordinary channels; it is decoration, so every call is fire-and-forget, failures are
ignored, and an answer never waits for it. Once Slack says the method or scope is
missing, `StatusSupport` stops trying for the whole process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("trickle.slack")

THINKING = "is thinking…"
# What the assistant pane rotates under a question while the model has not written yet.
LOADING_MESSAGES = ("Reading your question…", "Thinking it through…", "Writing the answer…")
_GIVE_UP_ON = frozenset({"missing_scope", "unknown_method", "not_allowed_token_type", "no_permission"})


@dataclass(slots=True)
class StatusSupport:
    """Whether statuses are worth trying: learnt once for the whole process."""

    enabled: bool = True


class ThreadStatus:
    """Shows the status once and clears it once, for one answer in one thread."""

    __slots__ = ("_client", "_channel", "_thread_ts", "_support", "_spawn", "_shown", "_ever", "_loading")

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        support: StatusSupport,
        *,
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        loading: tuple[str, ...] = (),
    ) -> None:
        # The assistant's `spawn`: the calls run beside the answer, which never waits for
        # them, and shutdown still waits for a status being cleared.
        self._spawn = spawn
        self._loading = loading  # the pane's rotating messages, shown with the status
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._support = support
        self._shown = False
        self._ever = False

    def __repr__(self) -> str:
        return f"<ThreadStatus {self._channel}/{self._thread_ts} shown={self._shown}>"

    @property
    def thread_ts(self) -> str:
        return self._thread_ts

    @property
    def was_shown(self) -> bool:
        """Whether this answer ever set the status: then whoever finishes the answer (a
        peer, if this process dies) must clear it; Slack clears it only on a reply."""
        return self._ever

    def show(self) -> None:
        """Start showing "is thinking…" (in the background)."""
        if self._support.enabled and not self._shown:
            self._shown = self._ever = True
            self._spawn(self._set(THINKING))

    def clear(self) -> None:
        """Stop showing it, if it was shown (in the background)."""
        if self._shown:
            self._shown = False
            if self._support.enabled:  # a refused `show` left nothing to clear
                self._spawn(self._set(""))

    async def _set(self, status: str) -> None:
        loading = self._loading if status else ()
        await set_status(self._client, self._support, self._channel, self._thread_ts, status, loading=loading)


async def set_status(
    client: AsyncWebClient,
    support: StatusSupport,
    channel: str,
    thread_ts: str,
    status: str,
    *,
    loading: tuple[str, ...] = (),
) -> None:
    """One `assistant.threads.setStatus` call (an empty status clears it); never raises."""
    try:
        await client.assistant_threads_setStatus(
            channel_id=channel, thread_ts=thread_ts, status=status, loading_messages=list(loading) or None
        )
    except SlackApiError as exc:
        code = exc.response.get("error") if exc.response is not None else None
        if code in _GIVE_UP_ON:
            support.enabled = False
            log.info("thread status unavailable (%s); not trying again", code)
    except Exception as exc:  # decoration only: never let it surface
        log.debug("thread status failed: %r", exc)
