"""REST routes of the application itself: who the bot is, where the gateway is, its commands.

Why together: these are what discord.py asks once, at login and when the command tree
syncs -- none of them is rate limited here or touches a message, so they need only the
world and the gateway's address.
"""

from __future__ import annotations

from collections.abc import Callable

from ..protocol import Json
from ..state import DiscordWorld
from ..wire import HTTPError, Reply, Request, Route, route


class ApplicationRoutes:
    """Users, DMs, the application, gateway discovery and command sync."""

    def __init__(self, world: DiscordWorld, *, gateway_url: Callable[[], str]) -> None:
        self.world = world
        self.gateway_url = gateway_url

    def routes(self) -> list[Route]:
        return [
            route("GET", "/users/@me", self._get_me),
            route("GET", "/users/{user_id}", self._get_user),
            route("POST", "/users/@me/channels", self._create_dm),
            route("GET", "/oauth2/applications/@me", self._get_app),
            route("GET", "/applications/@me", self._get_app),
            route("GET", "/gateway", self._get_gateway, auth=False),
            route("GET", "/gateway/bot", self._get_gateway_bot),
            route("PUT", "/applications/{app}/commands", self._put_commands),
            route("GET", "/applications/{app}/commands", self._get_commands),
            route("PUT", "/applications/{app}/guilds/{guild_id}/commands", self._put_commands),
            route("GET", "/applications/{app}/guilds/{guild_id}/commands", self._get_commands),
        ]

    def _app_payload(self) -> Json:
        return {
            "id": str(self.world.app_id),
            "name": "trickle",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": dict(self.world.user),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
            "bot": dict(self.world.bot_user),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.world.guilds),
        }

    async def _get_me(self, req: Request) -> Reply:
        return Reply(200, dict(self.world.bot_user))

    async def _get_user(self, req: Request) -> Reply:
        user = self.world.users.get(req.params["user_id"])
        if user is None:
            raise HTTPError(404, 10013, "Unknown User")
        return Reply(200, dict(user))

    async def _get_app(self, req: Request) -> Reply:
        return Reply(200, self._app_payload())

    async def _get_gateway(self, req: Request) -> Reply:
        return Reply(200, {"url": self.gateway_url()})

    async def _get_gateway_bot(self, req: Request) -> Reply:
        return Reply(
            200,
            {
                "url": self.gateway_url(),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            },
        )

    async def _create_dm(self, req: Request) -> Reply:
        uid = str((req.json or {}).get("recipient_id"))
        if uid not in self.world.users:
            raise HTTPError(404, 10013, "Unknown User")
        return Reply(200, dict(self.world.channels[str(self.world.add_dm_channel(self.world.users[uid]))]))

    async def _put_commands(self, req: Request) -> Reply:
        if req.params["app"] != str(self.world.app_id):
            raise HTTPError(403, 50001, "Missing Access")
        gid = req.params.get("guild_id")
        existing = {c["name"]: c for c in (self.world.guild_commands.get(gid, []) if gid else self.world.commands)}
        out: list[Json] = []
        for cmd in req.json or []:
            stored = dict(cmd)
            prior = existing.get(cmd["name"])
            stored["id"] = prior["id"] if prior else self.world.next_id()  # Discord keeps ids by name
            stored["application_id"] = str(self.world.app_id)
            stored["version"] = self.world.next_id()
            stored.setdefault("type", 1)
            stored.setdefault("description", "")
            stored.setdefault("options", [])
            stored.setdefault("default_member_permissions", None)
            stored.setdefault("nsfw", False)
            if gid:
                stored["guild_id"] = gid
            out.append(stored)
        if gid:
            self.world.guild_commands[gid] = out
        else:
            self.world.commands = out
        return Reply(200, [dict(c) for c in out])

    async def _get_commands(self, req: Request) -> Reply:
        gid = req.params.get("guild_id")
        cmds = self.world.guild_commands.get(gid, []) if gid else self.world.commands
        return Reply(200, [dict(c) for c in cmds])
