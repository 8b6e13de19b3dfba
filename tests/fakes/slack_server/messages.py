"""What a message is in the fake, and what a user sees of it.

Tests compare what is on screen, not what was sent: Slack shows blocks over `text`, a
natively streamed message shows its Markdown, and every version a message showed is kept
with the clock time it appeared, so a benchmark can tell how stale the screen was. These
are plain values and pure functions with no server state, so tests can apply them to any
Slack-shaped dict as well as to the fake's own messages.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Block = dict[str, Any]


def unescape(s: str) -> str:
    """Undo Slack's text escaping (`&amp;` `&lt;` `&gt;`), `&amp;` last so it stays exact."""
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def block_texts(blocks: Sequence[Block] | None) -> tuple[list[str], list[str]]:
    """The texts of `markdown` blocks and of `section` blocks, in order."""
    markdown: list[str] = []
    sections: list[str] = []
    for block in blocks or ():
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "markdown":
            markdown.append(str(block.get("text", "")))
        elif block.get("type") == "section":
            inner = block.get("text")
            if isinstance(inner, Mapping):
                sections.append(str(inner.get("text", "")))
    return markdown, sections


def _visible(text: str, blocks: Sequence[Block] | None, *, section_sep: str = "\n") -> str:
    """What Slack shows for a message holding `text` and `blocks` (see `visible_text`)."""
    markdown, sections = block_texts(blocks)
    if markdown:
        return "\n".join(markdown)
    if sections:
        return section_sep.join(sections)
    return text


def visible_text(msg: FakeMessage | Mapping[str, Any], *, section_sep: str = "\n") -> str:
    """The text a user sees in `msg` (a `FakeMessage` or a Slack-shaped message dict).

    With blocks Slack shows the blocks and keeps `text` for notifications, so: the
    `markdown` block's text if there is one, else the `section` texts joined by
    `section_sep` (each section renders on its own line), else `text`. A natively
    streamed message shows its streamed Markdown (kept in `text`); blocks given to
    `chat.stopStream` render below it and are not part of the answer. Escaping is kept:
    pass the result through `unescape` to compare with the model's text.
    """
    if isinstance(msg, FakeMessage):
        if msg.streamed:
            return msg.text
        return _visible(msg.text, msg.blocks, section_sep=section_sep)
    return _visible(str(msg.get("text", "")), msg.get("blocks"), section_sep=section_sep)


def ts_key(ts: str) -> tuple[int, int]:
    """Sort key for Slack ts strings ("1700000000.000100"), numeric on both halves."""
    head, _, tail = ts.partition(".")
    try:
        return int(head), int(tail.ljust(6, "0")[:6])
    except ValueError:
        return 0, 0


def as_ts(value: Any) -> str | None:
    """A ts param as Slack's canonical string, whatever type the client sent it as."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


class Version(NamedTuple):
    """One state a message showed: from `time` (the fake's clock) until the next version."""

    time: float
    text: str
    blocks: list[Block] | None


@dataclass(slots=True)
class FakeMessage:
    """A message as the fake stores it; `history` holds every version it showed.

    `history[0]` is the post (or the user's event), then one entry per successful
    `chat.update`, stream append and stream stop, each stamped with the fake's clock, so
    "when did this text first become visible" is `first_visible(text)`. `metadata` is the
    message metadata the app attached (bolt's assistant keeps thread context there);
    `extra` holds fields Slack adds to special messages (an assistant thread's parent
    carries `assistant_app_thread` with its title).
    """

    channel: str
    ts: str
    text: str
    user: str | None
    bot_id: str | None = None
    thread_ts: str | None = None
    blocks: list[Block] | None = None
    history: list[Version] = field(default_factory=list)
    subtype: str | None = None
    edited: dict[str, str] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    deleted: bool = False
    streamed: bool = False
    stream_started: float | None = None
    stream_stopped: bool = False
    stream_recipient: tuple[str | None, str | None] | None = None
    stream_versions: int = 0
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_bot(self) -> bool:
        """True for messages the bot posted (the only ones it may update or delete)."""
        return self.bot_id is not None

    @property
    def is_reply(self) -> bool:
        """True for a reply inside a thread (not the thread's parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def visible(self) -> str:
        """`visible_text(self)`: what the message shows now."""
        return visible_text(self)

    def record(self, at: float) -> None:
        """Append the current state to `history` (copied, so later edits cannot alter it)."""
        self.history.append(Version(at, self.text, copy.deepcopy(self.blocks)))
        if self.streamed:
            self.stream_versions = len(self.history)

    def visible_history(self, *, section_sep: str = "\n") -> list[tuple[float, str]]:
        """`(time, visible text)` for every version, oldest first.

        Versions written by native streaming show their streamed text (see `visible_text`).
        """
        return [
            (v.time, v.text if i < self.stream_versions else _visible(v.text, v.blocks, section_sep=section_sep))
            for i, v in enumerate(self.history)
        ]

    def first_visible(self, needle: str) -> float | None:
        """The clock time of the first version whose visible text contains `needle`."""
        for at, text in self.visible_history():
            if needle in text:
                return at
        return None


def rich_text_blocks(text: str, *, block_id: str) -> list[Block]:
    """The `rich_text` rendering Slack attaches to a plain-text message."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": block_id, "elements": [section]}]


def channel_name(channel: str) -> str:
    """The `channel_name` Slack puts in payloads: "directmessage" for a DM, else a name."""
    return "directmessage" if channel.startswith("D") else channel.lower()


def channel_type_of(channel: str) -> str:
    """Slack's `channel_type` for an id: D -> im, G -> group (private), else channel."""
    if channel.startswith("D"):
        return "im"
    if channel.startswith("G"):
        return "group"
    return "channel"
