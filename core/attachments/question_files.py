"""A question's files, read for the model it goes to.

The adapters hand over `RemoteFile`s; the assistant calls `QuestionFiles.read` once the
placeholder is up, so a slow download never delays the first sign of life. What comes
back is the text to add to the question, the images to send beside it, and the notices
the placeholder shows (said once, never silently).

Whether a model is sent images: `TRICKLE_VISION` (`on`, `off`, or `auto`: by the model's
name), never for a source that reads none (the embedded model), and under `auto` not for
a while (BLIND_SECONDS) for a model whose endpoint refused a request carrying them. Not
for ever: a 400 may have had another cause (a content filter on one image), and one
person's question must not take images away from everyone until a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.attachments.fetching import RemoteFile, fetch_all
from core.attachments.limits import AttachmentLimits
from core.attachments.reader import read_attachments_async
from core.attachments.vision import vision_capable

log = logging.getLogger("trickle.files")

REFUSED_IMAGES = "the model did not take the images, so they were left out"
BLIND_SECONDS = 15 * 60.0
READ_AT_ONCE = 4  # questions whose files are read at the same time, per process


@dataclass(frozen=True, slots=True)
class ReadFiles:
    """What a question's files add: text for the question, images, and notices."""

    text: str = ""  # fenced blocks, one per readable file
    images: tuple[str, ...] = ()  # data: URLs
    notices: tuple[str, ...] = ()


class QuestionFiles:
    """Reads files within `limits`, and remembers which models refused images."""

    __slots__ = ("_mode", "_source_sees", "_limits", "_blind", "_clock", "_reading")

    def __init__(
        self,
        mode: str = "auto",
        *,
        source_sees: bool = True,
        limits: AttachmentLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        at_once: int = READ_AT_ONCE,
    ) -> None:
        self._mode = mode  # TRICKLE_VISION
        self._source_sees = source_sees
        self._limits = limits or AttachmentLimits()
        self._blind: dict[str, float] = {}  # model -> until when it is sent no images
        self._clock = clock
        self._reading = asyncio.Semaphore(at_once)

    def __repr__(self) -> str:
        return f"<QuestionFiles vision={self._mode} blind={sorted(self._blind)}>"

    def sees(self, model: str) -> bool:
        """Whether `model` is sent image parts."""
        if not self._source_sees or self._mode == "off":
            return False
        if self._mode == "on":
            return True
        return self._blind.get(model, float("-inf")) <= self._clock() and vision_capable(model)

    def refused(self, model: str) -> bool:
        """The endpoint refused a request with images: True if it is worth asking again
        without them (under `auto`, remembered for the model); False under `on`."""
        if self._mode != "auto":
            return False
        if self.sees(model):
            log.warning("model %r refused a request with images; sending it none for %g min", model, BLIND_SECONDS / 60)
        self._blind[model] = self._clock() + BLIND_SECONDS
        return True

    async def read(self, files: Sequence[RemoteFile], model: str) -> ReadFiles:
        """Download and read `files` for `model` (see the module docstring), a few
        questions' files at a time: each may hold 100 MB of downloads and decoded images."""
        async with self._reading:
            fetched = await fetch_all(files, limits=self._limits)
            prepared = await read_attachments_async(fetched, limits=self._limits, vision=self.sees(model))
        text = "\n\n".join(prepared.text_blocks)
        return ReadFiles(text, tuple(image.data_url for image in prepared.images), prepared.notices)
