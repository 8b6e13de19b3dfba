"""`reactions.add` and `reactions.remove`, the bot's own reactions on any message.

Slack refuses a second identical reaction (`already_reacted`) and removing one that is
not there (`no_reaction`); a bot that marks progress with reactions meets both.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.messages import FakeMessage, as_ts
from tests.fakes.slack_server.state import Workspace


class ReactionMethods(Workspace):
    """The `reactions.*` methods; a mixin of `FakeSlack`."""

    def _reaction_target(self, params: Params) -> tuple[FakeMessage, str]:
        msg = self.message(str(params.get("channel") or ""), as_ts(params.get("timestamp")) or "")
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        name = str(params.get("name") or "")
        if not name:
            raise ApiError("invalid_name")
        return msg, name

    def _reactions_add(self, params: Params) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        users = msg.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise ApiError("already_reacted")
        users.append(self.bot_user_id)
        return {"ok": True}

    def _reactions_remove(self, params: Params) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        users = msg.reactions.get(name, [])
        if self.bot_user_id not in users:
            raise ApiError("no_reaction")
        users.remove(self.bot_user_id)
        if not users:
            del msg.reactions[name]
        return {"ok": True}
