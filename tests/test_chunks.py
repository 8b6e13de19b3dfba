"""Reading the OpenAI wire format's chunks: every shape servers send, one line each."""

from __future__ import annotations

import pytest

from core.models import Finish, TextDelta, Usage
from core.sources.chunks import ChunkReader


def choice(content=None, finish=None, **extra):
    return {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish, **extra}]}


def read_all(*chunks):
    reader = ChunkReader()
    return [event for chunk in chunks for event in reader.read(chunk)]


def test_content_then_finish_then_usage():
    usage = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    assert read_all(choice("Hi"), choice(" there"), choice(finish="stop"), usage) == [
        TextDelta("Hi"),
        TextDelta(" there"),
        Finish("stop"),
        Usage(3, 2),
    ]


@pytest.mark.parametrize(
    "chunk",
    [
        {"choices": [{"delta": {"content": "x"}}]},  # no index
        {"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}], "usage": None},
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "x"}}]},
    ],
)
def test_shapes_that_carry_text(chunk):
    assert read_all(chunk) == [TextDelta("x")]


@pytest.mark.parametrize(
    "chunk",
    [
        {},
        [],
        {"choices": None},
        {"choices": [{"index": 1, "delta": {"content": "other choice"}}]},
        {"choices": [{"index": 0, "delta": None}]},
        {"choices": [{"index": 0, "delta": {"content": None}}]},
        {"choices": [{"index": 0, "delta": {"content": ""}}]},
        {"choices": ["junk"]},
        {"choices": [], "usage": "n/a"},
    ],
)
def test_shapes_that_carry_nothing(chunk):
    assert read_all(chunk) == []


def test_the_first_finish_reason_wins():
    assert read_all(choice("a", "length"), choice(finish="stop")) == [TextDelta("a"), Finish("length")]


def test_text_and_finish_in_one_chunk():
    assert read_all(choice("end.", "stop")) == [TextDelta("end."), Finish("stop")]


def test_a_split_surrogate_pair_is_rejoined_and_a_lone_one_replaced():
    assert read_all(choice("a\ud83d"), choice("\ude00b")) == [TextDelta("a"), TextDelta("\U0001f600b")]
    assert read_all(choice("x\ud83d"), choice(finish="stop")) == [TextDelta("x"), TextDelta("\ufffd"), Finish("stop")]
    assert read_all(choice("\ude00")) == [TextDelta("\ufffd")]


def test_usage_counts_that_are_not_numbers_count_as_zero():
    assert read_all({"choices": [], "usage": {"prompt_tokens": None}}) == [Usage(0, 0)]


def test_a_message_goes_on_the_wire_with_its_images_as_parts_unless_the_model_reads_none():
    from core.models import ChatMessage
    from core.sources.chunks import wire_message

    message = ChatMessage("user", "what is this?", images=("data:image/png;base64,AAAA",))
    parts = wire_message(message)["content"]
    assert parts[0] == {"type": "text", "text": "what is this?"}
    assert parts[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert wire_message(message, images=False) == {"role": "user", "content": "what is this?"}
