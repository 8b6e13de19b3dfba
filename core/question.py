"""A question as every adapter hands it to the assistant: what, who asked, and where.

Platform-neutral values and the words around them (the usage hint, the question files
ask when shared without a word), so that adapters build questions without importing
the assistant that answers them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from core.attachments.fetching import RemoteFile
from core.models import ChatMessage
from core.quotas.shared_slots import Place

USAGE_HINT = "Ask me something after the mention, e.g. “@trickle what is a monad?”"


def new_answer_id() -> str:
    """A short unique id naming one answer in logs, buttons and state."""
    return uuid.uuid4().hex[:12]


def is_blank(text: str) -> bool:
    """A question with nothing to answer (only spaces, or nothing at all)."""
    return not text.strip()


def about_files(count: int) -> str:
    """The question asked by files shared without a word."""
    return "What is in the attached file?" if count == 1 else "What is in the attached files?"


def queue_full(waiting: int) -> str:
    """Why a question is refused when its asker's queue is full."""
    if waiting <= 0:
        return "your previous question is still being answered — ask again when it is done"
    plural = "s" if waiting > 1 else ""
    return f"you already have {waiting} question{plural} waiting — ask again when one is answered"


@dataclass(frozen=True, slots=True)
class Asker:
    """The person who asked, as the platform names them."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Question:
    """One request for an answer, platform-neutral."""

    text: str
    asker: Asker
    history: Sequence[ChatMessage] = ()
    model: str | None = None
    place: str = ""
    # A summary reads the whole conversation: only the model's context bounds its
    # history, not TRICKLE_HISTORY_TOKENS (which keeps ordinary follow-ups cheap).
    whole_history: bool = False
    # Files attached to the question, downloaded and read once the placeholder is up.
    files: Sequence[RemoteFile] = ()
    # Instead of TRICKLE_SYSTEM_PROMPT (None: that one); `Assistant.with_channel_prefs`
    # fills it in from the channel's prefs.
    system_prompt: str | None = None


@dataclass(slots=True)
class Admission:
    """A question let in, holding its `place` in the asker's queue, or refused and why.

    Adapters that must decide something before the answer begins (Discord's `/ask`:
    a private refusal needs no deferral) ask `Assistant.admit` themselves and hand the
    admission to `answer`; whoever holds one that never reaches `answer` calls `release`.
    """

    refusal: str | None = None
    place: Place | None = None
