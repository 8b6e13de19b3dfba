"""`/model`, `/prompt`, `/usage`: a channel's settings and the team's usage on Discord.

    /model                 this channel's model and system prompt (anyone may look)
    /model name:NAME       answer this channel with NAME, one of TRICKLE_MODELS (admins)
    /model name:default    back to TRICKLE_MODEL (admins)
    /prompt                the same view as `/model`
    /prompt text:TEXT      this channel's system prompt, instead of TRICKLE_SYSTEM_PROMPT (admins)
    /prompt text:default   back to TRICKLE_SYSTEM_PROMPT (admins)
    /usage [days]          tokens per channel and per person on Discord (admins; 30 days)

Admins are the user ids in TRICKLE_ADMINS, and only they: `ChannelPrefs` checks that
list itself, so a Discord permission such as Manage Server cannot stand in for it. The
commands are registered for everyone (no `default_member_permissions`), because anyone
may look, and an admin need not hold any permission in the server.

Every reply is ephemeral: one `send_message` when the answer is ready within
`REPLY_BEFORE_DEFER` (a state-store read, usually milliseconds), else a private
deferral and then its edit, since Discord drops an interaction left unanswered for 3 s
(a slow Redis, or a usage scan over many keys).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import discord
from discord import app_commands

from bots.context import ServiceContext
from bots.discord.access import place_of
from bots.discord.messages import CONTENT_LIMIT, NO_PINGS, fit, measure
from core.team.channel_prefs import PROMPT_CHARS, Prefs, PrefsRefused
from core.team.model_choice import as_fixed_choices, suggestions
from core.team.usage import RETENTION_DAYS, Total, UsageReport, format_report

log = logging.getLogger("trickle.discord")

DEFAULT = "default"  # the choice (and the text) that goes back to the operator's default
USAGE_DAYS = 30
REPLY_BEFORE_DEFER = 1.5  # seconds; Discord allows 3 for the first response
NAME_LOOKUP_SECONDS = 1.0  # fetching the names of people the client has not seen
MODELS_SHOWN_CHARS = 600
PROMPT_SHOWN_CHARS = 300
HELP = (
    "Admins change them with `/model name:` and `/prompt text:` (`default` goes back to the server's); "
    "`/usage` shows who spent how many tokens."
)
ADMINS_ONLY = "Only trickle's admins (TRICKLE_ADMINS) can see the team's usage."
NO_PREFS = "This deployment keeps no channel settings: every channel uses the server's model and prompt."
NO_USAGE = "This deployment does not count usage."
FAILED = "Could not read or change the settings right now (the state store failed); try again."


class AdminCommands:
    """The three commands, bound to one service's assistant; see the module docstring."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._settings = ctx.settings
        self._client: discord.Client | None = None

    def __repr__(self) -> str:
        return f"<AdminCommands /model /prompt /usage admins={len(self._settings.admins)}>"

    def install(self, client: discord.Client, tree: app_commands.CommandTree[discord.Client]) -> None:
        """Register `/model`, `/prompt` and `/usage` on `tree`, beside `/ask`."""
        self._client = client
        admin = self
        models = self._settings.models

        async def model(interaction: discord.Interaction, name: str | None = None) -> None:
            await admin.respond(interaction, lambda: admin.set_model(interaction, name))

        async def complete_model(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=m, value=m) for m in suggestions([*models, DEFAULT], current)]

        offered = [app_commands.Choice(name=m, value=m) for m in models]
        offered.append(app_commands.Choice(name=f"{DEFAULT} ({self._settings.model})", value=DEFAULT))
        offer = (
            app_commands.choices(name=offered)
            if as_fixed_choices([*models, DEFAULT])
            else app_commands.autocomplete(name=complete_model)
        )
        described = app_commands.describe(name="The model for this channel; leave out to see the current one")
        command = app_commands.command(name="model", description="This channel's model (admins change it)")
        tree.add_command(command(described(offer(model))))

        async def prompt(
            interaction: discord.Interaction, text: app_commands.Range[str, 1, PROMPT_CHARS] | None = None
        ) -> None:
            await admin.respond(interaction, lambda: admin.set_prompt(interaction, text))

        described = app_commands.describe(text="The system prompt for this channel, or `default`")
        command = app_commands.command(name="prompt", description="This channel's system prompt (admins change it)")
        tree.add_command(command(described(prompt)))

        async def usage(
            interaction: discord.Interaction, days: app_commands.Range[int, 1, RETENTION_DAYS] | None = None
        ) -> None:
            await admin.respond(interaction, lambda: admin.usage(interaction, days or USAGE_DAYS))

        described = app_commands.describe(days=f"How many days back, today included (default {USAGE_DAYS})")
        command = app_commands.command(name="usage", description="Tokens per channel and person (admins)")
        tree.add_command(command(described(usage)))

    # -- what each command says --------------------------------------------------------------
    async def set_model(self, interaction: discord.Interaction, name: str | None) -> str:
        """The channel's settings, after changing its model when `name` is given."""
        prefs = self._ctx.assistant.prefs
        if prefs is None:
            return NO_PREFS
        place = place_of(interaction.channel, interaction.channel_id)
        if name is not None and name.strip():
            chosen = None if name.strip().lower() == DEFAULT else name.strip()
            await prefs.set_model(place, chosen, by=str(interaction.user.id))
            log.info("%s set the model of %s to %s", interaction.user.id, place, chosen or "the default")
        return self.summary(await prefs.get(place))

    async def set_prompt(self, interaction: discord.Interaction, text: str | None) -> str:
        """The channel's settings, after changing its system prompt when `text` is given."""
        prefs = self._ctx.assistant.prefs
        if prefs is None:
            return NO_PREFS
        place = place_of(interaction.channel, interaction.channel_id)
        if text is not None:
            chosen = "" if text.strip().lower() == DEFAULT else text
            await prefs.set_prompt(place, chosen, by=str(interaction.user.id))
            log.info("%s set the system prompt of %s", interaction.user.id, place)
        return self.summary(await prefs.get(place))

    def summary(self, prefs: Prefs) -> str:
        """What a channel is answered with, and how to change it."""
        model = f"**{prefs.model}**" if prefs.model else f"**{self._settings.model}** (the default)"
        prompt = (
            f"this system prompt: “{_shown_prompt(prefs.system_prompt)}”"
            if prefs.system_prompt
            else "the default system prompt"
        )
        return fit(
            f"This channel is answered by {model}, with {prompt}.\n"
            f"Models to choose from: {_listed(self._settings.models)}.\n{HELP}"
        )

    async def usage(self, interaction: discord.Interaction, days: int) -> str:
        """The usage table, for admins only."""
        if str(interaction.user.id) not in self._settings.admins:
            return ADMINS_ONLY
        ledger = self._ctx.assistant.usage
        if ledger is None:
            return NO_USAGE
        report = await ledger.report(days=days, platform="discord")
        names = await self._names([t.name for t in report.people[:10]])
        return usage_table(report, channel_name=self._channel_name, person_name=lambda t: names.get(t.name, t.name))

    def _channel_name(self, total: Total) -> str:
        raw = total.name.removeprefix("discord:")
        channel = self._client.get_channel(int(raw)) if self._client is not None and raw.isdigit() else None
        if isinstance(channel, discord.DMChannel):
            return "DM" + (f" with {channel.recipient.display_name}" if channel.recipient is not None else "")
        name = getattr(channel, "name", None)
        return f"#{name}" if name else f"#{raw}"

    async def _names(self, ids: Sequence[str]) -> dict[str, str]:
        """Display names for user ids: those the client has seen, then a bounded fetch."""
        client = self._client
        if client is None:
            return {}
        names: dict[str, str] = {}
        missing: list[str] = []
        for uid in ids:
            user = client.get_user(int(uid)) if uid.isdigit() else None
            if user is not None:
                names[uid] = user.display_name
            elif uid.isdigit():
                missing.append(uid)
        if missing:
            fetched = await asyncio.gather(*(self._fetch_name(client, uid) for uid in missing))
            names.update({uid: name for uid, name in zip(missing, fetched, strict=False) if name})
        return names

    @staticmethod
    async def _fetch_name(client: discord.Client, uid: str) -> str | None:
        try:
            return (await asyncio.wait_for(client.fetch_user(int(uid)), NAME_LOOKUP_SECONDS)).display_name
        except (discord.HTTPException, TimeoutError) as exc:  # the id it is, then
            log.info("no name for user %s: %r", uid, exc)
            return None

    # -- answering the interaction -----------------------------------------------------------
    async def respond(self, interaction: discord.Interaction, make: Callable[[], Awaitable[str]]) -> None:
        """Answer privately with what `make` says: at once if it is quick, else after a
        private deferral (see the module docstring)."""
        task = asyncio.ensure_future(self._said(make))
        try:
            text: str | None = await asyncio.wait_for(asyncio.shield(task), REPLY_BEFORE_DEFER)
        except TimeoutError:
            text = None
        try:
            if text is not None:
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
                return
            try:
                await interaction.response.defer(ephemeral=True, thinking=True)
            except Exception:
                if not interaction.response.is_done():  # too late (10062): nobody to tell
                    task.cancel()
                    raise
            await interaction.edit_original_response(content=await task, allowed_mentions=NO_PINGS)
        except Exception as exc:
            log.warning("could not answer /%s: %s", getattr(interaction.command, "name", "?"), exc)

    @staticmethod
    async def _said(make: Callable[[], Awaitable[str]]) -> str:
        """`make()`'s text; a refusal's own message, as is; any failure, `FAILED`."""
        try:
            return await make()
        except PrefsRefused as refused:
            return str(refused)
        except Exception:
            log.exception("a channel-settings command failed")
            return FAILED


def usage_table(
    report: UsageReport, *, channel_name: Callable[[Total], str], person_name: Callable[[Total], str]
) -> str:
    """`format_report` in a code block, with as many top rows as fit in one message."""
    for top in (10, 5, 3, 1):
        text = "```\n" + format_report(report, top=top, channel_name=channel_name, person_name=person_name) + "\n```"
        if measure(text) <= CONTENT_LIMIT:
            return text
    return fit(text)


def _listed(models: Sequence[str]) -> str:
    """`a`, `b`, `c` … as many as read well, then how many more."""
    shown: list[str] = []
    for index, name in enumerate(models):
        item = f"`{name}`"
        if shown and sum(len(s) + 2 for s in shown) + len(item) > MODELS_SHOWN_CHARS:
            return ", ".join(shown) + f" and {len(models) - index} more"
        shown.append(item)
    return ", ".join(shown)


def _shown_prompt(prompt: str) -> str:
    """A prompt as someone typed it, shown as text: one line, no markdown, not too long."""
    line = " ".join(prompt.split())
    short = line if len(line) <= PROMPT_SHOWN_CHARS else line[: PROMPT_SHOWN_CHARS - 1] + "…"
    return discord.utils.escape_markdown(short)
