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

Its parts: the question (`core.question`), the conversation sent (`core.conversation.prompt`),
the events an answer reads (`core.answer_events`), the answers running and who may stop
them (`core.stops`), and every answer's task (`core.answer_tasks`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from core.answer_events import AnswerEvents, ModelCall
from core.answer_tasks import AnswerTasks
from core.attachments.question_files import QuestionFiles
from core.conversation.context import Fitted
from core.conversation.prompt import PromptBuilder, tally
from core.models import EndReason, Outcome
from core.notices import QUESTION_TOO_LONG
from core.observer import NullObserver, RelayObserver
from core.question import Admission, Asker, Question, new_answer_id, queue_full
from core.quotas.local import Slots
from core.quotas.shared import PersonQuotas
from core.relay.answer import Answer
from core.relay.config import RelayConfig
from core.settings import CoreSettings
from core.sources.base import CompletionSource
from core.state.inflight import Inflight
from core.stops import RunningAnswers, StopResult
from core.surface import Ref, Surface
from core.team.channel_prefs import ChannelPrefs
from core.team.usage import UsageLedger, count_answer

log = logging.getLogger("trickle.assistant")

COUNT_TIMEOUT = 2.0  # seconds an answer's usage may take to count before it is given up


@dataclass(slots=True)
class Assistant:
    """Runs answers for one process; see the module docstring."""

    source: CompletionSource
    settings: CoreSettings
    relay_config: RelayConfig | None = None
    inflight: Inflight | None = None
    prefs: ChannelPrefs | None = None
    usage: UsageLedger | None = None
    tasks: AnswerTasks = field(default_factory=AnswerTasks)
    running: RunningAnswers = field(init=False)
    quotas: PersonQuotas = field(init=False)
    _prompts: PromptBuilder = field(init=False)
    _events: AnswerEvents = field(init=False)

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
        self.running = RunningAnswers(admins=self.settings.admins, inflight=self.inflight)
        self._prompts = PromptBuilder(self.settings)
        self._events = AnswerEvents(
            source=self.source,
            prompts=self._prompts,
            files=QuestionFiles(self.settings.vision, source_sees=getattr(self.source, "sees_images", True)),
            quotas=self.quotas,
            model_slots=Slots(self.settings.model_concurrency),
            default_model=self.settings.model,
        )

    @property
    def active(self) -> int:
        """Answers streaming right now."""
        return len(self.running)

    def fit(self, question: Question) -> Fitted:
        """The conversation cut to TRICKLE_HISTORY_TOKENS and to the model's context."""
        return self._prompts.fit(question)[0]

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
        fitted, redacted = self._prompts.fit(question)
        if redacted and not question.files:  # with files, `AnswerEvents` counts it all once
            log.info("redacted before sending: %s", tally(redacted), extra={"answer_id": answer_id})
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
        call = ModelCall()
        events = self._events.stream(fitted, question, place=admission.place, call=call)
        answer: Answer[Ref] = Answer(
            surface,
            events,
            config=self.relay_config,
            observer=observer or NullObserver(),
            answer_id=answer_id,
            on_page=None
            if self.inflight is None
            else self.inflight.page_recorder(answer_id, surface, question.asker.id),
            person=question.asker.id,
        )
        # Decided before it began, the answer is one message: the notice (see the relay).
        if self.tasks.closing:
            answer.abort(EndReason.INTERRUPTED)
        elif admission.refusal is not None:
            answer.abort(EndReason.REFUSED, admission.refusal)
        self.tasks.adopt(asyncio.current_task())
        self.running.add(answer_id, answer, question.asker)
        cut = False
        try:
            outcome = await answer.run()
        except asyncio.CancelledError:
            cut = not answer.settled
            raise
        finally:
            # An answer cut by the shutdown deadline before its final keeps its record:
            # a replica or the next start finishes its message.
            if self.inflight is not None and not cut:
                await self.inflight.done(answer_id)
            self.running.remove(answer_id)
        await self._count_usage(question, call, outcome, answer_id)
        return outcome

    async def _count_usage(self, question: Question, call: ModelCall, outcome: Outcome, answer_id: str) -> None:
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

    def stop(self, answer_id: str, *, by: Asker) -> StopResult:
        """Stop an answer if `by` asked it or is an admin (see `core.stops`)."""
        return self.running.stop(answer_id, by=by)

    async def stop_anywhere(self, answer_id: str, *, by: Asker) -> StopResult:
        """`stop`, for an answer that may be running on another replica."""
        return await self.running.stop_anywhere(answer_id, by=by)

    async def watch_stops(self, stopping: asyncio.Event, *, every: float = 0.5) -> None:
        """Act on stops asked on other replicas for this process's answers."""
        await self.running.watch_stops(stopping, every=every)

    def abort(self, answer_id: str, end: EndReason, detail: str = "") -> bool:
        """End a running answer with `end`'s notice, keeping its text (e.g. a private
        Discord answer whose interaction token is about to expire). False if not running."""
        return self.running.abort(answer_id, end, detail)

    def asker_of(self, answer_id: str) -> Asker | None:
        return self.running.asker_of(answer_id)

    def spawn(self, work: Coroutine[Any, Any, object], *, name: str | None = None) -> asyncio.Task[None] | None:
        """Run an adapter's handling of one question (reading, posting, answering) as a
        task the assistant owns: shutdown waits for it, and a bug in it is logged. None
        once the shutdown drain is over (see `AnswerTasks`)."""
        return self.tasks.spawn(work, name=name)

    async def drain(self, deadline: float) -> None:
        """Stop taking work; let every answer's task finish within `deadline` s, ending
        the answers still streaming with the interrupted notice in its last third."""
        cut = await self.tasks.drain(deadline, self.running.interrupt_all)
        if cut:  # left to the in-flight registry's recovery on the next start
            log.warning("%d answer(s) did not write their final before the shutdown deadline", cut)
