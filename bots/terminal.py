"""`trickle ask`: the terminal as the simplest surface.

A terminal can append but not edit, so it needs no relay: each delta is written and
flushed as it arrives. Notices and errors go to stderr so stdout holds only the answer.
"""

from __future__ import annotations

import sys
from typing import TextIO

from core.conversation import conversation
from core.models import EndReason, Finish, StreamError, TextDelta, Waiting
from core.notices import end_for_error, notice_for
from core.settings import Settings
from core.sources.factory import build_source


async def ask(
    settings: Settings,
    prompt: str,
    *,
    model: str | None = None,
    stream: bool = True,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Answer `prompt` on `out`; return the exit code CONTRACT.md gives."""
    out = out or sys.stdout
    err = err or sys.stderr
    source = build_source(settings)
    pieces: list[str] = []
    finish: str | None = None
    failure: StreamError | None = None
    try:
        async for event in source.stream(conversation(settings.system_prompt, [], prompt), model=model):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                if stream:
                    out.write(event.text)
                    out.flush()
            elif isinstance(event, Finish):
                finish = event.reason
            elif isinstance(event, StreamError):
                failure = event
            elif isinstance(event, Waiting):
                print(f"trickle: {event.why}; retrying in {event.seconds:.3g} s", file=err)
    finally:
        await source.aclose()
        text = "".join(pieces)
        if not stream:
            out.write(text)
        if text and not text.endswith("\n"):
            out.write("\n")
        out.flush()
    if failure is not None:
        print(f"trickle: {_plain(notice_for(end_for_error(failure.kind), detail=failure.message))}", file=err)
        return 1
    if finish in ("length", "content_filter"):
        print(f"trickle: {_plain(notice_for(EndReason(finish)))}", file=err)
    return 0


def _plain(notice: str | None) -> str:
    """A notice without its Markdown italics and parentheses, for a terminal line."""
    return (notice or "").strip("_").strip("()")
