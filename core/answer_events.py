"""The events one answer's relay reads: what was cut said first, the turn waited for,
then the model's stream.

In order: the model's name when it is not the default (the final text is exactly the
model's, so no footer can say it: the placeholder does, until the first words); the
question's files read and what was left out of them or of the history (a notice, said
before the words); the asker's and then the model's slot waited for, each wait said
("queued…"); and the source's stream, asked again without images when the endpoint
refused them before writing anything (TRICKLE_VISION=auto, see `QuestionFiles`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace

from core.attachments.question_files import REFUSED_IMAGES, QuestionFiles
from core.conversation.context import Fitted
from core.conversation.history import TRIMMED_STATUS
from core.conversation.prompt import PromptBuilder, tally
from core.models import ChatMessage, ErrorKind, StreamError, StreamEvent, TextDelta, Waiting
from core.question import Question
from core.quotas.local import Slots
from core.quotas.shared import PersonQuotas
from core.quotas.shared_slots import Place
from core.sources.base import CompletionSource

__all__ = ["AnswerEvents", "ModelCall"]

log = logging.getLogger("trickle.assistant")


@dataclass(slots=True)
class ModelCall:
    """What one answer sent the model, once it did: usage is estimated from it when the
    endpoint reports none."""

    messages: list[ChatMessage] | None = None


class AnswerEvents:
    """Builds the event stream of each answer of one process (see the module docstring)."""

    __slots__ = ("_source", "_prompts", "_files", "_quotas", "_model_slots", "_default_model")

    def __init__(
        self,
        *,
        source: CompletionSource,
        prompts: PromptBuilder,
        files: QuestionFiles,
        quotas: PersonQuotas,
        model_slots: Slots,
        default_model: str,
    ) -> None:
        self._source = source
        self._prompts = prompts
        self._files = files
        self._quotas = quotas
        self._model_slots = model_slots
        self._default_model = default_model

    def __repr__(self) -> str:
        return f"<AnswerEvents model={self._default_model!r} {self._model_slots!r}>"

    async def stream(
        self, fitted: Fitted, question: Question, *, place: Place | None = None, call: ModelCall | None = None
    ) -> AsyncIterator[StreamEvent]:
        """The events of the answer to `question`, whose conversation is `fitted`."""
        if question.model and question.model != self._default_model:
            yield Waiting(0.0, why=f"answering with {question.model}")
        messages = fitted.messages
        notices = [TRIMMED_STATUS] if fitted.trimmed else []
        if question.files:
            count = len(question.files)
            yield Waiting(0.0, why="reading the attached file" if count == 1 else f"reading {count} attached files")
            read = await self._files.read(question.files, question.model or self._default_model)
            messages, notices, redacted = self._prompts.with_files(question, fitted, read)
            if redacted:  # the whole question's count, files included (see `Assistant.answer`)
                log.info("redacted before sending: %s", tally(redacted))
        if notices:
            yield Waiting(0.0, why="; ".join(notices), notice=True)
        # The person's slot is taken in a task of its own, so that an answer which has to
        # wait for it can say "queued" while it waits: asking first would race, since
        # questions that arrive together all find a slot free before any takes it.
        waits = asyncio.Event()
        holding = self._quotas.slots.hold(question.asker.id, place, on_wait=waits.set)
        entering = asyncio.ensure_future(holding.__aenter__())
        try:
            told = asyncio.ensure_future(waits.wait())
            try:
                await asyncio.wait({entering, told}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                told.cancel()
            if not entering.done():
                yield Waiting(0.0, why="queued behind your previous question")
            await entering
        except BaseException:
            await _abandon(entering, holding)
            raise
        try:
            if self._model_slots.full("model"):
                yield Waiting(0.0, why="queued: the model is busy")
            async with self._model_slots.hold("model"):
                if call is not None:
                    call.messages = messages
                async for event in self._streamed(messages, question.model):
                    yield event
        finally:
            await holding.__aexit__(None, None, None)

    async def _streamed(self, messages: list[ChatMessage], model: str | None) -> AsyncIterator[StreamEvent]:
        while True:
            stream = self._source.stream(messages, model=model)
            refused = False
            texted = False
            try:
                async for event in stream:
                    if (
                        isinstance(event, StreamError)
                        and event.kind is ErrorKind.REQUEST
                        and not texted
                        and messages[-1].images
                        and self._files.refused(model or self._default_model)
                    ):
                        refused = True
                        break
                    texted = texted or isinstance(event, TextDelta)
                    yield event
            finally:
                closer = getattr(stream, "aclose", None)
                if closer is not None:
                    await closer()
            if not refused:
                return
            yield Waiting(0.0, why=REFUSED_IMAGES, notice=True)
            messages = [*messages[:-1], replace(messages[-1], images=())]


async def _abandon(entering: asyncio.Future[None], holding: AbstractAsyncContextManager[None]) -> None:
    """Stop waiting for a slot; if it was granted after all, give it straight back."""
    if not entering.done():
        entering.cancel()
        await asyncio.wait({entering})
    if not entering.cancelled() and entering.exception() is None:
        await holding.__aexit__(None, None, None)
