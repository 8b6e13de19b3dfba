"""What every platform adapter shares: a question in, a streamed answer out.

Adapters turn platform events into a `Question` and a surface; the assistant builds the
conversation the model sees, runs the relay, remembers which answers are in flight (for
Stop, and for finishing them all on shutdown) and enforces per-person concurrency.

Whether a question is answered at all (`admit`) is settled before anything is posted, so
a refusal is one message carrying its notice, not a placeholder and an edit drawn from
the budget everyone's answers share.

Two optional companions, built by the entry point and passed in: `prefs`
(core/team/channel_prefs.py: a channel's own model and system prompt, applied to each question
before it is fitted) and `usage` (core/team/usage.py: each answer's tokens counted per person
and channel once its final text is written).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any

from core.answer_tasks import AnswerTasks
from core.conversation.context import Fitted, answer_cap, context_tokens, fit_conversation
from core.conversation.history import TRIMMED_STATUS
from core.state.inflight import Inflight
from core.attachments.fetching import RemoteFile
from core.attachments.question_files import REFUSED_IMAGES, QuestionFiles
from core.team.channel_prefs import ChannelPrefs
from core.models import ChatMessage, EndReason, ErrorKind, Outcome, StreamError, StreamEvent, TextDelta, Waiting
from core.notices import QUESTION_TOO_LONG, without_notice
from core.quotas.local import Slots
from core.privacy.redaction import Redactor
from core.quotas.shared import PersonQuotas, Place
from core.observer import NullObserver, RelayObserver
from core.relay.answer import Answer, RelayConfig
from core.settings import CoreSettings
from core.sources.base import CompletionSource
from core.surface import Locatable, LocatableBeforePost, Ref, Surface
from core.team.usage import UsageLedger, count_answer

log = logging.getLogger("trickle.assistant")

USAGE_HINT = "Ask me something after the mention, e.g. “@trickle what is a monad?”"


def new_answer_id() -> str:
    """A short unique id naming one answer in logs, buttons and state."""
    return uuid.uuid4().hex[:12]


def is_blank(text: str) -> bool:
    """A question with nothing to answer (only spaces, or nothing at all)."""
    return not text.strip()


@dataclass(frozen=True, slots=True)
class Asker:
    """The person who asked, as the platform names them."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Question:
    """One request for an answer, platform-neutral."""

    text: str
    asker: Asker
    history: Sequence[ChatMessage] = ()
    model: str | None = None
    place: str = ""
    # A summary reads the whole conversation: only the model's context bounds its
    # history, not TRICKLE_HISTORY_TOKENS (which keeps ordinary follow-ups cheap).
    whole_history: bool = False
    # Files attached to the question, downloaded and read once the placeholder is up.
    files: Sequence[RemoteFile] = ()
    # Instead of TRICKLE_SYSTEM_PROMPT (None: that one); `Assistant.with_channel_prefs`
    # fills it in from the channel's prefs.
    system_prompt: str | None = None


@dataclass(slots=True)
class Admission:
    """A question let in, holding its `place` in the asker's queue, or refused and why.

    Adapters that must decide something before the answer begins (Discord's `/ask`:
    a private refusal needs no deferral) ask `Assistant.admit` themselves and hand the
    admission to `answer`; whoever holds one that never reaches `answer` calls `release`.
    """

    refusal: str | None = None
    place: Place | None = None


def _tally(redacted: Counter[str]) -> str:
    """What TRICKLE_REDACT took out, as counts only: what was taken must not reach the log."""
    return ", ".join(f"{n} {kind}" for kind, n in sorted(redacted.items()))


COUNT_TIMEOUT = 2.0  # seconds an answer's usage may take to count before it is given up

def about_files(count: int) -> str:
    """The question asked by files shared without a word."""
    return "What is in the attached file?" if count == 1 else "What is in the attached files?"


