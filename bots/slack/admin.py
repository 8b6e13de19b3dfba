"""`/trickle`: a channel's settings and the team's usage, for Slack admins.

    /trickle                     this channel's model and prompt, and what can be changed
    /trickle model NAME          answer this channel with NAME (one of TRICKLE_MODELS)
    /trickle model default       back to TRICKLE_MODEL
    /trickle prompt TEXT         this channel's system prompt
    /trickle prompt default      back to TRICKLE_SYSTEM_PROMPT
    /trickle usage [DAYS]        tokens per channel and per person (30 days unless told)

Everyone may look; only TRICKLE_ADMINS change anything or read usage. Replies are
private (`ephemeral`), sent through the command's `response_url` after the command is
acknowledged, since reading usage scans the state store and Slack waits 3 s at most.
"""

from __future__ import annotations

import logging
from typing import Any

from bots.slack.formatting import escape
from bots.slack.people import People
from core.assistant import Assistant
from core.team.channel_prefs import PrefsRefused
from core.team.usage import format_report

log = logging.getLogger("trickle.slack")

COMMAND = "/trickle"
USAGE_DAYS = 30
HELP = (
    f"`{COMMAND} model NAME` or `{COMMAND} model default`, "
    f"`{COMMAND} prompt TEXT` or `{COMMAND} prompt default` (admins), "
    f"`{COMMAND} usage [days]` (admins)."
)
ADMINS_ONLY = "Only trickle's admins (TRICKLE_ADMINS) can see the team's usage."
_DEFAULT = "default"


class AdminCommand:
    """The `/trickle` listener; see the module docstring."""

    def __init__(self, *, assistant: Assistant, people: People) -> None:
        self._assistant = assistant
        self._people = people

    def __repr__(self) -> str:
        return f"<AdminCommand {COMMAND}>"

    async def on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        """bolt's listener (parameter names are how bolt injects arguments)."""
        await ack()
        text = await self.reply(
            str(command.get("text") or ""),
            user=str(command.get("user_id") or ""),
            channel=str(command.get("channel_id") or ""),
            team=str(command.get("team_id") or ""),
        )
        await respond(text=text, response_type="ephemeral")

    async def reply(self, text: str, *, user: str, channel: str, team: str) -> str:
        """What `/trickle text` answers `user` in `channel`."""
        verb, _, rest = text.strip().partition(" ")
        verb, rest = verb.lower(), rest.strip()
        place = f"slack:{channel}"
        prefs = self._assistant.prefs
        try:
            if verb == "model" and rest and prefs is not None:
                chosen = None if rest.lower() == _DEFAULT else rest
                await prefs.set_model(place, chosen, by=user)
                log.info("%s set the model of %s to %s", user, place, chosen or "the default")
            elif verb == "prompt" and rest and prefs is not None:
                await prefs.set_prompt(place, "" if rest.lower() == _DEFAULT else rest, by=user)
                log.info("%s set the system prompt of %s", user, place)
            elif verb == "usage":
                return await self._usage(rest, user=user, team=team)
            elif verb and verb not in ("model", "prompt", "help"):
                return f"I don't know `{escape(verb)}`. {HELP}"
        except PrefsRefused as refused:  # it may quote what was typed: text, never markup
            return f"{escape(str(refused))}."
        return await self._summary(place)

    async def _summary(self, place: str) -> str:
        settings = self._assistant.settings
        prefs = await self._assistant.prefs.get(place) if self._assistant.prefs is not None else None
        model = prefs.model if prefs is not None and prefs.model else f"{settings.model} (the default)"
        custom = prefs.system_prompt if prefs is not None else None
        prompt = _quoted(custom) if custom is not None else "the default"
        others = ", ".join(f"`{m}`" for m in settings.models)
        return (
            f"This channel is answered by *{model}*, with {prompt} as its system prompt.\n"
            f"Models to choose from: {others}.\n{HELP}"
        )

    async def _usage(self, rest: str, *, user: str, team: str) -> str:
        if user not in self._assistant.settings.admins:
            return ADMINS_ONLY
        if self._assistant.usage is None:
            return "Usage is not counted by this deployment."
        days = int(rest) if rest.isdigit() and 0 < int(rest) <= 366 else USAGE_DAYS
        report = await self._assistant.usage.report(days=days, platform="slack")
        names = await self._people.names(team, [t.name for t in report.people[:10]])
        table = format_report(
            report,
            channel_name=lambda t: "#" + t.name.removeprefix("slack:"),
            person_name=lambda t: names.get(t.name, t.name),
        )
        return f"```\n{table}\n```"


def _quoted(prompt: str, limit: int = 200) -> str:
    """The prompt as text, never markup (escaped: it was typed by someone)."""
    short = prompt if len(prompt) <= limit else prompt[: limit - 1] + "…"
    return "“" + escape(short.replace("\n", " ")) + "”"
