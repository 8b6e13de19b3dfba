"""Keeping a model's control characters away from the terminal showing its answer.

Why: a terminal obeys what it is sent. A model (or a prompt-injected document it read)
can write `ESC ] 0 ; title BEL` to retitle the window, `ESC [ 2 J` to clear the screen,
`ESC ] 52 ; c ; <base64> BEL` to put text on the clipboard, or `\\r` to write over what
a line seemed to say. On a terminal `trickle ask` therefore shows the answer without
C0 controls (except newline and tab), DEL and C1 controls; piped output stays exact.

Whole escape sequences are dropped, not just their ESC, else `]52;c;...` is left on
screen: CSI (`ESC [` or 8-bit `0x9B`) up to its final byte, string controls (OSC, DCS,
SOS, PM, APC, 7- or 8-bit) up to their terminator (`BEL`, `ESC \\` or `0x9C`), and the
short `ESC x` forms. A stream splits text anywhere, so `EscapeStripper` keeps the state
of a sequence cut between two deltas; it buffers nothing, so text shows as it arrives.

`\\r` is dropped too: a model ends lines with `\\n` (a `\\r\\n` still shows as a line
break), and a bare `\\r` only serves to overwrite what was shown.
"""

from __future__ import annotations

import re
from enum import Enum

ESC, BEL, CAN, SUB, ST = "\x1b", "\x07", "\x18", "\x1a", "\x9c"
CSI_8BIT = "\x9b"
STRING_OPENERS = frozenset("]PX^_")  # OSC, DCS, SOS, PM, APC after ESC
STRING_8BIT = frozenset("\x9d\x90\x98\x9e\x9f")  # the same, as C1 characters
# Everything shown as is: not C0 (but \t and \n), not DEL, not C1.
_PLAIN = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f-\x9f]+")


class _State(Enum):
    TEXT = "text"
    ESCAPE = "escape"  # after ESC
    ESCAPE_MORE = "escape+"  # after ESC and intermediate bytes (ESC ( B)
    CSI = "csi"  # inside a control sequence
    STRING = "string"  # inside OSC/DCS/SOS/PM/APC
    STRING_ESCAPE = "string-escape"  # ESC inside a string: ST, or a new sequence


class EscapeStripper:
    """Feeds stream deltas through, returning what a terminal may be shown.

    A small state machine (the one terminals run, reduced to what to skip): the state is
    where the last delta left off, so a sequence split across deltas is still dropped
    whole. An unterminated string control swallows the rest, as a terminal would.
    """

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state = _State.TEXT

    def __repr__(self) -> str:
        return f"<EscapeStripper {self._state.value}>"

    def feed(self, text: str) -> str:
        """The part of `text` to show, given what came before it."""
        shown: list[str] = []
        i, end = 0, len(text)
        while i < end:
            if self._state is _State.TEXT:
                plain = _PLAIN.match(text, i)
                if plain:
                    shown.append(plain.group())
                    i = plain.end()
                    continue
                self._control(text[i])
            else:
                self._inside(text[i], shown)
            i += 1
        return "".join(shown)

    def _control(self, char: str) -> None:
        """A control character met in plain text: drop it, maybe entering a sequence."""
        if char == ESC:
            self._state = _State.ESCAPE
        elif char == CSI_8BIT:
            self._state = _State.CSI
        elif char in STRING_8BIT:
            self._state = _State.STRING

    def _inside(self, char: str, shown: list[str]) -> None:
        """One character of a sequence: skip it and move on, or end the sequence."""
        state, code = self._state, ord(char)
        if char in (CAN, SUB):  # cancel any sequence, as terminals do
            self._state = _State.TEXT
        elif state is _State.STRING:
            if char == ESC:
                self._state = _State.STRING_ESCAPE
            elif char in (BEL, ST):
                self._state = _State.TEXT
        elif state is _State.STRING_ESCAPE:
            self._state = _State.TEXT if char == "\\" else _State.ESCAPE
            if char != "\\":
                self._inside(char, shown)
        elif state is _State.CSI:
            if not 0x20 <= code <= 0x7E:  # not part of a CSI: it ends, the char counts anew
                self._state = _State.TEXT
                shown.append(self.feed(char))
            elif code >= 0x40:  # the final byte
                self._state = _State.TEXT
        elif state is _State.ESCAPE and char == "[":
            self._state = _State.CSI
        elif state is _State.ESCAPE and char in STRING_OPENERS:
            self._state = _State.STRING
        elif 0x20 <= code <= 0x2F:  # intermediate bytes of ESC ( B and kin
            self._state = _State.ESCAPE_MORE
        elif 0x30 <= code <= 0x7E:  # the final byte of a short escape
            self._state = _State.TEXT
        else:  # ESC followed by something that ends it: the char counts anew
            self._state = _State.TEXT
            shown.append(self.feed(char))


def strip_escapes(text: str) -> str:
    """`text` without control characters or escape sequences (see the module doc)."""
    return EscapeStripper().feed(text)
