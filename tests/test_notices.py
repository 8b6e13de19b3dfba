"""Notices: how an unusual end is said, and how an earlier answer is read back to the model."""

from __future__ import annotations

import pytest

from core.assistant import Asker, Assistant, Question
from core.models import ChatMessage, EndReason
from core.notices import notice_for, with_notice, without_notice
from core.settings import Settings
from tests.fakes.model import ScriptedSource


@pytest.mark.parametrize("end", [e for e in EndReason if e is not EndReason.STOP])
def test_every_notice_comes_off_an_answer_it_was_added_to(end):
    notice = notice_for(end, detail="why", by="Ada")
    for text in ("Half an answer", "Line one\n", "", "Ends in a list:\n\n- a\n\n"):
        # only the newlines that separated the notice go with it
        assert without_notice(with_notice(text, notice)) == text.rstrip("\n")


def test_text_that_merely_looks_italic_inside_is_kept():
    assert without_notice("See _(this)_ here.") == "See _(this)_ here."
    assert without_notice("A normal answer.") == "A normal answer."


def test_the_model_reads_its_past_answers_without_their_notices():
    assistant = Assistant(source=ScriptedSource([]), settings=Settings.from_mapping({}))
    history = [
        ChatMessage("user", "write a poem", "Ada"),
        ChatMessage("assistant", "Roses are red\n\n_(stopped by Ada)_"),
        ChatMessage("user", "_(not a notice to strip)_", "Ada"),
    ]
    messages, _ = assistant.messages_for(Question("go on", Asker("U1", "Ada"), history=history))
    assert [m.content for m in messages[1:]] == [
        "write a poem", "Roses are red", "_(not a notice to strip)_", "go on",
    ]
