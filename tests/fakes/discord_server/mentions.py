"""What the fake's mention checks stand on: which writes would have notified whom.

Why a module of its own: "the bot never pings anyone it was not asked to" is the point
of the Discord tests, and the rule has three users -- the message writer (what a write
mentions), the inspection API (which writes broke the rule) and tests of the rule itself
(`compute_pings`). Keeping it pure makes each of those a function call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .protocol import Json
from .records import FakeMessage, MentionViolation
from .wire import form_error

USER_MENTION_RE = re.compile(r"<@!?(\d+)>")
ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


def compute_pings(
    content: str, allowed_mentions: Mapping[str, Any] | None, *, replied_user_id: str | None = None
) -> set[str]:
    """What Discord would notify for this content under these allowed_mentions.

    Why a standalone function: the rule is the point of the check.  With no
    ``allowed_mentions`` Discord parses everything (@everyone/@here, users, roles) and
    pings the author of a replied-to message; with one, only what ``parse``/``users``/
    ``roles``/``replied_user`` allow.  Returns markers like ``"@everyone"``,
    ``"user:123"``, ``"role:5"``, ``"reply:123"``.
    """
    if allowed_mentions is None:
        parse = {"everyone", "users", "roles"}
        users: set[str] = set()
        roles: set[str] = set()
        replied = True
    else:
        parse = set(allowed_mentions.get("parse") or [])
        users = {str(u) for u in allowed_mentions.get("users") or []}
        roles = {str(r) for r in allowed_mentions.get("roles") or []}
        replied = bool(allowed_mentions.get("replied_user", False))
    out: set[str] = set()
    if "everyone" in parse:
        if "@everyone" in content:
            out.add("@everyone")
        if "@here" in content:
            out.add("@here")
    for uid in USER_MENTION_RE.findall(content):
        if "users" in parse or uid in users:
            out.add(f"user:{uid}")
    for rid in ROLE_MENTION_RE.findall(content):
        if "roles" in parse or rid in roles:
            out.add(f"role:{rid}")
    if replied_user_id is not None and replied:
        out.add(f"reply:{replied_user_id}")
    return out


def check_allowed_mentions(am: Any) -> None:
    """Discord refuses ``parse: ["users"]`` beside a ``users`` list (likewise roles)."""
    if not isinstance(am, Mapping):
        return
    parse = am.get("parse") or []
    for kind in ("users", "roles"):
        if kind in parse and am.get(kind):
            raise form_error(
                "allowed_mentions",
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


def apply_mentions(msg: FakeMessage, pings: set[str], users: Mapping[str, Json]) -> None:
    """Fill a message's ``mentions``/``mention_roles``/``mention_everyone`` from its pings."""
    msg.mentions = [dict(users[p[5:]]) for p in sorted(pings) if p.startswith("user:") and p[5:] in users]
    reply = next((p[6:] for p in pings if p.startswith("reply:")), None)
    if reply and reply in users and all(u["id"] != reply for u in msg.mentions):
        msg.mentions.append(dict(users[reply]))
    msg.mention_roles = [p[5:] for p in sorted(pings) if p.startswith("role:")]
    msg.mention_everyone = "@everyone" in pings or "@here" in pings


def find_violations(messages: Iterable[FakeMessage], bot_id: str, *, strict: bool = True) -> list[MentionViolation]:
    """Every create/edit by the bot (`bot_id`) that could ping.

    strict (default): any write carrying text without ``allowed_mentions``, or whose
    ``allowed_mentions`` allows anything (non-empty ``parse``, ``users``, ``roles`` or
    ``replied_user: true``) -- the model's output is arbitrary, so only "none" is safe.
    Non-strict: only writes whose actual content would have pinged someone.
    Writes without text (a defer, a components-only create) are skipped.
    """
    out: list[MentionViolation] = []
    for m in messages:
        if m.author["id"] != bot_id:
            continue
        for w in m.writes:
            carries_text = "content" in w.payload and bool(w.payload.get("content"))
            if w.kind == "edit" and w.content:
                carries_text = True  # Discord re-parses the content on every edit
            if not carries_text:
                continue
            reasons: list[str] = []
            am = w.allowed_mentions
            if strict:
                if am is None:
                    reasons.append("no allowed_mentions")
                else:
                    if am.get("parse"):
                        reasons.append(f"parse={am['parse']}")
                    if am.get("users"):
                        reasons.append(f"users={am['users']}")
                    if am.get("roles"):
                        reasons.append(f"roles={am['roles']}")
                    if am.get("replied_user"):
                        reasons.append("replied_user=true")
            if w.pings:
                reasons.append(f"pings {sorted(w.pings)}")
            if reasons:
                out.append(MentionViolation(m.id, w.time, w.route, w.content, am, reasons, set(w.pings)))
    return out
