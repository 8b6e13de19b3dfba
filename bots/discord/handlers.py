"""Discord events in, questions for the assistant out: `/ask`, mentions and DMs.

Each event runs in its own task (discord.py dispatches them so), and the answer streams
inside it; the handler only decides whether and where to answer. Nothing here waits on
the platform before `/ask` is acknowledged: Discord allows 3 s, and we aim for < 100 ms.
The quotas are asked first (`Assistant.admit`: a few milliseconds, bounded), because a
refusal known before the deferral is one private reply: no "thinking…" turned into a
notice, and nothing for anyone else to see. The access lists (`bots/discord/access.py`)
are asked before anything else, and refuse the same way (a mention: one short reply).
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands

from bots.context import ServiceContext
from bots.discord.access import SILENT_ASK, DiscordAccess, place_of
from bots.discord.budgets import DiscordBudgets
from bots.discord.conversation import addressed, bot_role_id, earlier_messages, history_of, is_direct, strip_mentions
from bots.discord.files import question_files, remote_file
from bots.discord.messages import NO_PINGS, call
from bots.discord.stop import stop_views
from bots.discord.surface import ChannelSurface, InteractionSurface
from core.models import EndReason
from core.notices import notice_for
from core.observer import WriteKind
from core.question import USAGE_HINT, Admission, Asker, Question, about_files, is_blank, new_answer_id
from core.relay.calls import paced
from core.team.access import AccessPolicy
from core.team.model_choice import as_fixed_choices, refusal, suggestions

log = logging.getLogger("trickle.discord")

ASK_HINT = "Ask me something, e.g. `/ask prompt: what is a monad?`"
RESTARTING = "trickle is restarting: ask again in a moment."
PRIVATE_EXPIRY = "ended early: Discord lets a private answer be written for 15 minutes — ask again"
DEDUP_SECONDS = 3600.0
# The longest `/ask` waits for the quotas before deferring (a Redis in trouble); past it,
# it defers and the answer asks them again, counting that question twice at worst.
ADMIT_BEFORE_DEFER = 1.0


class DiscordHandlers:
    """The bot's behaviour; `install` wires it to one client and its command tree."""

    def __init__(self, ctx: ServiceContext, budgets: DiscordBudgets) -> None:
        self._ctx = ctx
        self._budgets = budgets
        ctx.metrics.watch_budgets("discord", budgets.by_kind)
        self._views = stop_views(ctx.assistant.stop)
        self._models = ctx.settings.models
        self._access = DiscordAccess(AccessPolicy.from_settings(ctx.settings), ctx.metrics)
        self._client: discord.Client | None = None

    def __repr__(self) -> str:
        return f"<DiscordHandlers answering={len(self._ctx.assistant.tasks)}>"

    def install(self, client: discord.Client, tree: app_commands.CommandTree[discord.Client]) -> None:
        """Register `/ask` and the message listener on `client`."""
        self._client = client
        handlers = self

        async def ask(
            interaction: discord.Interaction,
            prompt: str,
            model: str | None = None,
            private: bool = False,
            file: discord.Attachment | None = None,
        ) -> None:
            await handlers.ask(interaction, prompt=prompt, model=model, private=private, file=file)

        async def complete_model(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=m, value=m) for m in suggestions(handlers._models, current)]

        # The models people may pick (TRICKLE_MODELS) are offered, never typed freely:
        # fixed choices while Discord can list them all, else autocomplete.
        offer = (
            app_commands.choices(model=[app_commands.Choice(name=m, value=m) for m in self._models])
            if as_fixed_choices(self._models)
            else app_commands.autocomplete(model=complete_model)
        )
        described = app_commands.describe(
            prompt="Your question",
            model="Model (default: the server's)",
            private="Only you see the answer",
            file="A file to ask about: text, code, a PDF or an image",
        )
        command = app_commands.command(name="ask", description="Ask the assistant; the answer streams in")
        tree.add_command(command(described(offer(ask))))

        async def on_message(message: discord.Message) -> None:
            await handlers.on_message(message)

        client.event(on_message)

    # -- /ask ------------------------------------------------------------------------------
    async def ask(
        self,
        interaction: discord.Interaction,
        *,
        prompt: str,
        model: str | None,
        private: bool,
        file: discord.Attachment | None = None,
    ) -> None:
        """Ask the quotas, defer, then stream the answer into the deferred response; a
        question the quotas refuse gets one private reply instead of the deferral."""
        loop = asyncio.get_running_loop()
        received = loop.time()
        # TRICKLE_ALLOW_* / TRICKLE_DENY_*: a refusal is the one private reply (Discord
        # needs an answer even when the refusal is to be silent: see bots/discord/access.py).
        verdict = self._access.interaction(interaction)
        if not verdict.allowed:
            await self._refuse(interaction, verdict.reason or SILENT_ASK)
            return
        # Autocomplete lets people type anything, and an old registration may still
        # offer other choices: a model outside TRICKLE_MODELS is refused with the one
        # ephemeral reply, before any model call or shared budget.
        if (not_allowed := refusal(model or None, self._models)) is not None:
            log.info("/ask refused a model outside TRICKLE_MODELS (user %s)", interaction.user.id)
            await self._refuse(interaction, not_allowed)
            return
        asker = Asker(str(interaction.user.id), interaction.user.display_name)
        files = [remote_file(file)] if file is not None else []
        question = Question(
            prompt, asker, model=model or None, place=place_of(interaction.channel, interaction.channel_id), files=files
        )
        # One flag lookup, so that a refusal is shown to the asker alone.
        refused = RESTARTING if self._ctx.stopping.is_set() else None
        admission = None if refused is not None or is_blank(prompt) else await self._admit(question)
        try:
            if admission is not None and admission.refusal is not None:
                log.info("/ask refused by a quota (user %s): %s", interaction.user.id, admission.refusal)
                await self._refuse(interaction, notice_for(EndReason.REFUSED, detail=admission.refusal) or "")
                return
            await self._ask(interaction, question, private, received, refused, admission)
        finally:
            if admission is not None:
                await self._ctx.assistant.release(admission)  # done already if it was answered

    async def _admit(self, question: Question) -> Admission | None:
        """The quotas' verdict before deferring, or None if they are slow to say (then the
        answer asks them itself, after the deferral)."""
        try:
            return await asyncio.wait_for(self._ctx.assistant.admit(question), ADMIT_BEFORE_DEFER)
        except TimeoutError:
            log.warning("/ask: the quotas took over %gs; deferring first", ADMIT_BEFORE_DEFER)
            return None

    async def _ask(
        self,
        interaction: discord.Interaction,
        question: Question,
        private: bool,
        received: float,
        refused: str | None,
        admission: Admission | None,
    ) -> None:
        """Defer, then answer into the deferred response (or say why not, in it)."""
        callback = None
        try:
            callback = await interaction.response.defer(ephemeral=private or refused is not None, thinking=True)
        except Exception as exc:
            if not interaction.response.is_done():  # 10062: later than 3 s; 40060: answered elsewhere
                log.warning("could not defer /ask: %s", exc)
                code = exc.code or exc.status if isinstance(exc, discord.HTTPException) else type(exc).__name__
                self._ctx.metrics.errors.labels("discord", str(code)).inc()
                return
            # The deferral went out; only its answer could not be read (e.g. 204 No Content
            # where discord.py expects the callback's JSON). Discord shows "thinking...".
            log.info("/ask deferred, but its callback answer was unreadable: %r", exc)
        if refused is None and is_blank(question.text):
            refused = ASK_HINT
        if refused is not None:
            await self._tell(interaction, refused)
            return
        answer_id = new_answer_id()
        trust_until = received + self._ctx.settings.discord_token_ttl
        surface = InteractionSurface(
            interaction,
            budgets=self._budgets,
            answer_id=answer_id,
            private=private,
            trust_until=trust_until,
            stop_view=self._views,
            original_id=getattr(callback, "message_id", None),
        )
        await self._answer(surface, question, answer_id, abort_at=trust_until if private else None, admission=admission)

    async def _refuse(self, interaction: discord.Interaction, text: str) -> None:
        """Answer the interaction itself with `text`, seen by the asker alone: one call,
        on the interaction's own bucket, with no deferral and no edit."""
        try:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        except Exception as exc:  # later than 3 s, or answered elsewhere: nothing else to do
            log.warning("could not refuse /ask: %s", exc)
            return
        self._ctx.metrics.wrote("discord", WriteKind.NOTICE)

    async def _tell(self, interaction: discord.Interaction, text: str) -> None:
        try:
            await call(interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS))
        except Exception as exc:  # the notice is a courtesy; its failure must not spread
            log.warning("could not answer /ask with a notice: %s", exc)
            return
        self._ctx.metrics.wrote("discord", WriteKind.NOTICE)

    # -- mentions and DMs ------------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        """Answer a DM or a mention as a reply, with the reply chain (or thread) as context."""
        me = self._client.user if self._client is not None else None
        if me is None or message.author.bot or message.author.id == me.id:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        role_id = bot_role_id(message)
        if not addressed(message, me.id, role_id) or self._ctx.stopping.is_set():
            return
        if not await self._ctx.state.claim(f"discord:{message.id}", ttl=DEDUP_SECONDS):
            return  # a gateway replay, or another replica took it
        verdict = self._access.message(message, direct=is_direct(message))
        if not verdict.allowed:  # TRICKLE_ALLOW_* / TRICKLE_DENY_*: one short reply, or silence
            if verdict.reason is not None:
                await self._reply(message, verdict.reason)
            return
        text = strip_mentions(message.content, me.id, role_id)
        if is_blank(text) and not message.attachments:  # a file alone is a question about it
            await self._reply(message, USAGE_HINT)
            return
        asker = Asker(str(message.author.id), message.author.display_name)
        earlier = await earlier_messages(message)
        answer_id = new_answer_id()
        surface = ChannelSurface(message, budgets=self._budgets, answer_id=answer_id, stop_view=self._views)
        files = question_files(message, earlier)
        question = Question(
            text if not is_blank(text) else about_files(len(message.attachments)),
            asker,
            history=history_of(earlier, me.id, role_id),
            place=place_of(message.channel, message.channel.id),
            files=files,
        )
        await self._answer(surface, question, answer_id)

    async def _reply(self, message: discord.Message, text: str) -> None:
        try:
            await paced(
                lambda: call(message.reply(text, allowed_mentions=NO_PINGS, mention_author=False)),
                self._budgets.creates(message.channel.id),
                log=log,
            )
        except Exception as exc:  # a hint that cannot be posted is only logged
            log.warning("could not reply to %s: %s", message.id, exc)

    # -- running an answer -----------------------------------------------------------------
    async def _answer(
        self,
        surface: ChannelSurface | InteractionSurface,
        question: Question,
        answer_id: str,
        *,
        abort_at: float | None = None,
        admission: Admission | None = None,
    ) -> None:
        """Stream one answer; a private one is ended with a notice before its token dies."""
        loop = asyncio.get_running_loop()
        # discord.py runs each event in a task of its own: the assistant owns it from here,
        # so that shutdown waits for this answer.
        self._ctx.assistant.tasks.adopt(asyncio.current_task())
        timer = None
        if abort_at is not None:
            timer = loop.call_at(abort_at, self._ctx.assistant.abort, answer_id, EndReason.REFUSED, PRIVATE_EXPIRY)
        try:
            outcome = await self._ctx.assistant.answer(
                surface,
                question,
                answer_id=answer_id,
                observer=self._ctx.metrics.observer("discord"),
                admission=admission,
            )
            log.info(
                "answer ended: %s, %d edits, %d pages",
                outcome.end.value,
                outcome.edits,
                outcome.pages,
                extra={"answer_id": answer_id},
            )
        except Exception:
            log.exception("answer failed", extra={"answer_id": answer_id})
        finally:
            if timer is not None:
                timer.cancel()
            surface.close()
