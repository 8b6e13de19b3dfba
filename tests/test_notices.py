"""Notices: how an unusual end is said, and how an earlier answer is read back to the model."""

from __future__ import annotations

import pytest

from bots.settings import Settings
from core.assistant import Assistant
from core.models import ChatMessage, EndReason, ErrorKind, StreamError
from core.notices import error_notice, notice_for, with_notice, without_notice
from core.question import Asker, Question
from tests.fakes.model import ScriptedSource

TRANSIENT = {ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED, ErrorKind.CONNECTION, ErrorKind.LOST, ErrorKind.API}


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
    messages = assistant.fit(Question("go on", Asker("U1", "Ada"), history=history)).messages
    assert [m.content for m in messages[1:]] == [
        "write a poem",
        "Roses are red",
        "_(not a notice to strip)_",
        "go on",
    ]


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_setup_failures_name_a_setting_and_transient_ones_say_ask_again(kind: ErrorKind):
    notice = error_notice(StreamError(kind, "gpt-x" if kind is ErrorKind.NOT_FOUND else ""))
    assert notice.startswith("_(") and notice.endswith(")_") and "\n" not in notice
    assert ("ask again" in notice) is (kind in TRANSIENT)
    if kind.is_setup and kind is not ErrorKind.CONFIG:
        assert "check" in notice


def test_a_failure_notice_never_carries_the_servers_words():
    leaked = "Incorrect API key provided: sk-canary-1234567890 at proxy.corp.internal"
    for kind in set(ErrorKind) - {ErrorKind.NOT_FOUND, ErrorKind.REQUEST, ErrorKind.CONFIG, ErrorKind.LOST}:
        assert "canary" not in error_notice(StreamError(kind, leaked))


def test_the_fixed_texts_by_cause():
    assert (
        error_notice(StreamError(ErrorKind.AUTH, "")) == "_(the model refused the credentials — check OPENAI_API_KEY)_"
    )
    assert error_notice(StreamError(ErrorKind.NOT_FOUND, "x")) == (
        '_(model "x" not found at the endpoint — check TRICKLE_MODEL / OPENAI_BASE_URL)_'
    )
    assert (
        error_notice(StreamError(ErrorKind.RATE_LIMITED, "")) == "_(the model is rate limited — ask again in a minute)_"
    )
    assert error_notice(StreamError(ErrorKind.CONTEXT, "")) == (
        "_(the conversation is too long for the model's context — start a new thread)_"
    )
    assert error_notice(StreamError(ErrorKind.CONNECTION, "")) == "_(the model endpoint is unreachable — ask again)_"
    assert error_notice(StreamError(ErrorKind.API, "")) == "_(the model failed: server error — ask again)_"
    assert (
        error_notice(StreamError(ErrorKind.EMPTY, ""))
        == "_(the model sent nothing — the prompt may exceed its context)_"
    )


def test_a_length_end_names_the_cap_trickle_sent():
    assert (
        notice_for(EndReason.LENGTH, limit=1024)
        == "_(cut short at the 1024-token limit — TRICKLE_MAX_TOKENS raises it)_"
    )
    assert notice_for(EndReason.LENGTH) == "_(cut short: the answer reached the length limit)_"
