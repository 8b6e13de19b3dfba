"""Which Slack events ask the bot something, and what they ask: pure, no I/O.

One user message can reach the bot up to three times (`app_mention`, `message`, and
Slack's retries of either), and the bot's own posts and edits come back as events too.
Deciding here, without a network or a loop, keeps those rules in one place and testable.
The caller de-duplicates on channel + message ts and checks whether a thread is followed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Subtypes that are still a person writing something (a reply also sent to the channel,
# a message with a file). Every other subtype (edits, deletions, joins, bots) is ignored.
_PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
_CONTROL = re.compile(r"<([^<>\n]*)>")
_LEADING_MENTION = re.compile(r"\s*<@([A-Z0-9]+)(?:\|[^>]*)?>")


class Kind(enum.Enum):
    """Why the bot would answer."""

    MENTION = "mention"  # the bot is mentioned in a channel: answer in a thread
    DIRECT = "direct"  # a direct message: answer in the DM
    FOLLOW_UP = "follow_up"  # a reply in a thread: answer only if the bot follows it
    OVERHEARD = "overheard"  # a reply to someone else in a thread: history, not a question
    SHORTCUT = "shortcut"  # a message shortcut (a summary): answer in the message's thread


@dataclass(frozen=True, slots=True)
class SlackFile:
    """A file shared with a message, as the event describes it (not downloaded)."""

    name: str
    mimetype: str
    size: int | None
    url: str  # url_private_download: needs the bot token (scope files:read)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A person's message the bot may answer, and where the answer goes.

    `thread_ts` is the thread to answer in, or None for the top level of a DM. `text` is
    Slack's text with the bot's mention removed, still in Slack's escaped form.
    """

    kind: Kind
    team: str
    channel: str
    ts: str
    thread_ts: str | None
    user: str
    text: str
    files: tuple[SlackFile, ...] = ()

    @property
    def dedupe_key(self) -> str:
        """One answer per message, however many events and retries carry it."""
        return f"slack:{self.channel}:{self.ts}"


def classify(event: Mapping[str, Any], *, bot_user_id: str, team: str = "") -> Trigger | None:
    """The trigger `event` carries, or None when the bot should not answer it.

    FOLLOW_UP and OVERHEARD are only candidates: they matter if the bot follows the thread
    (a FOLLOW_UP is answered, an OVERHEARD message only joins the thread's history).
    """
    kind_of_event = event.get("type")
    if kind_of_event not in ("app_mention", "message"):
        return None
    if event.get("subtype") not in _PERSON_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not user or not channel or not ts or user == bot_user_id:
        return None
    text = str(event.get("text") or "")
    thread_ts = event.get("thread_ts") or None
    team = str(event.get("team") or team)
    mentioned = kind_of_event == "app_mention" or mentions(text, bot_user_id)
    question = strip_mention(text, bot_user_id)
    files = files_of(event)
    if event.get("channel_type") == "im" or str(channel).startswith("D"):
        return Trigger(Kind.DIRECT, team, channel, ts, thread_ts, user, question, files)
    if mentioned:
        return Trigger(Kind.MENTION, team, channel, ts, thread_ts or ts, user, question, files)
    if thread_ts and thread_ts != ts:
        kind = Kind.OVERHEARD if _addressed_to_someone_else(text, bot_user_id) else Kind.FOLLOW_UP
        return Trigger(kind, team, channel, ts, thread_ts, user, question, files)
    return None


def files_of(event: Mapping[str, Any]) -> tuple[SlackFile, ...]:
    """The downloadable files an event carries (Slack's own, not links to elsewhere)."""
    found = []
    for item in event.get("files") or ():
        if not isinstance(item, Mapping) or item.get("mode") in ("external", "tombstone", "hidden_by_limit"):
            continue
        url = item.get("url_private_download") or item.get("url_private")
        if not url:
            continue
        size = item.get("size")
        found.append(
            SlackFile(
                name=str(item.get("name") or item.get("title") or "file"),
                mimetype=str(item.get("mimetype") or ""),
                size=size if isinstance(size, int) else None,
                url=str(url),
            )
        )
    return tuple(found)


def mentions(text: str, user_id: str) -> bool:
    """Whether `text` mentions `user_id` (`<@U1>` or `<@U1|name>`)."""
    return f"<@{user_id}>" in text or f"<@{user_id}|" in text


def strip_mention(text: str, bot_user_id: str) -> str:
    """The text without the bot's mentions (the question is what is left)."""
    pattern = re.compile(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>")
    return re.sub(r"[ \t]{2,}", " ", pattern.sub("", text)).strip()


def _addressed_to_someone_else(text: str, bot_user_id: str) -> bool:
    """A thread reply that opens by mentioning another person is not for the bot."""
    match = _LEADING_MENTION.match(text)
    return match is not None and match[1] != bot_user_id


def mentioned_users(text: str) -> list[str]:
    """The user ids `text` mentions, in order, without repeats (to look names up)."""
    found: dict[str, None] = {}
    for match in _CONTROL.finditer(text):
        inner = match[1]
        if inner.startswith("@"):
            found.setdefault(inner[1:].partition("|")[0], None)
    return list(found)


def to_plain(text: str, names: Mapping[str, str]) -> str:
    """Slack's message text as a person reads it, for the model.

    `<@U1>` becomes `@Name`, `<#C1|general>` `#general`, `<!here>` `@here`,
    `<https://x|label>` `label (https://x)`, and `&lt;` `&gt;` `&amp;` the characters.
    """

    def replace(match: re.Match[str]) -> str:
        inner = match[1]
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (names.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            special = target[1:].split("^")[0]
            return label or f"@{special}"
        if label and label != target:
            return f"{label} ({target})"
        return target

    return unescape(_CONTROL.sub(replace, text))


def unescape(text: str) -> str:
    """Undo Slack's escaping of `&`, `<`, `>` (`&amp;` last, so `&amp;lt;` stays `&lt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
