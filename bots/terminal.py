"""`trickle ask`: the terminal as the simplest surface.

A terminal can append but not edit, so it needs no relay: each delta is written and
flushed as it arrives. Notices and errors go to stderr so stdout holds only the answer.
What goes to a terminal (not a pipe) loses its control characters and escape sequences
first (see `terminal_escapes.py`): the model's text must not drive the terminal.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bots.settings import Settings
from bots.terminal_escapes import EscapeStripper, strip_escapes
from core.conversation.context import answer_cap, context_tokens, fit_conversation
from core.models import EndReason, Finish, StreamError, TextDelta, Waiting
from core.notices import QUESTION_TOO_LONG, error_notice, notice_for
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
    """Answer `prompt` on `out`; return the exit code CONTRACT.md gives.

    Errors print the fixed notice a chat would show (never the server's words: those go
    to the log), so a setup error names the setting to fix rather than "ask again".
    """
    out = out or sys.stdout
    err = err or sys.stderr
    fitted = fit_conversation(
        settings.system_prompt,
        [],
        prompt,
        history_tokens=None,
        context=context_tokens(settings),
        answer=answer_cap(settings),
    )
    if fitted.too_long:  # refused before the model sees it, like in a chat
        _say(err, QUESTION_TOO_LONG)
        return 1
    shown = _Shown(out)
    source = build_source(settings)
    pieces: list[str] = []
    finish: Finish | None = None
    failure: StreamError | None = None
    try:
        async for event in source.stream(fitted.messages, model=model):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                if stream:
                    shown.write(event.text)
            elif isinstance(event, Finish):
                finish = event
            elif isinstance(event, StreamError):
                failure = event
            elif isinstance(event, Waiting):
                _say(err, f"{event.why}; retrying in {event.seconds:.3g} s")
    finally:
        await source.aclose()
        if not stream:
            shown.write("".join(pieces))
        shown.end_line()
    if failure is not None:
        _say(err, _plain(error_notice(failure)))
        return 1
    if finish is not None and finish.reason in ("length", "content_filter"):
        _say(err, _plain(notice_for(EndReason(finish.reason), limit=finish.limit)))
    return 0


class _Shown:
    """The answer as written to `out`: escapes stripped on a terminal, exact in a pipe.

    It remembers whether the last character *shown* ended a line, so the closing newline
    is added only when needed (the raw text may end in an escape sequence that was not).
    """

    __slots__ = ("_out", "_strip", "_line_open")

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._strip = EscapeStripper() if _is_terminal(out) else None
        self._line_open = False

    def __repr__(self) -> str:
        return f"<_Shown terminal={self._strip is not None} line_open={self._line_open}>"

    def write(self, text: str) -> None:
        if self._strip is not None:
            text = self._strip.feed(text)
        if text:
            self._out.write(text)
            self._out.flush()
            self._line_open = not text.endswith("\n")

    def end_line(self) -> None:
        if self._line_open:
            self._out.write("\n")
            self._line_open = False
        self._out.flush()


def _say(err: TextIO, line: str) -> None:
    """One `trickle: ...` line on stderr; its text may quote the model or its server."""
    print(f"trickle: {strip_escapes(line) if _is_terminal(err) else line}", file=err)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: treat as a pipe
        return False


def _plain(notice: str | None) -> str:
    """A notice without its Markdown italics and parentheses, for a terminal line."""
    return (notice or "").strip("_").strip("()")
