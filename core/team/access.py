"""Who may ask trickle, and where: the team's allow and deny lists.

A team turns trickle on for some channels, people or Discord roles and off for others,
and decides whether it answers direct messages. The decision is pure (ids in, a
`Verdict` out) and taken before anything is posted, so a refusal costs one short reply,
or nothing at all with `TRICKLE_DENIED_REPLY=silent`, never a placeholder and its edits.

The rules, in order (the first that applies decides):
1. An admin (`TRICKLE_ADMINS`) is always let in: nobody can lock the operators out.
2. Deny beats allow: a person, channel or role on a deny list is refused.
3. `TRICKLE_DMS=off` refuses direct messages.
4. A non-empty allow list must be met. People and roles are two ways of naming *who*:
   listed by id or holding a listed role is enough. Channels say *where*, and must be
   met as well. An empty allow list lets everyone in.

Where role lists apply: only on a platform that has roles (Discord), where the adapter
passes the asker's role ids; elsewhere (`roles=None`: Slack, the playground) they neither
let in nor refuse anyone, so one settings file can serve both platforms. A direct message
has no channel worth listing, so the channel allow list does not apply to it
(`TRICKLE_DMS` does); a Discord DM carries no roles either, so with a role allow list it
is answered only for people on the user allow list (and admins).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from core.settings import CoreSettings

__all__ = ["DENIED_REPLIES", "AccessPolicy", "Denial", "Verdict"]


class Denial(str, enum.Enum):
    """Which kind of rule refused: a small fixed set, fit for a metric label and a log."""

    USER = "user"
    CHANNEL = "channel"
    ROLE = "role"
    DM = "dm"


DENIED_REPLIES: dict[Denial, str] = {
    Denial.USER: "trickle is not enabled for you here — ask an admin if you need it",
    Denial.CHANNEL: "trickle is not enabled in this channel",
    Denial.ROLE: "trickle is not enabled for your roles here — ask an admin if you need it",
    Denial.DM: "trickle does not answer direct messages here — ask in a channel",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a question may be answered.

    `reason` is the one short reply to send when refused, or None when nothing is to be
    sent (let in, or refused with `TRICKLE_DENIED_REPLY=silent`). `denial` says which kind
    of rule refused, for the log and `Metrics.denied`; None when let in.
    """

    allowed: bool
    reason: str | None = None
    denial: Denial | None = None


ALLOWED = Verdict(True)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The lists from settings, and the one question they answer: `check`.

    Frozen and free of I/O, so every adapter asks the same thing the same way and tests
    need no event loop. Ids are the platform's own (Slack `U0123ABC`/`C0123ABC`, Discord
    snowflakes as strings), exactly as the adapters receive them.
    """

    admins: frozenset[str] = frozenset()
    allow_users: frozenset[str] = frozenset()
    deny_users: frozenset[str] = frozenset()
    allow_channels: frozenset[str] = frozenset()
    deny_channels: frozenset[str] = frozenset()
    allow_roles: frozenset[str] = frozenset()
    deny_roles: frozenset[str] = frozenset()
    dms: bool = True
    silent: bool = False

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> AccessPolicy:
        return cls(
            admins=settings.admins,
            allow_users=settings.allow_users,
            deny_users=settings.deny_users,
            allow_channels=settings.allow_channels,
            deny_channels=settings.deny_channels,
            allow_roles=settings.allow_roles,
            deny_roles=settings.deny_roles,
            dms=settings.dms,
            silent=settings.denied_reply == "silent",
        )

    @property
    def refuses_nobody(self) -> bool:
        """True when nobody can be refused (no lists, DMs on): adapters may skip asking."""
        return self.dms and not (
            self.allow_users
            or self.deny_users
            or self.allow_channels
            or self.deny_channels
            or self.allow_roles
            or self.deny_roles
        )

    def check(
        self,
        user: str,
        channel: str,
        *,
        roles: Iterable[str] | None = None,
        direct: bool = False,
    ) -> Verdict:
        """May `user` ask in `channel`? See the module docstring for the rules.

        `roles`: the asker's Discord role ids, an empty tuple for a member holding none
        (and in a DM, unless the adapter looked up the person's roles in its server);
        None where the platform has no roles (Slack, the playground), so role lists never
        refuse everyone there. `direct`: the question came in a direct message (`channel`
        is then the DM's id, still checked against the deny list).

        The adapter sends `verdict.reason` if it is not None and stops; it may count the
        refusal with `Metrics.denied(platform, verdict.denial)`.
        """
        if user in self.admins:
            return ALLOWED
        held = frozenset(roles) if roles is not None else None
        if user in self.deny_users:
            return self._refuse(Denial.USER)
        if direct and not self.dms:
            return self._refuse(Denial.DM)
        if channel in self.deny_channels:
            return self._refuse(Denial.CHANNEL)
        if held is not None and held & self.deny_roles:
            return self._refuse(Denial.ROLE)
        if not self._who_allowed(user, held):
            return self._refuse(Denial.USER if self.allow_users else Denial.ROLE)
        if self.allow_channels and not direct and channel not in self.allow_channels:
            return self._refuse(Denial.CHANNEL)
        return ALLOWED

    def _who_allowed(self, user: str, held: frozenset[str] | None) -> bool:
        """Listed by id, or holding a listed role; True when no list applies.

        Where the platform has no roles (`held` None), a role list alone refuses nobody.
        """
        roles_apply = held is not None and bool(self.allow_roles)
        if not self.allow_users and not roles_apply:
            return True
        if user in self.allow_users:
            return True
        return held is not None and bool(held & self.allow_roles)

    def _refuse(self, denial: Denial) -> Verdict:
        return Verdict(False, None if self.silent else DENIED_REPLIES[denial], denial)
