"""The pager: where a growing answer breaks into messages, and what each one shows."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Collection, Sequence

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.relay.paging import Page, Pager

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # one cluster, five code points
FLAGS = "\U0001f1fa\U0001f1f8\U0001f1eb\U0001f1f7"  # two clusters (US, FR)
E_ACUTE = "e\u0301"  # one cluster, two code points
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def slack_measure(text: str) -> int:
    """Slack's length once `&`, `<`, `>` are escaped as entities."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def join_pages(pages: Sequence[Page]) -> str:
    """Undo the fences the pager added and glue the pages back into the answer."""
    parts = []
    for page in pages:
        assert page.text.startswith(page.opener) and page.text.endswith(page.closer)
        parts.append(page.text[len(page.opener) : len(page.text) - len(page.closer)])
    return "".join(parts)


def open_fence(text: str) -> str | None:
    """The fence marker still open at the end of `text`, read as Markdown on its own."""
    fence = None
    for line in text.split("\n"):
        if not (match := _FENCE.match(line)):
            continue
        marker, info = match.group(1), match.group(2).strip()
        if fence is None:
            if marker[0] == "~" or "`" not in info:
                fence = marker
        elif marker[0] == fence[0] and len(marker) >= len(fence) and not info:
            fence = None
    return fence


def cluster_ends(text: str) -> set[int]:
    return {m.end() for m in regex.finditer(r"\X", text)} | {0}


def page_ends(pages: Sequence[Page]) -> list[int]:
    ends, at = [], 0
    for page in pages[:-1]:
        at += len(page.body)
        ends.append(at)
    return ends


def words(length: int, seed: int = 0) -> str:
    """Prose of exactly `length` characters, no newlines, ending in a letter."""
    rng = random.Random(seed)
    text = " ".join("".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 7))) for _ in range(length))
    return text[: length - 1] + "x"


class Stream:
    """Feeds an answer to a pager chunk by chunk, remembering everything each page showed."""

    def __init__(self, pager: Pager, limit: int, measure: Callable[[str], int] = len) -> None:
        self.pager, self.limit, self.measure = pager, limit, measure
        self.shown: dict[int, list[str]] = {}
        self.frozen: dict[int, Page] = {}

    def feed(self, text: str, *, final: bool = False) -> list[Page]:
        pages = self.pager.layout(text, final=final)
        assert len(pages) >= len(self.frozen)
        for index, page in enumerate(pages):
            assert self.measure(page.text) <= self.limit, page
            if index in self.frozen:
                assert page == self.frozen[index], "a complete page changed"
            elif page.complete:
                self.frozen[index] = page
            else:
                assert index == len(pages) - 1, "only the last page may be open"
                shown = self.shown.setdefault(index, [""])
                assert page.text.startswith(shown[-1]), "the open page took back text"
                shown.append(page.text)
        return pages

    def run(self, text: str, cuts: Sequence[int], seal_at: Collection[int] = ()) -> list[Page]:
        for step, cut in enumerate(sorted(set(cuts))):
            self.feed(text[:cut])
            if step in seal_at:
                self.pager.seal()
        final = self.feed(text, final=True)
        for index, texts in self.shown.items():
            for interim in texts:
                assert final[index].text.startswith(interim), (index, interim, final[index])
        return final


def random_cuts(text: str, seed: int, most: int = 40) -> list[int]:
    rng = random.Random(seed)
    cuts, at = [], 0
    while at < len(text):
        at += rng.randint(1, most)
        cuts.append(min(at, len(text)))
    return cuts


# -- one page ------------------------------------------------------------------------------


def test_empty_text_is_one_empty_open_page():
    assert Pager(limit=100).layout("") == [Page("", False)]


def test_empty_text_when_final_is_one_empty_complete_page():
    assert Pager(limit=100).layout("", final=True) == [Page("", True)]


def test_short_text_is_one_page():
    assert Pager(limit=100).layout("Hello there.", final=True) == [Page("Hello there.", True)]


def test_open_page_holds_back_its_last_characters():
    pager = Pager(limit=100, holdback=20)
    (page,) = pager.layout(words(95))
    assert not page.complete
    assert len(page.text) <= 80 and words(95).startswith(page.text)


def test_open_page_far_from_the_limit_shows_everything_at_once():
    pager = Pager(limit=100)
    assert pager.layout("Hello")[0].text == "Hello"  # the first token, whole, at once
    assert pager.layout("Hello cafe")[0].text == "Hello cafe"
    # a combining accent arriving later still only extends what was shown
    assert pager.layout("Hello cafe\u0301", final=True) == [Page("Hello cafe\u0301", True)]


