"""An idle timeout between stream events, as opposed to a deadline for the whole answer.

A healthy answer can stream for minutes, so a total deadline would cut good answers short;
what signals a dead model is silence. The SDK's own read timeout is 600 s by default, far
too long for someone watching "thinking..." in a chat. This wrapper turns a gap longer
than `seconds` into a `StreamError(TIMEOUT)` and closes the inner stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from core.models import ErrorKind, Finish, StreamError, StreamEvent


async def with_idle_timeout(
    events: AsyncIterator[StreamEvent], seconds: float
) -> AsyncIterator[StreamEvent]:
    """Re-yield `events`; end with a TIMEOUT error after `seconds` without one.

    The clock restarts at every event, and also covers the wait for the first one. The
    inner iterator is always closed, including when the consumer cancels or closes us:
    an abandoned HTTP stream would otherwise hold its connection until garbage collection.
    After a `Finish` the answer is whole, so silence then (a usage chunk that never comes)
    ends the stream without an error.
    """
    finished = False
    try:
        while True:
            try:
                async with asyncio.timeout(seconds) as deadline:
                    event = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError:
                if not deadline.expired():
                    raise  # the inner stream's own TimeoutError, not our silence
                if not finished:
                    silence = f"no answer from the model for {seconds:g} s"
                    yield StreamError(ErrorKind.TIMEOUT, silence)
                return
            finished = finished or isinstance(event, Finish)
            yield event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
