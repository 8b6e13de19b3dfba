"""Slack rendering: Markdown to mrkdwn, and the escaping that keeps model text from pinging."""

from __future__ import annotations

import re
import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.slack.formatting import (
    FALLBACK_LIMIT,
    RULE,
    escape,
    escaped_length,
    to_mrkdwn,
    to_plain_fallback,
)

HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<@U024BE7LH>",
    "<#C024BE7LH|general>",
    "<!subteam^S123>",
    "&lt;!channel&gt;",
    "<https://evil|click>",
]

# Slack links this module builds: `<http(s)://...|label>` / `<mailto:...>`, nothing else.
OUR_LINK = re.compile(r"<(?:https?://|mailto:)[^<>|\s]+(?:\|[^<>|]*)?>", re.IGNORECASE)

FRAGMENTS = st.sampled_from(
    [
        "<",
        ">",
        "&",
        "!",
        "@",
        "#",
        "|",
        "^",
        "[",
        "]",
        "(",
        ")",
        "*",
        "**",
        "_",
        "__",
        "~~",
        "`",
        "```",
        "\\",
        " ",
        "\n",
        "> ",
        "# ",
        "- ",
        "1. ",
        "http://",
        "https://",
        "mailto:",
        "<!channel>",
        "<@U1>",
        "<#C1|x>",
        "&amp;",
        "&lt;",
        "[a](",
        "](http://x)",
        "](mailto:a@b)",
        "<http://x|y>",
        "![",
        "~~~",
        "---",
    ]
)
MARKDOWNISH = st.lists(FRAGMENTS | st.text(max_size=4), max_size=40).map("".join)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def assert_no_control_sequence(rendered: str) -> None:
    for forbidden in ("<!", "<@", "<#"):
        assert forbidden not in rendered
    leftover = OUR_LINK.sub("", rendered)
    assert "<" not in leftover and ">" not in leftover, rendered


# --- escape ---------------------------------------------------------------------------


