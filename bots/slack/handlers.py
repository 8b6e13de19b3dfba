"""What the bot does with Slack's events and button clicks.

Bolt acknowledges every event before a listener runs, so nothing here can make Slack
wait or retry. Listeners then decide quickly (classify, de-duplicate, follow check) and
hand each answer to a task of its own, which this class keeps, so an answer outlives the
listener that started it and shutdown can finish it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.metrics import Metrics
from bots.slack import admin, messages, replies, shortcuts
from bots.slack.admin import AdminCommand
from bots.slack.budgets import SlackBudgets
from bots.slack.commands import COMMAND, AskCommand
from bots.slack.files import SlackFiles
from bots.slack.history import HISTORY_TTL, ThreadHistory, Turn, conversation, conversation_files
from bots.slack.native import NativeSupport, NativeThreadSurface
from bots.slack.pane import Pane, PaneThread
from bots.slack.people import People
from bots.slack.replies import Replies
from bots.slack.shortcuts import Shortcuts
from bots.slack.status import LOADING_MESSAGES, StatusSupport, ThreadStatus
from bots.slack.surface import FeedbackStyle, SlackThreadSurface
from bots.slack.triggers import Kind, Trigger, classify, mentioned_users, to_plain
from core.assistant import Assistant
from core.conversation.suggestions import DEFAULT_PROMPTS, SuggestedPrompt
from core.models import ChatMessage
from core.notices import with_notice
from core.observer import WriteKind
from core.question import USAGE_HINT, Asker, Question, about_files, is_blank, new_answer_id
from core.state.store import StateStore
from core.stops import StopResult
from core.team.access import AccessPolicy, Verdict

log = logging.getLogger("trickle.slack")

DEDUPE_TTL = 3600.0  # longer than Slack's last retry (about 5 minutes after the first try)
FOLLOW_TTL = 7 * 24 * 3600.0
FEEDBACK_TTL = 30 * 24 * 3600.0  # one vote per person per answer, remembered this long
CANNOT_READ = (
    "I can't read the channel you are looking at, so I answer without it. "
    "Invite me there (`/invite @trickle`) to ask about it."
)


class _SurfaceArgs(TypedDict):
    """What every thread surface of an answer is built with, whichever kind it is."""

    client: AsyncWebClient
    team: str
    channel: str
    thread_ts: str | None
    answer_id: str
    budgets: SlackBudgets
    status: ThreadStatus | None


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is in the workspace (from `auth.test`)."""

    user_id: str
    bot_id: str | None
    team: str


