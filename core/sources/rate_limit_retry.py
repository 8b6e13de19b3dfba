"""When to try a rate-limited model request again: the 429 retry policy of `OpenAISource`.

The SDK's own retry is switched off (`build_openai_client` sets `max_retries=0`): it
waits silently inside `create()`, so nobody can tell the user "waiting for the model", and
it ignores a Retry-After over 120 s. The decisions live here as plain functions, so every
Retry-After a server sends is a one-line test; the source runs the loop and yields each
wait as `Waiting(seconds)`.
"""

from __future__ import annotations

import openai

FIRST_BACKOFF = 1.0  # seconds before the first retry of a 429 without Retry-After; doubles
_MIN_WAIT = 0.1


def rate_limit_wait(retry_after: float | None, *, remaining: float, backoff: float) -> float | None:
    """How long to wait after a 429 before trying again, or None to give up now.

    A Retry-After past the deadline means giving up at once: the server has said that
    waiting less is pointless. Without one, the backoff is clamped so the last try lands
    on the deadline. The floor stops a `Retry-After: 0` from hammering the server.
    """
    if retry_after is not None:
        wait = max(retry_after, _MIN_WAIT)
        return wait if wait <= remaining else None
    if remaining < _MIN_WAIT:
        return None
    return min(backoff, remaining)


def retry_after(err: openai.APIStatusError) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds); None when absent or a date."""
    headers = err.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP date: fall back to backoff rather than trust two clocks
        if seconds >= 0:
            return seconds
    return None
