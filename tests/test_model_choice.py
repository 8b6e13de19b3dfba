"""TRICKLE_MODELS: the models people may pick, how they are offered, how others are refused."""

from __future__ import annotations

import pytest

from bots.settings import Settings
from core.settings import SettingsError
from core.team.model_choice import CHOICE_LIMIT, as_fixed_choices, refusal, suggestions


def test_unset_only_the_default_model_may_be_chosen():
    assert Settings.from_mapping({}).models == ("gpt-4o-mini",)
    assert Settings.from_mapping({"TRICKLE_MODEL": "llama3"}).models == ("llama3",)


def test_the_list_is_trimmed_and_deduplicated_in_order():
    s = Settings.from_mapping({"TRICKLE_MODEL": "b", "TRICKLE_MODELS": " a, b ,,a, c"})
    assert (s.model, s.models) == ("b", ("a", "b", "c"))


def test_a_default_model_missing_from_the_list_names_both_variables():
    with pytest.raises(SettingsError, match="TRICKLE_MODEL='gpt-4o-mini' is not in TRICKLE_MODELS"):
        Settings.from_mapping({"TRICKLE_MODELS": "gpt-4o,o1"})


@pytest.mark.parametrize("value", [",", " , ", "gpt-4o-mini," + "x" * 101])
def test_an_unusable_list_names_the_variable(value: str):
    with pytest.raises(SettingsError, match="TRICKLE_MODELS"):
        Settings.from_mapping({"TRICKLE_MODELS": value})


def test_an_allowed_model_or_none_is_not_refused():
    assert refusal(None, ("a",)) is None
    assert refusal("a", ("a", "b")) is None


def test_a_refusal_names_the_refused_model_and_every_allowed_one():
    assert refusal("o1-pro", ("a", "b")) == "`o1-pro` is not a model you can choose here. Choose one of: `a`, `b`."


def test_a_refusal_of_many_models_fits_one_message_and_says_how_many_more():
    allowed = [f"model-number-{n:03d}" for n in range(300)]
    text = refusal("x", allowed)
    assert text is not None and len(text) <= 1800
    listed = text.count("`model-number-")
    assert text.endswith(f" and {300 - listed} more.") and listed > 10


def test_a_refused_name_cannot_break_out_of_its_code_span():
    text = refusal("a`b" + "z" * 200, ("a",))
    assert text is not None and text.startswith("`a'bzz") and "…`" in text


def test_up_to_25_models_are_fixed_choices_more_need_autocomplete():
    assert as_fixed_choices(["m"] * CHOICE_LIMIT)
    assert not as_fixed_choices(["m"] * (CHOICE_LIMIT + 1))


def test_suggestions_follow_the_typed_prefix_in_the_operators_order():
    allowed = ["gpt-4o-mini", "gpt-4o", "o1", "GPT-5"]
    assert suggestions(allowed, "gpt") == ["gpt-4o-mini", "gpt-4o", "GPT-5"]
    assert suggestions(allowed, " O") == ["o1"]
    assert suggestions(allowed, "claude") == []


def test_suggestions_stop_at_the_platforms_limit():
    allowed = [f"m{n}" for n in range(100)]
    assert suggestions(allowed, "") == allowed[:25]
    assert len(suggestions(allowed, "m")) == 25
