"""What the embedded model's output becomes on the loop's side: events, or one failure.

llama's chat chunks are plain dicts in the OpenAI shape, so they are read by the same
`ChunkReader` as a server's; llama's exceptions become a fixed `StreamError`, their words
going to the `trickle.model` log only, as the endpoint source does with a server's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

from core.models import ErrorKind, StreamError, StreamEvent
from core.sources.chunks import ChunkReader
from core.sources.failures import classify
from core.sources.local_generation import GenerationEnd, GenerationFailed, GenerationItem
from core.sources.local_model import LOCAL_MODEL

# llama's own words when it fails; chat shows only a fixed notice (see OpenAISource).
_model_log = logging.getLogger("trickle.model")


async def llama_events(
    queue: asyncio.Queue[GenerationItem], *, limit: int | None = None
) -> AsyncGenerator[StreamEvent, None]:
    """Turn llama's chat chunks (plain dicts, OpenAI-shaped) into events.

    They are read by the same `ChunkReader` as a server's; `limit` is the `max_tokens`
    sent, named by a `length` finish for its notice.
    """
    reader = ChunkReader(limit=limit)
    while True:
        item = await queue.get()
        if isinstance(item, GenerationEnd):
            break
        if isinstance(item, GenerationFailed):
            yield llama_failure(item.error)
            return
        for event in reader.read(item):
            yield event
    if not reader.finished:
        for event in reader.end():
            yield event
        yield StreamError(ErrorKind.LOST, "the embedded model stopped without finishing")


def llama_failure(err: BaseException) -> StreamError:
    """llama's exception as a fixed failure; its words go to the log.

    llama-cpp-python refuses a prompt past `n_ctx` with "Requested tokens (N) exceed
    context window of M", which `classify` reads as a context failure.
    """
    words = " ".join(str(err).split()) or type(err).__name__
    _model_log.warning("the embedded model failed: %s", words)
    return classify(None, words, model=LOCAL_MODEL)
