"""One generation of the embedded model, run in its own thread.

llama.cpp computes synchronously and is not re-entrant, so each generation runs in its
own thread and hands chunks to the event loop through an `asyncio.Queue`: the loop never
waits on the model, and other answers keep streaming. What the queue's items become on
the loop's side is `core.sources.local_events`' job; `LocalSource` runs one generation
at a time per model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_types import ChatCompletionRequestMessage


@dataclass(frozen=True, slots=True)
class GenerationEnd:
    """The generator thread ran out of chunks (or was stopped)."""


@dataclass(frozen=True, slots=True)
class GenerationFailed:
    """The generator thread raised; the loop side turns this into a StreamError."""

    error: BaseException


GenerationItem = Mapping[str, Any] | GenerationEnd | GenerationFailed  # a llama chat chunk, or how the thread ended


class Generation:
    """One generation's thread, its stop flag, and the queue it feeds.

    The thread checks `stop` before each chunk and closes llama's generator itself (a
    generator can only be closed from the thread running it). `done` resolves on the loop
    when the thread has truly left llama, which is when the next generation may start.
    """

    __slots__ = ("queue", "stop", "done", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.queue: asyncio.Queue[GenerationItem] = asyncio.Queue()
        self.stop = threading.Event()
        self.done: asyncio.Future[None] = loop.create_future()

    def __repr__(self) -> str:
        state = f"queued={self.queue.qsize()} stop={self.stop.is_set()} done={self.done.done()}"
        return f"<Generation {state}>"

    def start(self, llama: Llama, messages: list[dict[str, str]], params: dict[str, Any]) -> None:
        threading.Thread(target=self._run, args=(llama, messages, params), name="trickle-llama", daemon=True).start()

    def _emit(self, item: GenerationItem) -> None:
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.stop.set()

    def _finish(self) -> None:
        try:
            self._loop.call_soon_threadsafe(_resolve, self.done)
        except RuntimeError:
            pass

    def _run(self, llama: Llama, messages: list[dict[str, str]], params: dict[str, Any]) -> None:
        chunks: Any = None
        try:
            # `wire_message`'s dicts are the OpenAI shape that llama's TypedDicts spell out.
            wire = cast("list[ChatCompletionRequestMessage]", messages)
            chunks = llama.create_chat_completion(messages=wire, stream=True, **params)
            for chunk in chunks:
                if self.stop.is_set():
                    break
                self._emit(chunk)
            self._emit(GenerationEnd())
        except Exception as err:
            self._emit(GenerationFailed(err))
        finally:
            if chunks is not None:
                chunks.close()
            self._finish()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