def test_a_possible_fence_line_is_shown_only_once_whole():
    pager = Pager(limit=100)
    assert pager.layout("Code:\n``")[0].text == "Code:\n"
    assert pager.layout("Code:\n```py\n")[0].text == "Code:\n```py\n"


def test_holdback_is_clamped_to_leave_half_the_page():
    (page,) = Pager(limit=100, holdback=90).layout(words(99))
    assert 40 <= len(page.text) <= 50


def test_limit_below_forty_is_rejected():
    with pytest.raises(ValueError, match="at least 40"):
        Pager(limit=39)


def test_text_that_does_not_extend_the_previous_is_rejected():
    pager = Pager(limit=100)
    pager.layout("Hello there")
    with pytest.raises(ValueError, match="extend"):
        pager.layout("Goodbye")


# -- where pages split ---------------------------------------------------------------------


def test_long_prose_splits_after_a_paragraph_break():
    text = words(74) + "\n\n" + "abc\ndef ghi jkl " + words(60, seed=1)
    pages = Pager(limit=100, holdback=30).layout(text, final=True)
    assert pages[0].text == words(74) + "\n\n"


def test_split_keeps_a_whole_run_of_newlines_on_the_earlier_page():
    text = words(74) + "\n\n\n\n" + words(60, seed=1)
    pages = Pager(limit=100, holdback=30).layout(text, final=True)
    assert pages[0].text == words(74) + "\n\n\n\n"
    assert pages[1].text.startswith(words(60, seed=1)[:5])


def test_without_a_paragraph_break_prose_splits_after_a_newline():
    text = words(74) + "\n" + "abc def ghi " + words(60, seed=1)
    pages = Pager(limit=100, holdback=30).layout(text, final=True)
    assert pages[0].text == words(74) + "\n"


def test_without_a_newline_prose_splits_after_a_space():
    text = words(300)
    pages = Pager(limit=100).layout(text, final=True)
    assert len(pages) >= 3
    for page in pages[:-1]:
        assert page.text.endswith(" ")
    for page in pages[1:]:
        assert not page.text.startswith(" ")
    assert join_pages(pages) == text


def test_text_without_whitespace_splits_at_cluster_boundaries():
    text = "https://example.com/" + "aB3+/" * 100
    pages = Pager(limit=100).layout(text, final=True)
    assert len(pages) >= 5
    assert all(len(page.text) <= 100 for page in pages)
    assert join_pages(pages) == text


def test_no_page_exceeds_the_limit_when_entities_count_extra():
    text = "".join(f"a & b <c> {i} &&& <<>>\n" for i in range(80))
    pages = Pager(limit=60, measure=slack_measure).layout(text, final=True)
    assert len(pages) > 10
    assert all(slack_measure(page.text) <= 60 for page in pages)
    assert join_pages(pages) == text


def test_page_ends_fall_between_clusters_when_the_measure_counts_entities():
    text = ("&" + E_ACUTE + "<>") * 60
    pages = Pager(limit=40, measure=slack_measure).layout(text, final=True)
    assert set(page_ends(pages)) <= cluster_ends(text)
    assert all(slack_measure(page.text) <= 40 for page in pages)


# -- clusters ------------------------------------------------------------------------------


