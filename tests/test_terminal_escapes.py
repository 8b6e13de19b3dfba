"""What `trickle ask` shows a terminal: the model's text without its control sequences."""

from __future__ import annotations

import pytest

from bots.terminal_escapes import EscapeStripper, strip_escapes


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\x1b]0;pwned\x07b", "ab"),  # OSC 0: window title, ended by BEL
        ("a\x1b]2;pwned\x1b\\b", "ab"),  # OSC 2, ended by ST (ESC \)
        ("top\x1b[2J\x1b[Hbottom", "topbottom"),  # clear screen, cursor home
        ("x\x1b]52;c;cm0gLXJmIH4=\x07y", "xy"),  # OSC 52: write the clipboard
        ("\x9b31mred\x9b0m", "red"),  # 8-bit CSI
        ("\x9d0;title\x9cok", "ok"),  # 8-bit OSC ended by 8-bit ST
        ("\x1bPq#0;2;0;0;0\x1b\\pic", "pic"),  # DCS (sixel)
        ("\x1b(Bcharset", "charset"),  # ESC with an intermediate byte
        ("\x1bcreset", "reset"),  # ESC c: full reset
        ("\x1b[?1049hscreen", "screen"),  # private CSI: alternate screen
        ("bell\x07 nul\x00 bs\x08 del\x7f c1\x85", "bell nul bs del c1"),
        ("rm -rf ~\rls", "rm -rf ~ls"),  # \r cannot overwrite what was shown
        ("line\r\nnext", "line\nnext"),
        ("\x1b]0;never ended", ""),  # an unterminated string swallows the rest
        ("a\x1b]0;t\x18b", "ab"),  # CAN cancels a sequence
        ("\x1b\x1b[1mbold", "bold"),
        ("\x1b[1\nm", "\nm"),  # a control ends a CSI and is itself judged
    ],
)
def test_control_sequences_are_removed_whole(text: str, shown: str) -> None:
    assert strip_escapes(text) == shown


def test_ordinary_text_passes_unchanged() -> None:
    text = "Café ☕ — «quotes», tabs\tand\nnew lines, `code`, 日本語, emoji 🎉, [brackets] ]52;"
    assert strip_escapes(text) == text


@pytest.mark.parametrize("cut", range(1, 22))
def test_a_sequence_split_between_two_deltas_is_still_removed(cut: int) -> None:
    text = "one \x1b]52;c;cm0gLXJmIH4=\x07two \x1b[2J"
    stripper = EscapeStripper()
    assert stripper.feed(text[:cut]) + stripper.feed(text[cut:]) == "one two "


def test_a_stream_of_single_characters_shows_the_same_as_the_whole() -> None:
    text = "a\x1b]0;t\x07b\x9b2Jc\x1bPdcs\x1b\\d\x1b(Be\rf\x9d52;c;x\x9cg"
    stripper = EscapeStripper()
    assert "".join(stripper.feed(c) for c in text) == strip_escapes(text) == "abcdefg"


def test_the_state_shows_in_repr() -> None:
    stripper = EscapeStripper()
    stripper.feed("\x1b]0;")
    assert "string" in repr(stripper)
