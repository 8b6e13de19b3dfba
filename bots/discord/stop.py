"""The Stop button under a streaming answer.

Why a view per message rather than one global handler: the view carries the answer id
(also in its `custom_id`, so the click names the answer even in logs) and the assistant's
stop function, passed in rather than reached through a global. `timeout=None` because an
answer may stream for many minutes; the surface stops the view when its message is
final, which also drops it from discord.py's view store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import discord

from core.question import Asker
from core.stops import StopResult

log = logging.getLogger("trickle.discord")

STOP_PREFIX = "trickle:stop:"
NOT_YOURS = "Only the person who asked (or an admin) can stop this."
ALREADY_DONE = "This answer has already finished."

StopFunction = Callable[[str, Asker], StopResult]
ViewFactory = Callable[[str], "StopView"]


class StopView(discord.ui.View):
    """One Stop button; a click by the asker (or an admin) ends the answer."""

    def __init__(self, answer_id: str, stop: StopFunction) -> None:
        super().__init__(timeout=None)
        self.answer_id = answer_id
        self._stop_answer = stop
        button: discord.ui.Button[StopView] = discord.ui.Button(
            label="Stop", style=discord.ButtonStyle.secondary, custom_id=f"{STOP_PREFIX}{answer_id}"
        )
        button.callback = self._clicked  # type: ignore[method-assign]  # one Button's callback; discord.py types it as a method
        self.add_item(button)

    def __repr__(self) -> str:
        return f"<StopView {self.answer_id} finished={self.is_finished()}>"

    async def _clicked(self, interaction: discord.Interaction) -> None:
        user = interaction.user
        result = self._stop_answer(self.answer_id, Asker(str(user.id), user.display_name))
        try:
            if result is StopResult.STOPPED:
                # Acknowledge at once without a message; the relay writes the final edit.
                await interaction.response.defer()
            else:
                text = NOT_YOURS if result is StopResult.NOT_ALLOWED else ALREADY_DONE
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                )
        except Exception as exc:  # e.g. 10062: the click came too late to answer
            if interaction.response.is_done():
                return  # acknowledged; only the callback's answer was unreadable (a 204)
            log.warning("could not acknowledge a Stop click: %s", exc, extra={"answer_id": self.answer_id})


def stop_views(stop: Callable[..., StopResult]) -> ViewFactory:
    """A factory of Stop views bound to `stop(answer_id, by=asker)` (`Assistant.stop`)."""
    return lambda answer_id: StopView(answer_id, lambda aid, who: stop(aid, by=who))