class SlackBot:
    """Turns Slack events into answers; one per process, built by `service.setup`."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        assistant: Assistant,
        state: StateStore,
        metrics: Metrics,
        identity: BotIdentity,
        budgets: SlackBudgets | None = None,
        native: bool = False,
        prompts: tuple[SuggestedPrompt, ...] = DEFAULT_PROMPTS,
    ) -> None:
        self.client = client
        self.assistant = assistant
        self.state = state
        self.metrics = metrics
        self.identity = identity
        self.budgets = budgets or SlackBudgets()
        self.people = People(client, state)
        self.history = ThreadHistory(client, state, self.people, bot_user_id=identity.user_id, bot_id=identity.bot_id)
        self.replies = Replies(client, self.budgets, wrote=lambda: metrics.wrote("slack", WriteKind.NOTICE))
        metrics.watch_budgets("slack", self.budgets.by_kind)
        self.status_support = StatusSupport()
        self.files = SlackFiles(client.session, client.token, client.base_url)
        self.feedback_style = FeedbackStyle()
        self.native = NativeSupport(enabled=native)
        self.pane = Pane(
            client=client,
            state=state,
            prompts=prompts,
            answer=self._on_pane_message,
            greet=lambda channel, thread_ts, text: self.replies.post(channel, thread_ts, text),
            team=identity.team,
        )
        self.ask = AskCommand(
            client=client,
            budgets=self.budgets,
            people=self.people,
            answer=self._answer,
            spawn=self.assistant.spawn,
            allowed=self.allowed,
        )
        self.access = AccessPolicy.from_settings(assistant.settings)
        self.admin = AdminCommand(assistant=assistant, people=self.people)
        self.shortcuts = Shortcuts(
            client=client,
            budgets=self.budgets,
            people=self.people,
            history=self.history,
            summarize=self.summarize,
            answer=self._answer,
            spawn=self.assistant.spawn,
            allowed=self.allowed,
        )

    def __repr__(self) -> str:
        return f"<SlackBot {self.identity.user_id} answering={len(self.assistant.tasks)} {self.budgets!r}>"

    def register(self, app: AsyncApp) -> None:
        """Attach the listeners to a bolt app."""
        app.assistant(self.pane.middleware())  # before the listeners: it takes DM threads
        app.event("app_mention")(self._on_event)
        app.event("message")(self._on_event)
        app.action(messages.STOP_ACTION)(self._on_stop)
        app.action(re.compile(f"^{re.escape(messages.FEEDBACK_ACTION)}(:|$)"))(self._on_feedback)  # either style
        app.command(COMMAND)(self.ask.on_command)
        app.command(admin.COMMAND)(self.admin.on_command)
        app.shortcut(shortcuts.SUMMARIZE)(self.shortcuts.on_summarize)
        app.shortcut(shortcuts.ASK_ABOUT)(self.shortcuts.on_ask_about)
        app.view(shortcuts.ASK_VIEW)(self.shortcuts.on_submit)
        # Any other event a workspace admin subscribes to is acknowledged and dropped:
        # unacknowledged, Slack would retry it, and disable the subscription eventually.
        app.event(re.compile(".*"))(self._ignore)

    # -- bolt listeners (their parameter names are how bolt injects arguments) ---------------

    async def _on_event(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        await self.handle_event(event, team=str(body.get("team_id") or self.identity.team))

    async def _ignore(self) -> None:
        pass

    async def _on_pane_message(self, event: dict[str, Any], team: str, pane: PaneThread) -> None:
        await self.handle_event(event, team=team, pane=pane)

    async def _on_feedback(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.handle_feedback(body)

    async def _on_stop(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.handle_stop(body)

    # -- events --------------------------------------------------------------------------------

    async def handle_event(self, event: dict[str, Any], *, team: str, pane: PaneThread | None = None) -> None:
        """Answer `event` if it asks the bot something, once, however often it arrives
        (`pane`: it was asked in the assistant pane, see `pane.py`)."""
        trigger = classify(event, bot_user_id=self.identity.user_id, team=team)
        if trigger is None:
            return
        if trigger.kind in (Kind.FOLLOW_UP, Kind.OVERHEARD) and not await self._follows(trigger):
            if not await self._tracks(trigger):
                return
            trigger = replace(trigger, kind=Kind.OVERHEARD)  # a summarised thread: history only
            # Kept as long as the copy it keeps current (each reply renews that one too).
            await self.state.put(self._track_key(trigger.channel, trigger.thread_ts or ""), "1", HISTORY_TTL)
        if not await self.state.claim(trigger.dedupe_key, DEDUPE_TTL):
            log.debug("already handled %s", trigger.dedupe_key)
            return
        if trigger.kind is Kind.OVERHEARD:
            self.assistant.spawn(self._overhear(trigger))
            return
        verdict = self.allowed(trigger.user, trigger.channel)
        if verdict.allowed:
            self.assistant.spawn(self._answer(trigger, pane))
        elif verdict.reason is not None:  # one short reply, never a streamed answer
            self.assistant.spawn(self.replies.post(trigger.channel, trigger.thread_ts, verdict.reason))

    def allowed(self, user: str, channel: str) -> Verdict:
        """May `user` ask in `channel` (TRICKLE_ALLOW_* / TRICKLE_DENY_*, see core/team/access.py);
        a refusal is counted and logged here, and its one reply (if any) is the caller's.
        Slack's DM channel ids start with D: those are the direct messages."""
        verdict = self.access.check(user, channel, direct=channel.startswith("D"))
        if not verdict.allowed:
            self.metrics.denied("slack", verdict.denial)
            log.info("not answering %s in %s: %s", user, channel, verdict.denial.value if verdict.denial else "")
        return verdict

    async def _answer(self, trigger: Trigger, pane: PaneThread | None = None) -> None:
        if is_blank(trigger.text) and not trigger.files:
            await self.replies.post(trigger.channel, trigger.thread_ts, USAGE_HINT)
            return
        if trigger.thread_ts is not None:
            await self.state.put(self._follow_key(trigger.channel, trigger.thread_ts), "1", FOLLOW_TTL)
        mentioned = mentioned_users(trigger.text)
        names = await self.people.names(trigger.team, mentioned) if mentioned else {}
        question = to_plain(trigger.text, names) if not is_blank(trigger.text) else about_files(len(trigger.files))
        earlier = await self.history.before(trigger)  # no Slack call for a new thread
        # The asker's name is only needed up front when several people talk; looking it
        # up costs a users.info round trip before the placeholder the first time.
        others = any(t.role == "user" and t.user != trigger.user for t in earlier)
        name = await self.people.name(trigger.team, trigger.user) if others else trigger.user
        asker = Asker(trigger.user, name)
        chat, text = conversation(earlier, asker=asker.id, asker_name=asker.name, question=question)
        if pane is not None:
            chat = await self._pane_context(trigger, pane, question) + chat
        asked = Question(
            text=text,
            asker=asker,
            history=chat,
            place=f"slack:{trigger.channel}",
            files=self.files.remote(conversation_files(trigger, earlier)),
        )
        answered = await self._stream(trigger, asked, pane)
        name = await self.people.name(trigger.team, trigger.user)
        said = [Turn(trigger.ts, "user", asker.id, name, question, trigger.files), *answered]
        await self.history.remember(trigger.channel, trigger.thread_ts, said)

    async def _stream(self, trigger: Trigger, question: Question, pane: PaneThread | None = None) -> list[Turn]:
        """Stream the answer to `question` where `trigger` says; the answer as a turn for
        the thread's history (none when not even its placeholder went out)."""
        answer_id = new_answer_id()
        surface = self._surface(trigger, answer_id, pane)
        log.info("answering %s in %s", trigger.kind.value, surface.where, extra={"answer_id": answer_id})
        try:
            outcome = await self.assistant.answer(
                surface, question, answer_id=answer_id, observer=self.metrics.observer("slack")
            )
        finally:
            surface.release()  # the thread status too, even if the final edit failed
        log.info(
            "answered (%s): %d chars, %d edits, %d pages",
            outcome.end.value,
            len(outcome.text),
            outcome.edits,
            outcome.pages,
            extra={"answer_id": answer_id},
        )
        if surface.first is None:
            return []
        return [Turn(surface.first.ts, "assistant", "", "", with_notice(outcome.text, outcome.notice))]

    async def summarize(self, trigger: Trigger, turns: list[Turn]) -> None:
        """Summarise a thread (`turns`, read by the shortcut) as an answer in it.

        The thread is not followed afterwards: a summary in people's busy thread must not
        make the bot answer every later reply there. Its history copy is kept current
        instead (`_tracks`), so asking again, or @mentioning the bot there, reads no more.
        """
        if trigger.thread_ts is None:
            return
        await self.state.put(self._track_key(trigger.channel, trigger.thread_ts), "1", HISTORY_TTL)
        name = await self.people.name(trigger.team, trigger.user)
        chat, text = conversation(turns, asker=trigger.user, asker_name=name, question=trigger.text)
        question = Question(
            text=text,
            asker=Asker(trigger.user, name),
            history=chat,
            place=f"slack:{trigger.channel}",
            whole_history=True,
        )
        answered = await self._stream(trigger, question)
        await self.history.remember(trigger.channel, trigger.thread_ts, answered)

    async def _overhear(self, trigger: Trigger) -> None:
        name = await self.people.name(trigger.team, trigger.user)
        turn = await self.history.person_turn(trigger, trigger.text, name)
        await self.history.remember(trigger.channel, trigger.thread_ts, [turn])

    async def _pane_context(self, trigger: Trigger, pane: PaneThread, question: str) -> list[ChatMessage]:
        """Title a pane thread on its first question, and read the channel in view."""
        if not pane.titled and trigger.thread_ts is not None:
            self.assistant.spawn(self.pane.set_title(trigger.channel, trigger.thread_ts, question))
        viewed = pane.viewed_channel
        if not viewed or viewed == trigger.channel:
            return []
        try:
            turns = await self.history.channel_turns(trigger.team, viewed)
        except SlackApiError as exc:
            code = exc.response.get("error") if exc.response is not None else "error"
            log.info("could not read the channel in view %s (%s)", viewed, code)
            # Said once per thread and channel: every later question would repeat it.
            said = f"slack:pane:cannot-read:{trigger.channel}:{trigger.thread_ts}:{viewed}"
            if await self.state.claim(said, FOLLOW_TTL):
                await self.replies.post(trigger.channel, trigger.thread_ts, CANNOT_READ)
            return []
        except (OSError, TimeoutError) as exc:
            log.info("could not read the channel in view %s: %r", viewed, exc)
            return []
        if not turns:
            return []
        lines = "\n".join(f"{t.name or 'trickle'}: {t.text}" for t in turns)
        return [ChatMessage("user", f"(The latest messages in the channel I am looking at, oldest first:)\n{lines}")]

    def _surface(self, trigger: Trigger, answer_id: str, pane: PaneThread | None = None) -> SlackThreadSurface:
        status = None
        if trigger.thread_ts is not None:
            loading = LOADING_MESSAGES if pane is not None else ()
            status = ThreadStatus(
                self.client,
                trigger.channel,
                trigger.thread_ts,
                self.status_support,
                spawn=self.assistant.spawn,
                loading=loading,
            )
        common = _SurfaceArgs(
            client=self.client,
            team=trigger.team,
            channel=trigger.channel,
            thread_ts=trigger.thread_ts,
            answer_id=answer_id,
            budgets=self.budgets,
            status=status,
        )
        # A pane answer ends with feedback buttons: on its final edit, or natively on the
        # stop of its last stream (see native.py).
        feedback = self.feedback_style if pane is not None else None
        if self.native.enabled and trigger.thread_ts is not None:
            return NativeThreadSurface(recipient=trigger.user, support=self.native, feedback=feedback, **common)
        return SlackThreadSurface(feedback=feedback, **common)

    async def _follows(self, trigger: Trigger) -> bool:
        return await self.state.get(self._follow_key(trigger.channel, trigger.thread_ts or "")) is not None

    async def _tracks(self, trigger: Trigger) -> bool:
        return await self.state.get(self._track_key(trigger.channel, trigger.thread_ts or "")) is not None

    @staticmethod
    def _follow_key(channel: str, thread_ts: str) -> str:
        return f"slack:follow:{channel}:{thread_ts}"

    @staticmethod
    def _track_key(channel: str, thread_ts: str) -> str:
        return f"slack:track:{channel}:{thread_ts}"

    # -- the Stop button -----------------------------------------------------------------------

    async def handle_stop(self, body: dict[str, Any]) -> None:
        """Stop the answer named by the button, if the clicker may; else say why, privately."""
        actions = body.get("actions") or [{}]
        answer_id = str(actions[0].get("value") or "")
        user = str((body.get("user") or {}).get("id") or "")
        team = str((body.get("team") or {}).get("id") or self.identity.team)
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
        thread_ts = container.get("thread_ts")
        result = await self.assistant.stop_anywhere(answer_id, by=Asker(user, await self.people.name(team, user)))
        log.info("stop of %s by %s: %s", answer_id, user, result.value, extra={"answer_id": answer_id})
        if result is StopResult.NOT_ALLOWED:
            await self.replies.ephemeral(channel, user, thread_ts, replies.NOT_ALLOWED)
        elif result is StopResult.NOT_FOUND:
            await self.replies.ephemeral(channel, user, thread_ts, replies.ALREADY_FINISHED)

    # -- feedback buttons ----------------------------------------------------------------------

    async def handle_feedback(self, body: dict[str, Any]) -> None:
        """Count a thumbs up or down on a final answer, once per person and answer; the
        answer's text is never touched."""
        actions = body.get("actions") or [{}]
        parsed = messages.parse_feedback(str(actions[0].get("value") or ""))
        user = str((body.get("user") or {}).get("id") or "")
        if parsed is None or not user:
            log.info("ignored a feedback click without a known value")
            return
        verdict, answer_id = parsed
        if not await self.state.claim(f"slack:feedback:{answer_id}:{user}", FEEDBACK_TTL):
            log.info("feedback on %s by %s already counted", answer_id, user, extra={"answer_id": answer_id})
            return
        self.metrics.rated("slack", verdict)
        log.info("feedback on %s by %s: %s", answer_id, user, verdict, extra={"answer_id": answer_id})
