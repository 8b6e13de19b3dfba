"""What every platform adapter shares: a question in, a streamed answer out.

Adapters turn platform events into a `Question` and a surface; the assistant builds the
conversation the model sees, runs the relay, remembers which answers are in flight (for
Stop, and for finishing them all on shutdown) and enforces per-person concurrency.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from core.context import Fitted, answer_cap, context_tokens, fit_conversation
from core.history import TRIMMED_STATUS
from core.inflight import Inflight
from core.models import ChatMessage, EndReason, Outcome, StreamEvent, Waiting
from core.notices import QUESTION_TOO_LONG, without_notice
from core.quotas import Slots
from core.shared_quotas import PersonQuotas
from core.observer import NullObserver, RelayObserver
from core.relay import Answer, RelayConfig
from core.settings import Settings
from core.sources.base import CompletionSource
from core.surface import Ref, Surface

log = logging.getLogger("trickle.assistant")

FINALISE_SECONDS = 10.0  # after a drain's deadline, for the interrupted answers' finals

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


class StopResult(enum.Enum):
    STOPPED = "stopped"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"


@dataclass(slots=True)
class _Running:
    answer: Answer[object]
    asker: Asker
    task: asyncio.Task[object] | None = None


@dataclass(slots=True)
class Assistant:
    """Runs answers for one process; see the module docstring."""

    source: CompletionSource
    settings: Settings
    relay_config: RelayConfig | None = None
    inflight: Inflight | None = None
    _running: dict[str, _Running] = field(default_factory=dict)
    _closing: bool = False
    quotas: PersonQuotas = field(init=False)
    _model_slots: Slots = field(init=False)

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
        )
        self._model_slots = Slots(self.settings.model_concurrency)

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
        past = [
            ChatMessage(m.role, without_notice(m.content), m.name) if m.role == "assistant" else m
            for m in question.history
        ]
        return fit_conversation(
            self.settings.system_prompt,
            past,
            question.text,
            history_tokens=self.settings.history_tokens,
            context=context_tokens(self.settings),
            answer=answer_cap(self.settings),
        )

    async def _refusal(self, question: Question) -> str | None:
        """Why this question is refused by a rate quota, or None."""
        if not await self.quotas.person_rate.allow(question.asker.id):
            return "you are asking faster than the limit allows — try again in a minute"
        if question.place and not await self.quotas.place_rate.allow(question.place):
            return "this channel is asking faster than the limit allows — try again in a minute"
        return None

    async def _queued(
        self, messages: list[ChatMessage], question: Question, *, trimmed: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """The model stream, once the asker and the model have a free slot.

        A conversation cut to fit the context says so in the placeholder until the answer
        starts: the final text must stay exactly the model's, so the notice lives there.
        """
        if trimmed:
            yield Waiting(0.0, why=TRIMMED_STATUS)
        if await self.quotas.slots.busy(question.asker.id):
            yield Waiting(0.0, why="queued behind your previous question")
        async with self.quotas.slots.hold(question.asker.id):
            if self._model_slots.full("model"):
                yield Waiting(0.0, why="queued: the model is busy")
            async with self._model_slots.hold("model"):
                stream = self.source.stream(messages, model=question.model)
                try:
                    async for event in stream:
                        yield event
                finally:
                    closer = getattr(stream, "aclose", None)
                    if closer is not None:
                        await closer()

    async def answer(
        self,
        surface: Surface[Ref],
        question: Question,
        *,
        answer_id: str | None = None,
        observer: RelayObserver | None = None,
    ) -> Outcome:
        """Stream the answer to `question` into `surface` and return how it ended."""
        answer_id = answer_id or new_answer_id()
        fitted = self.fit(question)
        messages, trimmed = fitted.messages, fitted.trimmed
        if trimmed:
            log.info("conversation trimmed to fit the context", extra={"answer_id": answer_id})
        events = self._queued(messages, question, trimmed=trimmed)
        answer: Answer[Ref] = Answer(
            surface,
            events,
            config=self.relay_config,
            observer=observer or NullObserver(),
            answer_id=answer_id,
            on_page=self._page_recorder(answer_id, surface, question.asker.id),
        )
        # A question too long for the context is refused before it spends any quota.
        refusal = QUESTION_TOO_LONG if fitted.too_long else await self._refusal(question)
        if self._closing:
            answer.abort(EndReason.INTERRUPTED)
        elif refusal is not None:
            answer.abort(EndReason.REFUSED, refusal)
        running = _Running(answer, question.asker, asyncio.current_task())  # type: ignore[arg-type]
        self._running[answer_id] = running
        try:
            return await answer.run()
        finally:
            if self.inflight is not None:
                await self.inflight.done(answer_id)
            self._running.pop(answer_id, None)

    def _page_recorder(self, answer_id: str, surface: Surface[Ref], asker: str):
        """Write each open page down in the in-flight registry, if the surface can say where."""
        inflight = self.inflight
        locate = getattr(surface, "locate", None)
        if inflight is None or locate is None:
            return None
        platform = getattr(surface, "platform", "unknown")
        pending = getattr(surface, "pending_location", None)
        if pending is not None:
            # Claimed but not yet posted: a crash now must not swallow the question.
            inflight.shown(answer_id, platform, pending(), "", asker=asker)

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

    async def drain(self, deadline: float) -> None:
        """Stop taking work; let answers finish for `deadline` s, then interrupt the rest."""
        self._closing = True
        tasks = [r.task for r in self._running.values() if r.task is not None]
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=deadline)
        for running in list(self._running.values()):
            running.answer.abort(EndReason.INTERRUPTED)
        if pending:
            # Within a container's stop grace (45 s in docker-compose.yml) all told; a
            # final still queued then is left to the in-flight registry's recovery.
            await asyncio.wait(pending, timeout=FINALISE_SECONDS)
