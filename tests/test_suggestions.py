"""Suggested prompts (the setting's two spellings) and conversation titles."""

from __future__ import annotations

import pytest

from bots.settings import Settings
from core.conversation.suggestions import DEFAULT_PROMPTS, MAX_PROMPTS, SuggestedPrompt, parse_prompts, title_for
from core.settings import SettingsError


def test_prompts_are_read_from_lines_or_json() -> None:
    assert parse_prompts("Summarize | Summarize this thread; Hi") == (
        SuggestedPrompt("Summarize", "Summarize this thread"),
        SuggestedPrompt("Hi", "Hi"),
    )
    assert parse_prompts('[{"title": "A", "message": "ask a"}]') == (SuggestedPrompt("A", "ask a"),)


@pytest.mark.parametrize("raw", ["", "[1, 2]", "[{", " | message", "a;b;c;d;e"])
def test_bad_prompts_are_refused_with_the_reason(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_prompts(raw)


def test_the_setting_names_itself_when_wrong_and_defaults_when_unset() -> None:
    assert Settings.from_mapping({}).suggested_prompts == DEFAULT_PROMPTS
    assert len(DEFAULT_PROMPTS) <= MAX_PROMPTS
    with pytest.raises(SettingsError, match="TRICKLE_SUGGESTED_PROMPTS"):
        Settings.from_mapping({"TRICKLE_SUGGESTED_PROMPTS": "[not json"})


def test_titles_are_short_plain_first_lines() -> None:
    assert title_for("  *How* do I <@U123> deploy `trickle`?\nmore") == "How do I deploy trickle?"
    long = "Please explain in great detail how the planner decides which write goes next and why"
    title = title_for(long)
    assert len(title) <= 60 and title.endswith("…") and long.startswith(title[:-1])
    assert title_for("   \n  ") == "New question"