def queue_full(waiting: int) -> str:
    """Why a question is refused when its asker's queue is full."""
    if waiting <= 0:
        return "your previous question is still being answered — ask again when it is done"
    plural = "s" if waiting > 1 else ""
    return f"you already have {waiting} question{plural} waiting — ask again when one is answered"


class StopResult(enum.Enum):
    STOPPED = "stopped"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"


@dataclass(slots=True)
class _Call:
    """What one answer sent the model, once it did: usage is estimated from it when the
    endpoint reports none."""

    messages: list[ChatMessage] | None = None


@dataclass(slots=True)
class _Running:
    answer: Answer[object]
    asker: Asker


@dataclass(slots=True)
class Assistant:
    """Runs answers for one process; see the module docstring."""

    source: CompletionSource
    settings: CoreSettings
    relay_config: RelayConfig | None = None
    inflight: Inflight | None = None
    prefs: ChannelPrefs | None = None
    usage: UsageLedger | None = None
    _running: dict[str, _Running] = field(default_factory=dict)
    tasks: AnswerTasks = field(default_factory=AnswerTasks)
    quotas: PersonQuotas = field(init=False)
    _model_slots: Slots = field(init=False)
    _redactor: Redactor = field(init=False)
    _files: QuestionFiles = field(init=False)

    def __post_init__(self) -> None:
        if self.relay_config is None:
            self.relay_config = RelayConfig(interval=self.settings.edit_interval)
        # Per person: shared by the replicas when the state is. Model calls: per process,
        # because that limit protects this process.
        state = self.inflight.state if self.inflight is not None else None
        self.quotas = PersonQuotas(
            concurrency=self.settings.user_concurrency,
            person_rpm=self.settings.user_rpm,
            place_rpm=self.settings.channel_rpm,
            remote=state.quotas() if state is not None else None,
            lease=self.settings.heartbeat_interval * 3,  # renewed every beat by `run_upkeep`
            queue=self.settings.user_queue,
        )
        self._model_slots = Slots(self.settings.model_concurrency)
        self._redactor = Redactor(self.settings.redact)
        self._files = QuestionFiles(self.settings.vision, source_sees=getattr(self.source, "sees_images", True))

    @property
    def active(self) -> int:
        """Answers streaming right now."""
        return len(self._running)

    def messages_for(self, question: Question) -> tuple[list[ChatMessage], bool]:
        """The conversation the model sees, and whether anything had to be cut."""
        fitted = self.fit(question)
        return fitted.messages, fitted.trimmed

    def fit(self, question: Question) -> Fitted:
        """The conversation cut to TRICKLE_HISTORY_TOKENS and to the model's context."""
        return self._fit(question)[0]

    def _fit(self, question: Question) -> tuple[Fitted, Counter[str]]:
        """`fit`, and how many of each kind TRICKLE_REDACT took out of the question and
        history. Redacted before cutting, so the context is measured on what is sent; the
        system prompt (the operator's, or the channel's) is sent as written."""
        redacted: Counter[str] = Counter()
        past = [self._sendable(m, redacted) for m in question.history]
        text, found = self._redactor.redact_counting(question.text)
        redacted.update(found)
        fitted = fit_conversation(
            question.system_prompt or self.settings.system_prompt,
            past,
            text,
            history_tokens=None if question.whole_history else self.settings.history_tokens,
            context=context_tokens(self.settings),
            answer=answer_cap(self.settings),
        )
        return fitted, redacted

    def _sendable(self, message: ChatMessage, redacted: Counter[str]) -> ChatMessage:
        """A past message as the model reads it: an answer without its notice, and text
        redacted. Content that is not text (image parts) is left as it is."""
        content = message.content
        if not isinstance(content, str):
            return message
        if message.role == "assistant":
            content = without_notice(content)
        content, found = self._redactor.redact_counting(content)
        redacted.update(found)
        return message if content == message.content else ChatMessage(message.role, content, message.name)

    async def admit(self, question: Question, *, fitted: Fitted | None = None) -> Admission:
        """Let `question` in (counted in its asker's queue from now) or say why not.

        A question too long for the context is refused before it spends any quota; the
        request rates come before the queue, so a refused question holds no place.
        """
        if (fitted or self.fit(question)).too_long:
            return Admission(QUESTION_TOO_LONG)
        if not await self.quotas.person_rate.allow(question.asker.id):
            return Admission("you are asking faster than the limit allows — try again in a minute")
        if question.place and not await self.quotas.place_rate.allow(question.place):
            return Admission("this channel is asking faster than the limit allows — try again in a minute")
        place = await self.quotas.slots.enter(question.asker.id)
        if place is None:
            return Admission(queue_full(self.quotas.slots.queue))
        return Admission(place=place)

    async def release(self, admission: Admission) -> None:
        """Give back an admission's place in the queue (safe twice; `answer` does it)."""
        if admission.place is not None:
            await self.quotas.slots.leave(admission.place)

    async def with_channel_prefs(self, question: Question) -> Question:
        """`question` with its channel's model (unless it names its own) and system
        prompt, from `prefs`; as it was when there are none or they cannot be read.

        `answer` does this itself; an adapter that calls `admit` or `fit` first may call
        it before, so that those measure the prompt the model will be sent.
        """
        if self.prefs is None or not question.place:
            return question
        try:
            prefs = await self.prefs.get(question.place)
        except Exception:  # the store away: the operator's defaults still answer
            log.warning("could not read the settings of %s", question.place, exc_info=True)
            return question
        if prefs.empty:
            return question
        return replace(
            question,
            model=question.model or prefs.model,
            system_prompt=question.system_prompt or prefs.system_prompt,
        )

    async def _queued(
        self, fitted: Fitted, question: Question, *, place: Place | None = None, call: _Call | None = None
    ) -> AsyncIterator[StreamEvent]:
        """The model stream, once the question's files are read and the asker and the
        model have a free slot.

        What was cut to fit (history, files) is said in the placeholder until the answer
        starts: the final text must stay exactly the model's, so the notice lives there.
        """
        if question.model and question.model != self.settings.model:
            # The final text is exactly the model's, so no footer can say this: the
            # placeholder does, until the first words replace it.
            yield Waiting(0.0, why=f"answering with {question.model}")
        messages = fitted.messages
        notices = [TRIMMED_STATUS] if fitted.trimmed else []
        if question.files:
            count = len(question.files)
            yield Waiting(0.0, why="reading the attached file" if count == 1 else f"reading {count} attached files")
            messages, notices = await self._with_files(question, fitted)
        if notices:
            yield Waiting(0.0, why="; ".join(notices), notice=True)
        # The person's slot is taken in a task of its own, so that an answer which has to
        # wait for it can say "queued" while it waits: asking first would race, since
        # questions that arrive together all find a slot free before any takes it.
        waits = asyncio.Event()
        holding = self.quotas.slots.hold(question.asker.id, place, on_wait=waits.set)
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

    async def _with_files(self, question: Question, fitted: Fitted) -> tuple[list[ChatMessage], list[str]]:
        """The conversation with the question's files in it, and what to say was cut.

        File text joins the question (so it is redacted and fitted like the question);
        images ride on the question's message. Files that would not fit the context even
        with no history at all are left out, and that is said.
        """
        read = await self._files.read(question.files, question.model or self.settings.model)
        notices = list(read.notices)
        text = f"{question.text}\n\n{read.text}" if read.text else question.text
        with_files, redacted = self._fit(replace(question, text=text, files=()))
        if with_files.too_long:
            notices.append("the files were too long for the model's context, so they were left out")
            with_files = fitted
        elif redacted:  # the whole question's count, files included (see `answer`)
            log.info("redacted before sending: %s", _tally(redacted))
        messages = list(with_files.messages)
        if read.images and not with_files.too_long:
            messages[-1] = replace(messages[-1], images=read.images)
        if with_files.trimmed:
            notices.append(TRIMMED_STATUS)
        return messages, notices

    async def _streamed(self, messages: list[ChatMessage], model: str | None) -> AsyncIterator[StreamEvent]:
        """The source's stream; asked again without images when the endpoint refused
        them before writing anything (TRICKLE_VISION=auto, see `QuestionFiles`)."""
        while True:
            stream = self.source.stream(messages, model=model)
            refused = False
            texted = False
            try:
                async for event in stream:
                    if (
                        isinstance(event, StreamError)
                        and event.kind is ErrorKind.REQUEST
                        and not texted
                        and messages[-1].images
                        and self._files.refused(model or self.settings.model)
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

    async def answer(
        self,
        surface: Surface[Ref],
        question: Question,
        *,
        answer_id: str | None = None,
        observer: RelayObserver | None = None,
        admission: Admission | None = None,
    ) -> Outcome:
        """Stream the answer to `question` into `surface` and return how it ended.

        `admission` is `admit`'s verdict when the adapter asked already; else it is
        asked here. Its place in the queue is given back however the answer ends. The
        channel's prefs apply (`with_channel_prefs`), and the answer's tokens are counted
        in `usage` once its final text is written.
        """
        answer_id = answer_id or new_answer_id()
        question = await self.with_channel_prefs(question)
        fitted, redacted = self._fit(question)
        if redacted and not question.files:  # with files, `_with_files` counts it all once
            log.info("redacted before sending: %s", _tally(redacted), extra={"answer_id": answer_id})
        if admission is None:
            admission = Admission() if self.tasks.closing else await self.admit(question, fitted=fitted)
        try:
            return await self._run(surface, question, fitted, admission, answer_id, observer)
        finally:
            await self.release(admission)

    async def _run(
        self,
        surface: Surface[Ref],
        question: Question,
        fitted: Fitted,
        admission: Admission,
        answer_id: str,
        observer: RelayObserver | None,
    ) -> Outcome:
        if fitted.trimmed:
            log.info("conversation trimmed to fit the context", extra={"answer_id": answer_id})
        call = _Call()
        events = self._queued(fitted, question, place=admission.place, call=call)
        answer: Answer[Ref] = Answer(
            surface,
            events,
            config=self.relay_config,
            observer=observer or NullObserver(),
            answer_id=answer_id,
            on_page=self._page_recorder(answer_id, surface, question.asker.id),
            person=question.asker.id,
        )
        # Decided before it began, the answer is one message: the notice (see the relay).
        if self.tasks.closing:
            answer.abort(EndReason.INTERRUPTED)
        elif admission.refusal is not None:
            answer.abort(EndReason.REFUSED, admission.refusal)
        running = _Running(answer, question.asker)  # type: ignore[arg-type]
        self.tasks.adopt(asyncio.current_task())
        self._running[answer_id] = running
        try:
            outcome = await answer.run()
        finally:
            if self.inflight is not None:
                await self.inflight.done(answer_id)
            self._running.pop(answer_id, None)
        await self._count_usage(question, call, outcome, answer_id)
        return outcome

    async def _count_usage(self, question: Question, call: _Call, outcome: Outcome, answer_id: str) -> None:
        """Add the answer's tokens to the ledger: after the final text, so counting can
        never delay or change what people see; a failure to count is only logged."""
        if self.usage is None:
            return
        counted = count_answer(outcome.usage, call.messages, outcome.text)
        if counted is None:
            return
        try:
            async with asyncio.timeout(COUNT_TIMEOUT):  # a slow store must not hold the asker's slot
                await self.usage.record(place=question.place, person=question.asker.id, counted=counted)
        except Exception:
            log.warning("could not count the answer's tokens", exc_info=True, extra={"answer_id": answer_id})

    def _page_recorder(self, answer_id: str, surface: Surface[Ref], asker: str):
        """Write each open page down in the in-flight registry, if the surface can say where."""
        inflight = self.inflight
        if inflight is None or not isinstance(surface, Locatable):
            return None
        platform, locate = surface.platform, surface.locate
        if isinstance(surface, LocatableBeforePost):
            # Claimed but not yet posted: a crash now must not swallow the question.
            inflight.shown(answer_id, platform, surface.pending_location(), "", asker=asker)

        def record(index: int, ref: Ref, text: str, final: bool) -> None:
            if not final:
                inflight.shown(answer_id, platform, locate(ref), text, asker=asker)

        return record

    def stop(self, answer_id: str, *, by: Asker) -> StopResult:
        """Stop an answer if `by` asked it or is an admin."""
        running = self._running.get(answer_id)
        if running is None:
            return StopResult.NOT_FOUND
        if by.id != running.asker.id and by.id not in self.settings.admins:
            return StopResult.NOT_ALLOWED
        running.answer.stop(by=by.name)
        return StopResult.STOPPED

    async def stop_anywhere(self, answer_id: str, *, by: Asker) -> StopResult:
        """`stop`, for an answer that may be running on another replica.

        Replicas share no memory, and Slack hands a button click to whichever replica
        holds the connection it picked. The in-flight registry says who asked; the stop
        is left in shared state for the owner, whose `watch_stops` acts on it.
        """
        result = self.stop(answer_id, by=by)
        inflight = self.inflight
        if result is not StopResult.NOT_FOUND or inflight is None or not inflight.state.shared:
            return result
        record = await inflight.record_of(answer_id)
        if record is None or not await inflight.is_alive(record.owner):
            return StopResult.NOT_FOUND  # a dead owner's answer is being finished anyway
        if by.id != record.asker and by.id not in self.settings.admins:
            return StopResult.NOT_ALLOWED
        await inflight.request_stop(record, by.name)
        return StopResult.STOPPED

    async def watch_stops(self, stopping: asyncio.Event, *, every: float = 0.5) -> None:
        """Act on stops asked on other replicas for this process's answers."""
        inflight = self.inflight
        if inflight is None or not inflight.state.shared:
            return
        while not stopping.is_set():
            try:
                if self._running:
                    for answer_id, name in (await inflight.stop_requests(self._running)).items():
                        running = self._running.get(answer_id)
                        if running is not None:
                            running.answer.stop(by=name)
            except Exception:  # shared state away: local stops still work
                log.warning("could not read stop requests", exc_info=True)
            try:
                await asyncio.wait_for(stopping.wait(), timeout=every)
            except TimeoutError:
                pass

    def abort(self, answer_id: str, end: EndReason, detail: str = "") -> bool:
        """End a running answer with `end`'s notice, keeping its text (e.g. a private
        Discord answer whose interaction token is about to expire). False if not running."""
        running = self._running.get(answer_id)
        if running is None:
            return False
        running.answer.abort(end, detail)
        return True

    def asker_of(self, answer_id: str) -> Asker | None:
        running = self._running.get(answer_id)
        return running.asker if running else None

    def spawn(self, work: Coroutine[Any, Any, object], *, name: str | None = None) -> asyncio.Task[None]:
        """Run an adapter's handling of one question (reading, posting, answering) as a
        task the assistant owns: shutdown waits for it, and a bug in it is logged."""
        return self.tasks.spawn(work, name=name)

    async def drain(self, deadline: float) -> None:
        """Stop taking work; let every answer's task finish within `deadline` s, ending
        the answers still streaming with the interrupted notice in its last third."""
        cut = await self.tasks.drain(deadline, self._interrupt_all)
        if cut:  # left to the in-flight registry's recovery on the next start
            log.warning("%d answer(s) did not write their final before the shutdown deadline", cut)

    def _interrupt_all(self) -> None:
        for running in list(self._running.values()):
            running.answer.abort(EndReason.INTERRUPTED)


async def _abandon(entering: asyncio.Future[None], holding: AbstractAsyncContextManager[None]) -> None:
    """Stop waiting for a slot; if it was granted after all, give it straight back."""
    if not entering.done():
        entering.cancel()
        await asyncio.wait({entering})
    if not entering.cancelled() and entering.exception() is None:
        await holding.__aexit__(None, None, None)
