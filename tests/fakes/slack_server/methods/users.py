"""`auth.test` and `users.info`: who the bot is, and who the people are.

`users.info` answers from the `users` seeded at construction (a display name, or a
mapping of profile fields) and makes up a plausible profile for anyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.state import Workspace


class UserMethods(Workspace):
    """Identity methods; a mixin of `FakeSlack`."""

    def _auth_test(self, params: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": "trickle",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: Params) -> dict[str, Any]:
        user_id = str(params.get("user") or "")
        if not user_id:
            raise ApiError("user_not_found")
        seeded = self.users.get(user_id)
        if isinstance(seeded, Mapping):
            name = str(seeded.get("name", user_id.lower()))
            real = str(seeded.get("real_name", name))
            display = str(seeded.get("display_name", real))
        else:
            real = seeded or f"User {user_id}"
            name = (seeded or user_id).lower().replace(" ", ".")
            display = real
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "real_name": real,
                "deleted": False,
                "is_bot": user_id == self.bot_user_id,
                "tz": "Europe/London",
                "profile": {"display_name": display, "real_name": real, "real_name_normalized": real},
            },
        }
