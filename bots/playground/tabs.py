"""Who a playground tab is: one page load, one person, whatever name it types.

The playground has no login, so identity cannot come from anything a page says about
itself (a name, or a value in sessionStorage, which `window.open` and "Duplicate tab"
copy into the new tab). It comes from the connection: the server issues each WebSocket a
secret key, which the page keeps in memory only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from core.question import Asker

MAX_NAME = 32
_KEY = re.compile(r"[A-Za-z0-9_-]{24}")


def person_name(raw: object, default: str = "guest") -> str:
    """A tab's display name, tidied. Only a label: who a tab is comes from its `Tab`."""
    name = " ".join(str(raw or "").split())[:MAX_NAME]
    return name or default


@dataclass(frozen=True, slots=True)
class Tab:
    """One page load, i.e. one person in the channel.

    `key` is a secret only that page holds; `id` is derived from it, so it can be shown to
    every tab (messages carry their asker's id, for the Stop button) without letting
    anyone else become that person. A page that reconnects presents its key and is the
    same person again, even to a restarted playground.
    """

    id: str
    key: str = field(repr=False)

    @classmethod
    def issue(cls, offered: str | None = None) -> Tab:
        """The tab for a new connection: the key it offers if well formed, else a new one."""
        key = offered if offered and _KEY.fullmatch(offered) else secrets.token_urlsafe(18)
        return cls(id="tab-" + hashlib.sha256(key.encode()).hexdigest()[:12], key=key)

    @property
    def default_name(self) -> str:
        return f"guest-{1000 + int(self.id[-6:], 16) % 9000}"

    def asker(self, name: object) -> Asker:
        return Asker(id=self.id, name=person_name(name, self.default_name))

    def introduction(self) -> dict[str, str]:
        """What the page is told about itself (to this tab only)."""
        return {"id": self.id, "name": self.default_name, "key": self.key}