def test_escape_replaces_ampersand_and_angle_brackets() -> None:
    assert escape("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d"


def test_escape_keeps_entities_the_model_typed_visible() -> None:
    assert escape("&amp; &lt;") == "&amp;amp; &amp;lt;"


@given(st.text())
def test_undoing_the_escaping_gives_the_text_back(text: str) -> None:
    assert unescape(escape(text)) == text


@given(st.text(alphabet=st.sampled_from("&<>;amplgt x")) | st.text())
def test_escaped_length_is_the_length_of_the_escaped_text(text: str) -> None:
    assert escaped_length(text) == len(escape(text))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_escape_neutralises_slack_control_sequences(hostile: str) -> None:
    assert "<" not in escape(hostile) and ">" not in escape(hostile)


# --- emphasis -------------------------------------------------------------------------


def test_double_stars_and_double_underscores_become_slack_bold() -> None:
    assert to_mrkdwn("**a** and __b__") == "*a* and *b*"


def test_single_stars_and_underscores_become_slack_italic() -> None:
    assert to_mrkdwn("*a* and _b_") == "_a_ and _b_"


def test_double_tildes_become_slack_strikethrough() -> None:
    assert to_mrkdwn("~~gone~~") == "~gone~"


def test_a_single_tilde_means_about_and_stays() -> None:
    assert to_mrkdwn("~5 min, maybe ~10") == "~5 min, maybe ~10"


def test_triple_stars_become_bold_italic() -> None:
    assert to_mrkdwn("***both***") == "_*both*_"


def test_underscores_inside_words_stay_literal() -> None:
    assert to_mrkdwn("call snake_case_name now") == "call snake_case_name now"


def test_emphasis_glued_to_a_word_keeps_the_models_characters() -> None:
    assert to_mrkdwn("2*3*4 and **foo**bar") == "2*3*4 and **foo**bar"


def test_bold_nested_in_bold_is_not_doubled() -> None:
    assert to_mrkdwn("**a __b__ c**") == "*a b c*"


def test_backslash_escaped_marks_stay_as_typed_and_do_not_format() -> None:
    assert to_mrkdwn(r"\*not italic\*") == r"\*not italic\*"


# --- links ----------------------------------------------------------------------------


def test_markdown_link_becomes_a_slack_link() -> None:
    assert to_mrkdwn("see [the docs](https://example.com/a)") == "see <https://example.com/a|the docs>"


def test_link_url_is_escaped_for_slack() -> None:
    assert to_mrkdwn("[q](http://x.com/?a=1&b=2)") == "<http://x.com/?a=1&amp;b=2|q>"


def test_a_bar_in_a_link_label_becomes_a_look_alike() -> None:
    assert to_mrkdwn("[a|b](https://x.com)") == "<https://x.com|a¦b>"


def test_a_link_whose_url_holds_a_bar_stays_text() -> None:
    assert to_mrkdwn("[f](https://x.com/?f=a|b)") == "[f](https://x.com/?f=a|b)"


def test_angle_brackets_in_a_link_url_are_percent_encoded() -> None:
    assert to_mrkdwn("[a](https://x.com/<b>)") == "<https://x.com/%3Cb%3E|a>"


def test_link_url_may_hold_balanced_parentheses() -> None:
    assert (
        to_mrkdwn("[Foo](https://en.wikipedia.org/wiki/Foo_(bar))") == "<https://en.wikipedia.org/wiki/Foo_(bar)|Foo>"
    )


def test_link_title_is_dropped() -> None:
    assert to_mrkdwn('[a](https://x.com "The title")') == "<https://x.com|a>"


def test_mailto_link_becomes_a_slack_link() -> None:
    assert to_mrkdwn("[mail me](mailto:a@b.org)") == "<mailto:a@b.org|mail me>"


@pytest.mark.parametrize("source", ["[rel](/docs)", "[js](javascript:alert(1))", "[a](#top)"])
def test_links_to_other_schemes_stay_text(source: str) -> None:
    assert to_mrkdwn(source) == source


def test_link_label_loses_its_marks() -> None:
    assert to_mrkdwn("[**b** `c`](https://x.com)") == "<https://x.com|b c>"


def test_bracketed_label_is_kept_inside_the_link() -> None:
    assert to_mrkdwn("[[1]](https://x.com)") == "<https://x.com|[1]>"


def test_image_becomes_a_link_to_the_image() -> None:
    assert to_mrkdwn("![a cat](https://x.com/cat.png)") == "<https://x.com/cat.png|a cat>"


def test_bare_url_is_left_as_escaped_text() -> None:
    assert to_mrkdwn("go to https://x.com/?a=1&b=2.") == "go to https://x.com/?a=1&amp;b=2."


def test_underscores_in_a_bare_url_are_not_italics() -> None:
    assert to_mrkdwn("https://x.com/_a_ and _b_") == "https://x.com/_a_ and _b_"


def test_angle_bracket_autolink_stays_escaped_text() -> None:
    assert to_mrkdwn("<https://x.com>") == "&lt;https://x.com&gt;"


# --- blocks ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", range(1, 7))
def test_heading_of_any_level_becomes_a_bold_line(level: int) -> None:
    assert to_mrkdwn("#" * level + " Setup **now**\ntext") == "*Setup now*\ntext"


def test_heading_closing_hashes_are_dropped() -> None:
    assert to_mrkdwn("## Title ##") == "*Title*"


def test_hash_without_a_space_is_not_a_heading() -> None:
    assert to_mrkdwn("#channel and C#") == "#channel and C#"


def test_bullets_become_bullet_points_and_keep_their_nesting() -> None:
    assert to_mrkdwn("- a\n  * b\n    + *c*") == "• a\n  • b\n    • _c_"


def test_ordered_list_is_kept() -> None:
    assert to_mrkdwn("1. one\n2. **two**\n10) ten") == "1. one\n2. *two*\n10) ten"


def test_blockquote_is_sent_as_an_escaped_quote_mark() -> None:
    assert to_mrkdwn("> a **quote**\n>") == "&gt; a *quote*\n&gt;"


def test_quote_keeps_the_models_spacing() -> None:
    assert to_mrkdwn(">=3\n   > b") == "&gt;=3\n&gt; b"


def test_nested_quotes_become_one_slack_quote() -> None:
    assert to_mrkdwn("> > a\n>>> b") == "&gt; a\n&gt; b"  # `>>>` never quotes the rest


def test_horizontal_rules_become_a_line() -> None:
    assert to_mrkdwn("---\n* * *\n___") == "\n".join([RULE] * 3)


def test_table_is_left_as_text() -> None:
    table = "| a | b |\n|---|:-:|\n| 1 | 2 |"
    assert to_mrkdwn(table) == table


# --- code -----------------------------------------------------------------------------


def test_fenced_code_is_verbatim_and_escaped_without_its_language() -> None:
    source = "```python\nx = a**2 < 3 & *y*\n# not a heading\n- not a list\n```"
    assert to_mrkdwn(source) == "```\nx = a**2 &lt; 3 &amp; *y*\n# not a heading\n- not a list\n```"


def test_tilde_fence_becomes_a_backtick_fence() -> None:
    assert to_mrkdwn("~~~\ncode\n~~~") == "```\ncode\n```"


def test_indented_fence_in_a_list_keeps_its_indentation() -> None:
    assert to_mrkdwn("1. run\n   ```sh\n   ls\n   ```") == "1. run\n   ```\n   ls\n   ```"


def test_inline_code_is_verbatim_and_escaped() -> None:
    assert to_mrkdwn("use `a*b*<c>_d_` here") == "use `a*b*&lt;c&gt;_d_` here"


def test_double_backtick_code_span_loses_its_padding() -> None:
    assert to_mrkdwn("`` `x` ``") == "``x``"


# --- text cut mid-stream --------------------------------------------------------------


def test_unterminated_bold_stays_literal() -> None:
    assert to_mrkdwn("some **bold") == "some **bold"


def test_unterminated_link_stays_literal() -> None:
    assert to_mrkdwn("[docs](https://exa") == "[docs](https://exa"


def test_unterminated_inline_code_stays_literal() -> None:
    assert to_mrkdwn("run `ls -") == "run `ls -"


def test_open_code_fence_makes_the_rest_code() -> None:
    assert to_mrkdwn("Run:\n```sh\nls **x**") == "Run:\n```\nls **x**\n```"


def test_open_code_fence_with_no_code_yet_shows_nothing() -> None:
    assert to_mrkdwn("Run:\n```py") == "Run:"


def test_half_written_closing_fence_is_not_shown() -> None:
    assert to_mrkdwn("```\ncode\n``") == "```\ncode\n```"


def test_every_prefix_of_an_answer_converts_safely() -> None:
    answer = SAMPLE + "\n" + " ".join(HOSTILE)
    for end in range(len(answer) + 1):
        assert_no_control_sequence(to_mrkdwn(answer[:end]))


# --- safety ---------------------------------------------------------------------------


def test_mentions_typed_as_words_are_shown_unchanged() -> None:
    assert to_mrkdwn("ping @everyone and @here") == "ping @everyone and @here"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_control_sequences_from_the_model_are_shown_as_text(hostile: str) -> None:
    rendered = to_mrkdwn(f"hi {hostile} and **{hostile}** and `{hostile}`")
    assert "<" not in rendered and ">" not in rendered
    assert escape(hostile) in rendered


@pytest.mark.parametrize("hostile", HOSTILE)
def test_control_sequences_inside_a_link_are_neutralised(hostile: str) -> None:
    assert_no_control_sequence(to_mrkdwn(f"[{hostile}](https://x.com/{hostile})"))


@settings(max_examples=500)
@given(MARKDOWNISH)
def test_no_text_ever_renders_a_slack_control_sequence(text: str) -> None:
    assert_no_control_sequence(to_mrkdwn(text))


@given(st.text())
def test_any_unicode_text_converts(text: str) -> None:
    assert_no_control_sequence(to_mrkdwn(text))


@given(st.text(alphabet=string.ascii_letters + string.digits + " \n.,;:?()'\"&</@=%é€"))
def test_prose_without_markdown_is_only_escaped(text: str) -> None:
    assert to_mrkdwn(text) == escape(text)


@settings(max_examples=500)
@given(MARKDOWNISH)
def test_rendering_never_outgrows_the_escaped_length(text: str) -> None:
    # The pager measures Markdown with `escaped_length`; only a fence left open at the end,
    # which the rendering closes, may add its `\n```.
    assert len(to_mrkdwn(text)) <= escaped_length(text) + len("\n```")


SAMPLE = """# Deploying **trickle**

Here is *how* to do it, see [the guide](https://example.com/a_b?x=1&y=2) or https://x.io/_p_.

1. Install it:
   ```bash
   pip install trickle && echo "<ok>"
   ```
2. Run `trickle --serve` and wait ~5s.

- **Note**: `a < b` holds; ~~old~~ new_value_here.
  * nested _point_ with ***emphasis***

> Quoted: <!channel> & <@U123> are shown as text.

| col | val |
|-----|-----|
| a   | **1** |

---
"""


ANSWER = """## Overview

Streaming an LLM answer into Slack is mostly a question of **pacing**: the model produces tokens far faster than Slack accepts edits, and `chat.update` is rate limited per workspace. The usual approach is to buffer the text and edit the message at most once every second or so, which keeps the answer feeling live without hitting the limit. See the [Slack rate limit docs](https://api.slack.com/docs/rate-limits) for the tiers.

### Key points

1. **Buffer the text.** Keep the latest full text and only send it when the pacer allows.
2. **Never queue edits.** If an edit is pending, replace its text instead of adding another one.
3. **Finish in a `finally` block** so that a crash never leaves "thinking..." behind.

Here is a minimal example in Python:

```python
async def stream(answer, message):
    text = ""
    async for chunk in answer:
        text += chunk
        if pacer.ready():
            await message.edit(text + " ▌")
    await message.edit(text)
```

A few things to watch out for:

- Slack escapes `&`, `<` and `>`; the model's output must be escaped too, otherwise `<!channel>` would ping everyone.
- Messages longer than about 4,000 characters fail with `msg_too_long`, so split long answers into pages.
  - Split at paragraph boundaries where possible.
  - Close an open code fence at the end of a page and reopen it on the next.
- The *thread* matters: replies should stay in the thread the question was asked in.

> Note: Discord has a hard limit of 2,000 characters per message, which is much lower.

| Platform | Edit limit | Message size |
|----------|-----------|--------------|
| Slack    | ~50/min   | ~4,000 chars |
| Discord  | 5/5s      | 2,000 chars  |

---

In short: buffer, pace, escape, split, and always finish the message. If you want, I can sketch the pager next.
"""


def test_a_12k_char_answer_converts_quickly() -> None:
    text = (ANSWER * (12_000 // len(ANSWER) + 1))[:12_000]
    started = time.perf_counter()
    for _ in range(20):
        rendered = to_mrkdwn(text)
    per_call = (time.perf_counter() - started) / 20
    assert_no_control_sequence(rendered)
    assert per_call < 0.05, f"{per_call * 1000:.1f} ms per call"  # loose: about 1 ms here


# --- notification fallback -----------------------------------------------------------


def test_fallback_is_the_escaped_text() -> None:
    assert to_plain_fallback("**hi** <!here>") == "**hi** &lt;!here&gt;"


def test_long_fallback_is_cut_with_an_ellipsis() -> None:
    fallback = to_plain_fallback("x" * 5000)
    assert len(fallback) == FALLBACK_LIMIT and fallback.endswith("…")


def test_fallback_cut_never_splits_an_entity() -> None:
    for pad in range(6):
        fallback = to_plain_fallback("x" * (FALLBACK_LIMIT - 4 + pad) + "&" * 10)
        assert len(fallback) <= FALLBACK_LIMIT
        assert re.fullmatch(r"x*(?:&amp;)*…", fallback)


# --- CommonMark's parse (markdown-it-py) ----------------------------------------------


def test_italics_nest_inside_bold() -> None:
    assert to_mrkdwn("**bold _and italic_ text**") == "*bold _and italic_ text*"


def test_bold_nests_inside_italics() -> None:
    assert to_mrkdwn("*a **b** c*") == "_a *b* c_"


def test_strikethrough_may_hold_bold() -> None:
    assert to_mrkdwn("~~old **bold**~~") == "~old *bold*~"


def test_a_link_may_sit_inside_bold() -> None:
    assert to_mrkdwn("**see [docs](https://x.com)**") == "*see <https://x.com|docs>*"


def test_a_link_label_across_two_lines_becomes_one_line() -> None:
    assert to_mrkdwn("[the\nguide](https://x.com)") == "<https://x.com|the guide>"


def test_a_link_that_stays_text_still_formats_its_label() -> None:
    assert to_mrkdwn("[**a**](/docs)") == "[*a*](/docs)"


def test_marks_inside_a_code_span_stay_as_typed() -> None:
    assert to_mrkdwn("a `**x** [y](https://z.com)` b") == "a `**x** [y](https://z.com)` b"


def test_a_code_span_across_two_lines_is_one_span() -> None:
    assert to_mrkdwn("run `ls\n-la` now") == "run `ls -la` now"


def test_bold_across_two_lines_is_one_bold() -> None:
    assert to_mrkdwn("**a\nb**") == "*a\nb*"


def test_heading_keeps_its_code_and_drops_nested_bold() -> None:
    assert to_mrkdwn("## Use `pip` **now**") == "*Use `pip` now*"


def test_heading_inside_a_quote_and_a_list() -> None:
    assert to_mrkdwn("> # T\n> - a\n- # U") == "&gt; *T*\n&gt; • a\n• *U*"


def test_setext_underlines_are_shown_as_typed_and_dashes_as_a_rule() -> None:
    assert to_mrkdwn("Title\n===\nMore\n---") == "Title\n===\nMore\n" + RULE


def test_bullets_nest_inside_an_ordered_list() -> None:
    assert to_mrkdwn("1. a\n   - b\n   - *c*") == "1. a\n   • b\n   • _c_"


def test_a_quote_in_a_list_item_is_flush_left() -> None:
    assert to_mrkdwn("- a\n\n  > q") == "• a\n\n&gt; q"


def test_a_quote_after_a_bullet_on_its_line_stays_text() -> None:
    assert to_mrkdwn("- > q") == "• &gt; q"


def test_fenced_code_in_a_quote_keeps_the_quote() -> None:
    assert to_mrkdwn("> ```\n> a < b\n> ```") == "&gt; ```\n&gt; a &lt; b\n&gt; ```"


def test_indented_code_is_shown_as_typed() -> None:
    assert to_mrkdwn("text\n\n    **x** < y") == "text\n\n    **x** &lt; y"


def test_a_fence_may_hold_blank_lines_and_lines_at_the_margin() -> None:
    source = "```\ndef f():\n    pass\n\nclass A:\n    b = *c*\n```\n\n**done**"
    assert to_mrkdwn(source) == "```\ndef f():\n    pass\n\nclass A:\n    b = *c*\n```\n\n*done*"


def test_an_open_fence_holding_blank_lines_is_code_to_the_end() -> None:
    assert to_mrkdwn("```\na\n\nb *c*") == "```\na\n\nb *c*\n```"


def test_a_fence_its_list_item_cut_short_keeps_its_text_without_marks() -> None:
    assert to_mrkdwn("- ```\n  a\n\nb") == "• \n  a\n\nb"


def test_a_star_ending_the_text_is_not_a_bullet_yet() -> None:
    assert to_mrkdwn("1. *") == "1. *"  # it may be the start of `**bold**`
    assert to_mrkdwn("1. **b") == "1. **b"


@settings(max_examples=500)
@given(
    st.lists(
        FRAGMENTS | st.sampled_from(["\n\n", "\n\n```\n", "    ", "\n  - ", "x\n", "\n\n~~~\n"]),
        max_size=50,
    ).map("".join)
)
def test_converting_in_pieces_gives_what_one_parse_gives(text: str) -> None:
    # `to_mrkdwn` parses a text in pieces (and remembers them); `render` parses it whole.
    from bots.slack.mrkdwn.render import render

    assert to_mrkdwn(text) == render(text)[0]


STREAMED = """# Release **notes** for `trickle`

The *streaming* path shows **bold _and italic_ text**, ~~old~~ new [docs](https://example.com/a?b=1&c=2) and ![a logo](https://example.com/logo.png).

## Steps

1. Install it with `pip install trickle`:
   ```bash
   pip install "trickle[slack]" && echo <done> **not bold**
   ```
2. Run it:
   - **locally** with `trickle serve`
   - in *Docker*, see [the guide](https://example.com/guide_(v2))

> Quoted: <!channel> & <@U123> and @here stay text.

---

Done: **all** set.
"""

CODE_SPAN = re.compile(r"`[^`\n]*`")


def assert_balanced(rendered: str) -> None:
    """Fences pair up, and so do the marks of every finished line outside code.

    Only for texts whose every Markdown mark pairs: a cut leaves half a mark on the last
    line alone, as typed.
    """
    assert rendered.count("```") % 2 == 0, rendered
    in_code = False
    for line in rendered.split("\n")[:-1]:
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code:
            bare = OUR_LINK.sub("", CODE_SPAN.sub("", line))
            assert all(bare.count(mark) % 2 == 0 for mark in "*_~"), rendered


def test_a_whole_answer_renders_every_construct() -> None:
    assert to_mrkdwn(STREAMED) == (
        "*Release notes for `trickle`*\n\n"
        "The _streaming_ path shows *bold _and italic_ text*, ~old~ new"
        " <https://example.com/a?b=1&amp;c=2|docs> and <https://example.com/logo.png|a logo>.\n\n"
        "*Steps*\n\n"
        "1. Install it with `pip install trickle`:\n"
        "   ```\n"
        '   pip install "trickle[slack]" &amp;&amp; echo &lt;done&gt; **not bold**\n'
        "   ```\n"
        "2. Run it:\n"
        "   • *locally* with `trickle serve`\n"
        "   • in _Docker_, see <https://example.com/guide_(v2)|the guide>\n\n"
        "&gt; Quoted: &lt;!channel&gt; &amp; &lt;@U123&gt; and @here stay text.\n\n"
        f"{RULE}\n\n"
        "Done: *all* set.\n"
    )


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=len(STREAMED)), st.sampled_from(["", *HOSTILE]))
def test_an_answer_cut_anywhere_renders_balanced_and_safe(end: int, hostile: str) -> None:
    text = STREAMED[:end] + hostile
    rendered = to_mrkdwn(text)
    assert_no_control_sequence(rendered)
    if not hostile:
        assert_balanced(rendered)


def test_every_cut_of_an_answer_is_balanced_and_links_only_where_the_answer_does() -> None:
    links = set(OUR_LINK.findall(to_mrkdwn(STREAMED)))
    for end in range(len(STREAMED) + 1):
        rendered = to_mrkdwn(STREAMED[:end])
        assert_no_control_sequence(rendered)
        assert_balanced(rendered)
        assert set(OUR_LINK.findall(rendered)) <= links, rendered


# --- fences a model closes less indented than its list item or quote -----------------


@pytest.mark.parametrize("indent", ["", " ", "  "])
def test_a_fence_in_a_list_item_closed_less_indented_holds_only_its_code(indent: str) -> None:
    source = f"1. Install:\n   ```sh\n   pip install x\n{indent}```\n2. Run it: **now**"
    assert to_mrkdwn(source) == f"1. Install:\n   ```\n   pip install x\n{indent}```\n2. Run it: *now*"


def test_a_fence_in_a_quote_closed_without_the_quote_mark_holds_only_its_code() -> None:
    source = "> ```sh\n> ls **x**\n```\nafter **b**"
    assert to_mrkdwn(source) == "&gt; ```\n&gt; ls **x**\n```\nafter *b*"


def test_a_fence_in_a_quote_closed_after_an_empty_quoted_line() -> None:
    source = "> ```\n> a\n>\n> b\n```\n**c**"
    assert to_mrkdwn(source) == "&gt; ```\n&gt; a\n&gt;\n&gt; b\n```\n*c*"


def test_a_fence_in_a_nested_item_closed_at_the_outer_items_indent_keeps_the_outer_item() -> None:
    source = "1. a\n   - b\n     ```\n     x\n   ```\n   **c**\n2. d"
    assert to_mrkdwn(source) == "1. a\n   • b\n     ```\n     x\n   ```\n   *c*\n2. d"


def test_a_fence_in_a_list_item_closed_at_the_margin_after_a_blank_line() -> None:
    # The closing line starts the next piece `to_mrkdwn` parses apart; it must still close.
    from bots.slack.mrkdwn.render import render

    source = "1. a\n   ```\n   x\n\n   y\n```\n\n**b**"
    assert to_mrkdwn(source) == render(source)[0] == "1. a\n   ```\n   x\n\n   y\n```\n\n*b*"


def test_a_closing_fence_with_text_after_it_does_not_close_the_fence_of_a_list_item() -> None:
    assert to_mrkdwn("- a\n  ```\n  x\n```py\ny") == "• a\n  \n  x\n```\ny\n```"


def test_a_closing_fence_half_typed_at_the_margin_keeps_the_code_block() -> None:
    for half in ["`", "``"]:
        assert to_mrkdwn(f"1. a\n   ```\n   x\n{half}") == "1. a\n   ```\n   x\n```"


def test_a_fence_opened_on_a_bullets_line_with_no_code_yet_shows_nothing() -> None:
    assert to_mrkdwn("- ```") == ""
    assert to_mrkdwn("> ```sh") == ""


LOOSE_FENCES = """Steps:

1. Install it:
   ```sh
   pip install "trickle[slack]" **not bold** <ok>
```
2. Run it **now**:
   ```
   trickle serve
 ```
3. Check it:

   ```
   curl localhost

   echo _done_
```

> Quoted:
> ```
> a < b
```
> and **more**

Done: **all** set.
"""


def test_an_answer_with_loosely_closed_fences_renders_code_only_inside_them() -> None:
    assert to_mrkdwn(LOOSE_FENCES) == (
        "Steps:\n\n"
        "1. Install it:\n"
        "   ```\n"
        '   pip install "trickle[slack]" **not bold** &lt;ok&gt;\n'
        "```\n"
        "2. Run it *now*:\n"
        "   ```\n"
        "   trickle serve\n"
        " ```\n"
        "3. Check it:\n\n"
        "   ```\n"
        "   curl localhost\n\n"
        "   echo _done_\n"
        "```\n\n"
        "&gt; Quoted:\n"
        "&gt; ```\n"
        "&gt; a &lt; b\n"
        "```\n"
        "&gt; and *more*\n\n"
        "Done: *all* set.\n"
    )


def test_every_cut_of_an_answer_with_loosely_closed_fences_is_balanced() -> None:
    from bots.slack.mrkdwn.render import render

    for end in range(len(LOOSE_FENCES) + 1):
        text = LOOSE_FENCES[:end]
        rendered = to_mrkdwn(text)
        assert rendered == render(text)[0]
        assert_no_control_sequence(rendered)
        assert_balanced(rendered)


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("![[a](http://a.com)](http://i.png)", "<http://i.png|a>"),
        ("[![[a](http://a.com)](http://i.png)](http://b.com)", "<http://b.com|a>"),
    ],
)
def test_a_link_inside_a_label_is_its_label_for_slack_nests_no_links(markdown: str, expected: str) -> None:
    assert to_mrkdwn(markdown) == expected