def test_emoji_zwj_sequences_are_never_split():
    text = FAMILY * 60
    pages = Pager(limit=40).layout(text, final=True)
    assert len(pages) > 5
    assert all(page.text and page.text == FAMILY * (len(page.text) // 5) for page in pages)


def test_flags_are_never_split():
    text = FLAGS * 40
    pages = Pager(limit=41).layout(text, final=True)
    assert set(page_ends(pages)) <= set(range(0, len(text) + 1, 2))
    assert join_pages(pages) == text


def test_combining_marks_stay_with_their_letter():
    text = E_ACUTE * 100
    pages = Pager(limit=41).layout(text, final=True)
    assert all(not page.text.startswith("\u0301") for page in pages)
    assert join_pages(pages) == text


def test_surrogate_pairs_left_in_a_string_are_never_split():
    text = "ab" + "\ud83d\ude00" * 60
    pages = Pager(limit=41).layout(text, final=True)
    assert all(not "\udc00" <= page.text[0] <= "\udfff" for page in pages)
    assert join_pages(pages) == text


def test_a_cluster_bigger_than_a_page_is_cut_rather_than_overflow():
    text = "Z" + "\u0301" * 300 + " done"
    pages = Pager(limit=50).layout(text, final=True)
    assert all(len(page.text) <= 50 for page in pages)
    assert join_pages(pages) == text


# -- code fences ---------------------------------------------------------------------------


CODE = "Intro.\n\n```python\n" + "".join(f"value_{i} = {i} * 2\n" for i in range(20)) + "```\nAfter.\n"


def test_a_fence_cut_by_a_split_is_closed_and_reopened_with_its_language():
    pages = Pager(limit=100).layout(CODE, final=True)
    assert pages[0].text.endswith("\n```") and pages[0].closer
    assert pages[1].text.startswith("```python\n") and pages[1].opener == "```python\n"
    assert join_pages(pages) == CODE


def test_every_complete_page_has_balanced_fences():
    pages = Pager(limit=100).layout(CODE, final=True)
    assert [open_fence(page.text) for page in pages] == [None] * len(pages)


def test_a_page_after_the_fence_closes_gets_no_opener():
    pages = Pager(limit=100).layout(CODE, final=True)
    assert pages[-1].text.endswith("After.\n") and pages[-1].closer == ""


def test_tilde_fences_are_reopened_with_tildes():
    text = "~~~~ js\n" + "let x = 1;\n" * 30 + "~~~~\n"
    pages = Pager(limit=80).layout(text, final=True)
    assert all(page.opener == "~~~~js\n" for page in pages[1:])
    assert all(open_fence(page.text) is None for page in pages)


def test_the_open_page_shows_no_closer():
    pager = Pager(limit=100)
    (page,) = pager.layout("```python\nx = 1\ny = 2\n")
    assert page.text == "```python\nx = 1\ny = 2\n" and page.closer == ""


def test_a_fence_left_open_at_the_end_is_closed_on_the_last_page():
    pages = Pager(limit=100).layout("Look:\n```sh\nls -la", final=True)
    assert pages == [Page("Look:\n```sh\nls -la\n```", True, "", "\n```")]


def test_a_fence_with_a_huge_marker_still_makes_progress():
    text = "`" * 30 + "\n" + "code line\n" * 40 + "`" * 30 + "\n"
    pages = Pager(limit=40).layout(text, final=True)
    assert all(len(page.text) <= 40 for page in pages)
    assert join_pages(pages) == text


def test_a_fence_line_longer_than_a_page_keeps_the_limit():
    text = "```" + "x" * 100 + "\ncode\n```\n"
    pages = Pager(limit=40).layout(text, final=True)
    assert all(len(page.text) <= 40 for page in pages)
    assert join_pages(pages) == text


def test_a_long_fence_line_is_never_cut():
    text = words(50) + "\n```" + "x" * 30 + "\nbody\n```\n" + words(60, seed=2)
    pages = Pager(limit=80, holdback=10).layout(text, final=True)
    assert all(open_fence(page.text) is None for page in pages)
    assert join_pages(pages) == text


# -- streaming -----------------------------------------------------------------------------


LONG = "\n\n".join(
    [
        words(300, seed=3),
        CODE,
        FAMILY * 12 + " " + FLAGS * 8 + " " + E_ACUTE * 30,
        words(250, seed=4),
        "a & b <tag> " * 20,
        "~~~\n" + "tilde code\n" * 15 + "~~~",
        words(500, seed=5),
    ]
)


@pytest.mark.parametrize("seed", range(5))
def test_interim_text_of_each_page_is_a_prefix_of_its_final_text(seed):
    stream = Stream(Pager(limit=120, measure=slack_measure), 120, slack_measure)
    final = stream.run(LONG, random_cuts(LONG, seed))
    assert len(stream.shown) == len(final) and join_pages(final) == LONG


def test_complete_pages_never_change_between_calls():
    stream = Stream(Pager(limit=100), 100)
    stream.run(LONG, random_cuts(LONG, 7))
    assert len(stream.frozen) > 10


def test_complete_pages_are_kept_not_recomputed():
    pager = Pager(limit=100)
    before = pager.layout(LONG[:1000])
    after = pager.layout(LONG[:1200])
    complete = [page for page in before if page.complete]
    assert complete and all(a is b for a, b in zip(complete, after, strict=False))


def test_repr_shows_how_far_the_pager_got():
    pager = Pager(limit=100)
    pager.layout(words(250))
    assert repr(pager).startswith("Pager(limit=100, holdback=16, complete=2, open_at=")


def test_final_layout_can_be_asked_again_and_leaves_the_pager_as_it_was():
    pager = Pager(limit=100)
    pager.layout(LONG[:700])
    first = pager.layout(LONG[:700], final=True)
    assert pager.layout(LONG[:700], final=True) == first
    assert not pager.layout(LONG[:800])[-1].complete


def test_seal_starts_a_new_page():
    pager, first, answer = Pager(limit=100), "First part. Then", "First part. Then the rest."
    shown = pager.layout(first)[-1].text
    pager.seal()
    pages = pager.layout(answer, final=True)
    assert shown == "First part. Then"
    assert pages == [Page(shown, True), Page(answer[len(shown) :], True)]


def test_seal_inside_a_fence_closes_it_and_reopens_it_on_the_next_page():
    pager = Pager(limit=100)
    pager.layout("```js\nlet a = 1;\nlet b = 2;\n")
    pager.seal()
    pages = pager.layout("```js\nlet a = 1;\nlet b = 2;\nlet c = 3;\n```\n", final=True)
    assert pages[0].text == "```js\nlet a = 1;\nlet b = 2;\n```"
    assert pages[1].text == "```js\nlet c = 3;\n```\n"


def test_sealing_an_empty_open_page_does_nothing():
    pager = Pager(limit=100)
    pager.seal()
    pager.layout("")
    pager.seal()
    assert pager.layout("ab", final=True) == [Page("ab", True)]


def test_layout_examines_a_bounded_stretch_of_text_per_call():
    calls: list[int] = []

    def counting(text: str) -> int:
        calls.append(len(text))
        return len(text)

    text = (words(2000, seed=6) + "\n\n```py\n" + "print('hi')\n" * 100 + "```\n\n") * 64
    pager, step = Pager(limit=2000, measure=counting), len(text) // 2000 + 1
    most_calls = longest = 0
    for end in range(step, len(text) + step, step):
        calls.clear()
        pager.layout(text[:end])
        most_calls, longest = max(most_calls, len(calls)), max([longest, *calls])
    assert len(text) > 200_000
    assert most_calls <= 60, "measure calls per layout grow with the answer"
    assert longest <= 2 * 2000, "layout measures more than the open page"
    assert join_pages(pager.layout(text, final=True)) == text


# -- properties ----------------------------------------------------------------------------

# Fence lines are whole, short lines: a fence line longer than a page cannot be kept whole
# (see test_a_fence_line_longer_than_a_page_keeps_the_limit).
PIECES = st.sampled_from(
    [
        "word",
        "lorem",
        "ipsum ",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\n\n\n",
        "a&b",
        "<x>",
        "&&",
        ">",
        "\n```python\n",
        "\n```\n",
        "\n```sh\n",
        "\n````\n",
        "\n~~~\n",
        "\n~~~ sh\n",
        "\n ```js\n",
        "\n```a`b\n",
        " `code` ",
        FAMILY,
        FLAGS,
        E_ACUTE,
        "\u00e9",
        "\U0001f600",
        "x" * 45,
        "https://ex.com/" + "q" * 30,
    ]
)
TEXTS = st.one_of(st.lists(PIECES, max_size=30), st.lists(PIECES, min_size=40, max_size=250)).map("".join)
LIMITS = st.sampled_from([40, 41, 57, 80, 150])
MEASURES = st.sampled_from([len, slack_measure])
CHUNKS = st.lists(st.integers(1, 30), min_size=1, max_size=10)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def streamed(text: str, limit: int, measure: Callable[[str], int], chunks: list[int]) -> list[Page]:
    stream = Stream(Pager(limit=limit, measure=measure), limit, measure)
    cuts, at = [], 0
    while at < len(text):
        at += chunks[len(cuts) % len(chunks)]
        cuts.append(min(at, len(text)))
    seals = {i for i in range(len(cuts)) if chunks[i % len(chunks)] == 29}
    return stream.run(text, cuts, seals)


@FAST
@given(TEXTS, LIMITS, MEASURES)
def test_property_final_pages_join_back_into_the_text(text, limit, measure):
    pages = Pager(limit=limit, measure=measure).layout(text, final=True)
    assert join_pages(pages) == text


@FAST
@given(TEXTS, LIMITS, MEASURES)
def test_property_no_page_exceeds_the_limit(text, limit, measure):
    pages = Pager(limit=limit, measure=measure).layout(text, final=True)
    assert all(measure(page.text) <= limit for page in pages)


@FAST
@given(TEXTS, LIMITS)
def test_property_every_complete_page_has_balanced_fences(text, limit):
    pages = Pager(limit=limit).layout(text, final=True)
    assert [open_fence(page.text) for page in pages] == [None] * len(pages)


@FAST
@given(TEXTS, LIMITS)
def test_property_pages_end_between_clusters(text, limit):
    pages = Pager(limit=limit).layout(text, final=True)
    assert set(page_ends(pages)) <= cluster_ends(text)


@FAST
@given(TEXTS, LIMITS, MEASURES, CHUNKS)
def test_property_streaming_keeps_every_promise(text, limit, measure, chunks):
    """Prefix, limit and frozen pages are checked by `Stream`; seals happen on 29s."""
    pages = streamed(text, limit, measure, chunks)
    assert join_pages(pages) == text
    assert all(page.complete for page in pages)
    assert [open_fence(page.text) for page in pages] == [None] * len(pages)
