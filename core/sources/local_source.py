"""The embedded model: SmolLM2-135M-Instruct, run in-process with llama-cpp-python.

It lets trickle answer with no API key and no server, which makes a first run and the
demo work anywhere. llama.cpp computes synchronously and is not re-entrant, so each
generation runs in its own thread (`core.sources.local_generation`) and hands chunks to
the event loop through an `asyncio.Queue`: the loop never waits on the model, and other
answers keep streaming. One generation runs at a time per model; the others queue
behind a lock.

`llama_cpp` is imported only when the model is first loaded, so this module imports
fine without the `local` extra, and a missing extra (`core.sources.local_model`) becomes
a `StreamError(CONFIG)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from core.models import ChatMessage, ErrorKind, StreamError, StreamEvent
from core.sources.chunks import wire_message
from core.sources.idle import with_idle_timeout
from core.sources.local_events import llama_events, llama_failure
from core.sources.local_generation import Generation
from core.sources.local_model import MISSING_EXTRA, MissingExtra, find_model_path

if TYPE_CHECKING:
    from llama_cpp import Llama

# Why the embedded model could not load; chat shows only a fixed notice (see OpenAISource).
_model_log = logging.getLogger("trickle.model")


class LocalSource:
    """Streams answers from the embedded SmolLM2 model, loaded on first use.

    `model` in `stream()` is ignored: there is one embedded model. The repeat penalty
    matters: without it this small model loops on its own phrases. It reads no images.
    """

    sees_images = False  # whatever TRICKLE_MODEL says: images are left out, with a notice

    __slots__ = (
        "_model_path",
        "_max_tokens",
        "_temperature",
        "_repeat_penalty",
        "_n_ctx",
        "_n_threads",
        "_idle_timeout",
        "_loading",
        "_lock",
        "_current",
    )

    def __init__(
        self,
        *,
        model_path: str | None = None,
        max_tokens: int = 512,
        temperature: float | None = None,
        repeat_penalty: float = 1.3,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        idle_timeout: float = 60.0,
    ) -> None:
        self._model_path = model_path
        self._max_tokens = max_tokens
        # Unset means this model's own default, not None (llama.cpp needs a number).
        self._temperature = 0.6 if temperature is None else temperature
        self._repeat_penalty = repeat_penalty
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._idle_timeout = idle_timeout
        self._loading: asyncio.Future[Llama] | None = None
        self._lock = asyncio.Lock()
        self._current: Generation | None = None

    def __repr__(self) -> str:
        if self._loading is None:
            state = "unloaded"
        else:
            state = "loaded" if self._loading.done() else "loading"
        return f"<LocalSource {state} busy={self._lock.locked()} max_tokens={self._max_tokens}>"

    def stream(self, messages: Sequence[ChatMessage], *, model: str | None = None) -> AsyncIterator[StreamEvent]:
        """Stream the answer; failures arrive as a final `StreamError`, never raised."""
        return with_idle_timeout(self._generate(messages), self._idle_timeout)

    async def aclose(self) -> None:
        """Stop the running generation, wait for its thread, and free the model."""
        if self._current is not None:
            self._current.stop.set()
        loading, self._loading = self._loading, None
        if loading is None:
            return
        try:
            llama = await loading
        except Exception:
            return
        async with self._lock:
            await asyncio.to_thread(llama.close)

    async def _model(self) -> Llama:
        """Load once, in a worker thread; shielded so one cancelled caller cannot abort it."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._load))
        loading = self._loading
        try:
            return await asyncio.shield(loading)
        except Exception:
            if loading.done() and self._loading is loading:
                self._loading = None  # let the next request try again
            raise

    def _load(self) -> Llama:
        try:
            import llama_cpp
        except ImportError as err:
            raise MissingExtra(MISSING_EXTRA) from err
        path = self._model_path or find_model_path()
        return llama_cpp.Llama(model_path=path, n_ctx=self._n_ctx, n_threads=self._n_threads, verbose=False)

    async def _generate(self, messages: Sequence[ChatMessage]) -> AsyncIterator[StreamEvent]:
        try:
            llama = await self._model()
        except MissingExtra as err:
            yield StreamError(ErrorKind.CONFIG, str(err))
            return
        except Exception as err:
            _model_log.warning("could not load the embedded model: %s", err)
            yield StreamError(ErrorKind.CONFIG, "the embedded model could not be loaded — see the log")
            return
        await self._lock.acquire()
        run = Generation(asyncio.get_running_loop())
        self._current = run
        started = False
        try:
            run.start(llama, [wire_message(m, images=False) for m in messages], self._params())
            started = True
            async with aclosing(llama_events(run.queue, limit=self._max_tokens)) as events:
                async for event in events:
                    yield event
        except Exception as err:
            yield llama_failure(err)
        finally:
            run.stop.set()
            if self._current is run:
                self._current = None
            # The lock guards llama itself, so it is released when the thread has left
            # it, not when this consumer leaves: a cancelled answer returns at once.
            if started and not run.done.done():
                run.done.add_done_callback(_releaser(self._lock))
            else:
                self._lock.release()

    def _params(self) -> dict[str, Any]:
        return {
            "max_tokens": self._max_tokens,
            "temperature": self._temperature,
            "repeat_penalty": self._repeat_penalty,
        }


def _releaser(lock: asyncio.Lock) -> Callable[[asyncio.Future[None]], None]:
    def release(_: asyncio.Future[None]) -> None:
        lock.release()

    return release
