"""`views.open`: a modal opened with a `trigger_id` the fake handed out.

The trigger must be known, unused and younger than `trigger_ttl`, and the view must
pass Slack's checks (tests/fakes/slack_shapes.py); the opened view is kept in `views`
with the id and fields Slack adds, so a test can submit it.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.interactions import Interactions
from tests.fakes.slack_shapes import Refusal, check_view, missing


class ViewMethods(Interactions):
    """The `views.*` methods; a mixin of `FakeSlack`."""

    def _views_open(self, params: Params) -> dict[str, Any]:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise ApiError.of(missing("trigger_id"))
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self._clock() - trigger.issued_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        try:
            view = check_view(params.get("view"))
        except Refusal as refusal:
            raise ApiError.of(refusal) from refusal
        trigger.used = True
        view_id = f"V{next(self._ids):010d}"
        view.update(
            id=view_id,
            team_id=self.team_id,
            state={"values": {}},
            hash=f"{int(self._clock())}.{uuid.uuid4().hex[:8]}",
            previous_view_id=None,
            root_view_id=view_id,
            app_id=self.app_id,
            app_installed_team_id=self.team_id,
            bot_id=self.bot_id,
        )
        self.views.append(view)
        return {"ok": True, "view": copy.deepcopy(view)}
